// The server around the registered function, for `npm start` and the container image.
// The functions-framework CLI serves plain HTTP only, buffers any body up to 1 GB, answers
// malformed JSON with an HTML page (logging the body in the stack), and answers 500 to the
// request in flight on SIGTERM. This edge fixes what the framework cannot be told:
//   body over 3 MiB                 413, refused from Content-Length or as it streams in
//   malformed JSON                  400 {"error"}, logged without the body
//   SIGTERM                         stop accepting, finish in-flight requests, exit
//   HTTPS                           certificate files re-read when they change on disk
// then hands the parsed request to the framework's own Express app, which runs the function.
import { readFileSync, statSync } from 'node:fs';
import http, { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { ServerConfig } from './config';
import { isJsonContentType, sendJson } from './http';
import type { Logger } from './log';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The functions-framework's Express app serving the registered function. */
export function frameworkApp(functionName: string, log: Logger): RequestListener {
  const app = getTestServer(functionName).listeners('request')[0] as RequestListener & {
    use(handler: (err: unknown, req: IncomingMessage, res: ServerResponse, next: unknown) => void): void;
  };
  // Replaces Express's default error page, which logs the error stack (and so request content).
  app.use((err, _req, res, _next) => {
    const status = typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500;
    log('error', 'request failed', { status, error: (err as Error)?.name });
    if (!res.headersSent) sendJson(res, status, { error: status === 500 ? 'internal error' : 'bad request' });
  });
  return app;
}

type ParsedRequest = IncomingMessage & { body?: unknown; rawBody?: Buffer; _body?: boolean };

/** During a drain, how long a keep-alive connection with no request in progress is left open. */
export const IDLE_GRACE_MS = 1000;

/** How long a connection refused with 413 stays open, unread, so the client can read the answer. */
export const LINGER_MS = 1000;

/**
 * Closing a socket with unread bytes sends a TCP reset, and a client still sending its body then
 * often never reads the 413 (half the time with Node's own client). So reading stops (TCP flow
 * control holds the sender back, nothing more is buffered), the answer goes out with a FIN, and
 * the socket is destroyed only a moment later.
 */
function lingerThenClose(req: IncomingMessage) {
  const socket = req.socket as IncomingMessage['socket'] & { destroySoon?: () => void };
  req.on('data', () => {}); // marks the body as consumed, so Node does not read it to its end
  req.pause();
  socket.destroySoon = () => socket.end(); // Node calls it after a Connection: close answer
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Reads and parses the body within the limit, then passes the request on with it parsed. */
export function bodyGuard(next: RequestListener, log: Logger, limit = MAX_BODY_BYTES): RequestListener {
  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, error: string, bytes?: number) => {
    log('warn', 'admission rejected', { decision: 'error', reason: status === 413 ? 'body_too_large' : 'malformed_json', status, bytes });
    sendJson(res, status, { error }, status === 413 ? { connection: 'close' } : {});
    if (status === 413) lingerThenClose(req);
  };
  return (req: ParsedRequest, res) => {
    const declared = Number(req.headers['content-length']);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next(req, res);
    if (declared > limit) return refuse(req, res, 413, `request body over ${limit} bytes`, declared);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        refuse(req, res, 413, `request body over ${limit} bytes`, size);
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const raw = Buffer.concat(chunks, size);
      req.rawBody = raw;
      req._body = true; // body-parser skips requests already parsed
      if (isJsonContentType(req.headers['content-type'])) {
        try {
          req.body = JSON.parse(raw.toString('utf8'));
        } catch {
          return refuse(req, res, 400, `request body is not valid JSON (${size} bytes)`, size);
        }
      }
      next(req, res);
    });
    req.on('error', () => req.destroy());
  };
}

export interface RunningServers {
  http: http.Server;
  https?: https.Server;
  urls: { http: string; https?: string };
  /** Stops accepting, waits for in-flight requests (bounded), then resolves. */
  drain(): Promise<void>;
}

/** Re-reads certificate and key when either file changes, before the next TLS handshake. */
function reloadingTls(server: https.Server, certFile: string, keyFile: string, log: Logger) {
  let stamp = '';
  const check = () => {
    try {
      const now = [certFile, keyFile].map((f) => { const s = statSync(f); return `${s.ino}:${s.mtimeMs}:${s.size}`; }).join('|');
      if (now === stamp) return;
      server.setSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
      if (stamp) log('info', 'TLS certificate reloaded', { certFile });
      stamp = now;
    } catch (error) {
      // Keep serving the certificate we have; a half-written pair is retried on the next connection.
      log('error', 'TLS certificate reload failed', { certFile, error: (error as Error).message });
    }
  };
  return check;
}

/** How long a connection may take; tests pass shorter ones. */
export interface ServerTimeouts { requestMs: number; headersMs: number; keepAliveMs: number }
export const SERVER_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000, // a request that never finishes is cut off (408)
  headersMs: 10_000, // slow senders of headers too
  keepAliveMs: 65_000, // the API server reuses connections
};

export async function startServers(listener: RequestListener, config: ServerConfig, log: Logger, timeouts = SERVER_TIMEOUTS): Promise<RunningServers> {
  // Node checks the two timeouts only every connectionsCheckingInterval (30 s by default).
  const options = { requestTimeout: timeouts.requestMs, headersTimeout: timeouts.headersMs, keepAliveTimeout: timeouts.keepAliveMs, connectionsCheckingInterval: Math.max(100, Math.min(1000, timeouts.headersMs / 4)) };
  const plain = http.createServer(options, listener);
  let secure: https.Server | undefined;
  if (config.tls) {
    const { certFile, keyFile } = config.tls;
    secure = https.createServer({ ...options, cert: readFileSync(certFile), key: readFileSync(keyFile) }, listener);
    const check = reloadingTls(secure, certFile, keyFile, log);
    check();
    secure.prependListener('connection', check);
  }
  const listen = (s: http.Server, port: number) => new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, () => resolve((s.address() as AddressInfo).port));
  });
  const httpPort = await listen(plain, config.port);
  const httpsPort = secure && config.tls ? await listen(secure, config.tls.port) : undefined;
  const servers = [plain, ...(secure ? [secure] : [])];
  return {
    http: plain,
    https: secure,
    urls: { http: `http://127.0.0.1:${httpPort}`, ...(httpsPort ? { https: `https://127.0.0.1:${httpsPort}` } : {}) },
    drain: () => new Promise((resolve) => {
      const timer = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), config.drainTimeoutMs);
      timer.unref();
      let open = servers.length;
      for (const s of servers) {
        // Stop accepting, but close idle keep-alive connections only a second later: under load a
        // request may sit unread on a connection that looks idle, and http.Server.close() would
        // close it at once, resetting that request. Within the second, such requests are read and
        // answered with Connection: close; what is still idle then is a client's idle pool.
        const sweep = setInterval(() => s.closeIdleConnections(), IDLE_GRACE_MS);
        net.Server.prototype.close.call(s, () => { clearInterval(sweep); if (--open === 0) { clearTimeout(timer); resolve(); } });
      }
    }),
  };
}
