// The server around the registered function, for `npm start` and the container image.
// The functions-framework CLI serves plain HTTP only, buffers any body up to 1 GB, answers
// malformed JSON with an HTML page (logging the body in the stack), and answers 500 to the
// request in flight on SIGTERM. This edge fixes what the framework cannot be told:
//   body over 3 MiB                 413, refused from Content-Length or as it streams in
//   malformed JSON                  400 {"error"}, logged without the body
//   SIGTERM                         stop accepting, finish in-flight requests, exit
//   HTTPS                           certificate files re-read when they change on disk; when
//                                   missing at start, HTTP is served and HTTPS starts once they
//                                   appear (GET /readyz answers 503 until then)
// then hands the parsed request to the framework's own Express app, which runs the function.
import http, { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { ServerConfig } from './server-config';
import { isJsonContentType, sendJson } from './http';
import type { Logger } from './log';
import { reloadOnChange, TLS_WAIT, waitForPair, WaitSchedule } from './tls/files';

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
    // The asterisk form (OPTIONS *) matches no Express route and would get its HTML 404 page.
    if (req.url === '*') return sendJson(res, 404, { error: 'no such path: *' });
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
  /** Set once HTTPS serves (at start, or once the certificate files appear). */
  https?: https.Server;
  urls: { http: string; https?: string };
  /** Resolves with the HTTPS URL once it serves; undefined without TLS, on giving up, or when drained first. */
  tlsReady: Promise<string | undefined>;
  /** Stops accepting, waits for in-flight requests (bounded), then resolves. */
  drain(): Promise<void>;
}

/** How long a connection may take; tests pass shorter ones. */
export interface ServerTimeouts {
  requestMs: number;
  headersMs: number;
  keepAliveMs: number;
  tlsWait?: WaitSchedule;
}
export const SERVER_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000, // a request that never finishes is cut off (408)
  headersMs: 10_000, // slow senders of headers too
  keepAliveMs: 65_000, // the API server reuses connections
};

const listen = (s: http.Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, () => {
      s.off('error', reject);
      resolve((s.address() as AddressInfo).port);
    });
  });

export async function startServers(listener: RequestListener, config: ServerConfig, log: Logger, timeouts = SERVER_TIMEOUTS): Promise<RunningServers> {
  // Node checks the two timeouts only every connectionsCheckingInterval (30 s by default).
  const options = {
    requestTimeout: timeouts.requestMs,
    headersTimeout: timeouts.headersMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, timeouts.headersMs / 4)),
  };
  let draining = false;
  let waitingForTls = config.tls !== undefined;
  const inFlight = new Set<ServerResponse>();
  const edge: RequestListener = (req, res) => {
    // Keep-alive connections end after their current response once draining.
    if (draining) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    if (waitingForTls && req.method === 'GET' && (req.url ?? '').split('?', 1)[0] === '/readyz') {
      return sendJson(res, 503, { status: 'waiting for the TLS certificate' });
    }
    listener(req, res);
  };
  const servers: http.Server[] = [http.createServer(options, edge)];
  const running: RunningServers = {
    http: servers[0],
    urls: { http: `http://127.0.0.1:${await listen(servers[0], config.port)}` },
    tlsReady: Promise.resolve(undefined),
    drain: () => drain(),
  };

  let stopWaiting = () => {};
  if (config.tls) {
    const { port, ...files } = config.tls;
    const waiting = waitForPair(files, log, timeouts.tlsWait ?? TLS_WAIT);
    stopWaiting = waiting.stop;
    const startHttps = async (): Promise<string | undefined> => {
      const pair = await waiting.pair;
      if (!pair || draining) return undefined;
      const secure = https.createServer({ ...options, cert: pair.cert, key: pair.key }, edge);
      reloadOnChange(secure, files, pair, log);
      const url = `https://127.0.0.1:${await listen(secure, port)}`;
      if (draining) {
        secure.close();
        return undefined;
      } // a drain began while it was starting
      servers.push(secure);
      Object.assign(running, { https: secure });
      running.urls.https = url;
      waitingForTls = false;
      return url;
    };
    if (waiting.foundAtStart) {
      running.tlsReady = Promise.resolve(await startHttps()); // a listen error fails the start
    } else {
      running.tlsReady = startHttps().catch((error: Error) => {
        log('error', 'HTTPS could not start', { port, error: error.message });
        return undefined;
      });
    }
  }

  function drain() {
    draining = true;
    stopWaiting();
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    return new Promise<void>((resolve) => {
      let open = servers.length;
      const timer = setTimeout(() => {
        log('warn', 'drain timed out, closing the remaining connections', { inFlight: inFlight.size });
        servers.forEach((s) => s.closeAllConnections());
        resolve();
      }, config.drainTimeoutMs);
      timer.unref();
      for (const s of servers) {
        // Stop accepting, but close idle keep-alive connections only a second later: under load a
        // request may sit unread on a connection that looks idle, and http.Server.close() would
        // close it at once, resetting that request. Within the second, such requests are read and
        // answered with Connection: close; what is still idle then is a client's idle pool.
        const sweep = setInterval(() => s.closeIdleConnections(), IDLE_GRACE_MS);
        net.Server.prototype.close.call(s, () => {
          clearInterval(sweep);
          if (--open === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
  }
  return running;
}
