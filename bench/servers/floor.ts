// The floor: a bare node:http server (node:https when TLS_CERT_FILE and TLS_KEY_FILE are set)
// that reads the body, parses it as JSON and answers a fixed small JSON. Run as a child process
// by the benchmark; PORT from the environment.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export const FLOOR_ANSWER = { ok: true };
const answer = JSON.stringify(FLOOR_ANSWER);

const listener: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
};

const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = process.env;
const server = certFile && keyFile ? https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, listener) : http.createServer(listener);
server.keepAliveTimeout = 65_000;
if (require.main === module) server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1');
