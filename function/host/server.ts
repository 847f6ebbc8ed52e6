// The production host: the registered function's handler (http.ts) served from node:http, with
// no Express and no functions-framework at run time. Before the handler runs:
//   GET /readyz while waiting for TLS   503 {"status"}
//   plain HTTP when TLS is configured   403 {"error"} for all but GET/HEAD: admissions go to HTTPS
//   connection over maxConnections      closed at once, no answer
//   bodies buffered over the budget     503 {"error"}, Retry-After: 1
//   body over 3 MiB, malformed JSON     413, 400 (body.ts)
//   JSON nested over 64 levels          400 {"error"}, before parsing (body.ts)
//   OPTIONS * (asterisk form)           404 {"error"}
//   GET /tls/certificate on HTTPS       200 {"certificate": PEM}: the one served now, public, for
//                                       kubectl pando check (through the API server's Service proxy)
// and what the framework's Express app answers itself, kept byte for byte (same-bytes.test.ts):
//   a path with a bad percent escape    400 {"error":"bad request"}
//   /favicon.ico, /robots.txt           404, empty body
// HTTPS serves the same listener once the certificate files can be read (tls/files.ts), with
// TLS 1.2+ and AEAD suites only (tls/policy.ts); drain.ts stops both servers on SIGTERM.
import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HandlerRequest, sendJson } from '../http';
import type { Logger } from '../log';
import { EDGE_LIMITS, EdgeLimits, ServerConfig } from './config';
import { CERTIFICATE_PATH, reloadOnChange, TLS_WAIT, waitForPair, WaitSchedule } from '../tls/files';
import { TLS_POLICY } from '../tls/policy';
import { hasBody, lingerThenClose, MAX_BODY_BYTES, readBody, refuseBody } from './body';
import { createDrainer } from './drain';

export type Handler = (req: HandlerRequest, res: http.ServerResponse) => void;

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
/**
 * How long the API server's webhook client keeps an idle connection (client-go's transport takes
 * Go's http.DefaultTransport IdleConnTimeout). The client must close first: a POST written to a
 * connection the server is closing fails without retry (Go retries only idempotent requests), and
 * with failurePolicy Ignore that pod is admitted without its sidecar.
 */
export const API_SERVER_IDLE_CONN_MS = 90_000;
export const SERVER_TIMEOUTS: ServerTimeouts = {
  requestMs: EDGE_LIMITS.requestTimeoutSeconds * 1000, // a request that never finishes is cut off (408)
  headersMs: 5_000, // slow senders of headers too (the API server sends its headers at once)
  keepAliveMs: API_SERVER_IDLE_CONN_MS + 30_000,
};

/** The path as Express routes it: without the query; absolute-form URLs reduced to their path. */
function pathOf(url: string): string {
  const path = url.split('?', 1)[0];
  if (path.startsWith('/')) return path;
  try {
    return new URL(path).pathname;
  } catch {
    return path;
  }
}

const IGNORED_PATH = /^\/(favicon\.ico|robots\.txt)(\/|$)/i;

/** Answers what the framework's app answers before the function; false when the function should run. */
function answeredLikeTheFramework(req: http.IncomingMessage, res: http.ServerResponse, log: Logger): boolean {
  const path = pathOf(req.url ?? '/');
  try {
    decodeURIComponent(path);
  } catch {
    log('error', 'request failed', { status: 400, error: 'URIError' });
    sendJson(res, 400, { error: 'bad request' });
    return true;
  }
  if (!IGNORED_PATH.test(path)) return false;
  res.writeHead(404, { 'Content-Length': 0 }); // as Express writes it
  res.end();
  return true;
}

/** Bytes of request bodies buffered at once, across both listeners. */
function createBodyBudget(limitBytes: number) {
  let used = 0;
  return {
    /** Reserves `bytes` (the declared length, or the size limit when unknown); false when over. */
    take(bytes: number): boolean {
      if (used + bytes > limitBytes) return false;
      used += bytes;
      return true;
    },
    give(bytes: number) {
      used -= bytes;
    },
  };
}

interface ListenerOptions {
  /** False on plain HTTP when TLS is configured: only the probes are answered there. */
  admissions: boolean;
  /** HTTPS only: the certificate served now (PEM). */
  servedCertificate?: () => string;
  isReady: () => boolean;
  track: (res: http.ServerResponse) => void;
  budget: ReturnType<typeof createBodyBudget>;
}

const PROBE_METHODS = new Set(['GET', 'HEAD']);

/** The listener both servers share: edge checks, body, then the function. */
function createListener(handler: Handler, log: Logger, options: ListenerOptions): http.RequestListener {
  return (req, res) => {
    const receivedAt = performance.now();
    options.track(res);
    if (req.method === 'GET' && !options.isReady() && (req.url ?? '').split('?', 1)[0] === '/readyz') {
      return sendJson(res, 503, { status: 'waiting for the TLS certificate' });
    }
    if (!options.admissions && !PROBE_METHODS.has(req.method ?? '')) {
      log('warn', 'admission rejected', { decision: 'error', reason: 'plain_http', status: 403 });
      sendJson(res, 403, { error: 'admission reviews are served over HTTPS only; plain HTTP answers GET /healthz and /readyz' }, { connection: 'close' });
      return lingerThenClose(req);
    }
    if (req.url === '*') return sendJson(res, 404, { error: 'no such path: *' });
    if (options.servedCertificate && req.method === 'GET' && pathOf(req.url ?? '/') === CERTIFICATE_PATH) {
      return sendJson(res, 200, { certificate: options.servedCertificate() });
    }
    const declared = Number(req.headers['content-length']);
    const reserved = hasBody(req) ? (Number.isSafeInteger(declared) && declared <= MAX_BODY_BYTES ? declared : MAX_BODY_BYTES) : 0;
    if (!options.budget.take(reserved)) {
      log('warn', 'admission rejected', { decision: 'error', reason: 'busy', status: 503 });
      sendJson(res, 503, { error: 'too many request bodies in progress, retry' }, { connection: 'close', 'retry-after': '1' });
      return lingerThenClose(req);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      options.budget.give(reserved);
    };
    res.once('close', release);
    readBody(req, MAX_BODY_BYTES, (result) => {
      release(); // the raw bytes are garbage once parsed or refused
      if (!result.ok) return refuseBody(req, res, result, log);
      if (answeredLikeTheFramework(req, res, log)) return;
      (req as HandlerRequest).body = result.body;
      // Set with the body, after Node's own code has read the request: set at the top of the
      // listener, it changed the IncomingMessage's shape under that code, and an A/B of the bundles
      // at saturation gave 0.94-0.98x the throughput in 5 rounds of 6; set here, 0.99x (median of 10).
      (req as HandlerRequest).receivedAt = receivedAt;
      try {
        handler(req as HandlerRequest, res);
      } catch (error) {
        log('error', 'request failed', { status: 500, error: (error as Error)?.name });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      }
    });
  };
}

const listen = (s: http.Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, () => {
      s.off('error', reject);
      resolve((s.address() as AddressInfo).port);
    });
  });

/** The node:http options for the timeouts. */
export function serverOptions(timeouts: ServerTimeouts): http.ServerOptions {
  return {
    requestTimeout: timeouts.requestMs,
    headersTimeout: timeouts.headersMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks the two timeouts only every connectionsCheckingInterval (30 s by default).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, timeouts.headersMs / 4)),
  };
}

/** Told of the serving certificate at start and after each reload (metrics.ts). */
export type CertificateObserver = (pem: string, reloaded: boolean) => void;

export async function startServers(
  handler: Handler,
  config: ServerConfig,
  log: Logger,
  timeouts = SERVER_TIMEOUTS,
  onCertificate: CertificateObserver = () => {},
): Promise<RunningServers> {
  const options = serverOptions(timeouts);
  const limits: EdgeLimits = config.limits ?? EDGE_LIMITS;
  const drainer = createDrainer(config.drainTimeoutMs, log);
  let waitingForTls = config.tls !== undefined;
  const shared = { isReady: () => !waitingForTls, track: drainer.track, budget: createBodyBudget(limits.bodyBudgetBytes) };
  const plain = http.createServer(options, createListener(handler, log, { ...shared, admissions: config.tls === undefined }));
  plain.maxConnections = limits.maxConnections;
  drainer.add(plain);
  const running: RunningServers = {
    http: plain,
    urls: { http: `http://127.0.0.1:${await listen(plain, config.port)}` },
    tlsReady: Promise.resolve(undefined),
    drain: () => {
      stopWaiting();
      return drainer.drain();
    },
  };

  let stopWaiting = () => {};
  if (config.tls) {
    const { port, ...files } = config.tls;
    const waiting = waitForPair(files, log, timeouts.tlsWait ?? TLS_WAIT);
    stopWaiting = waiting.stop;
    const startHttps = async (): Promise<string | undefined> => {
      const pair = await waiting.pair;
      if (!pair || drainer.draining) return undefined;
      // Loaded only when TLS is configured: plain HTTP starts without it.
      const { createServer } = await import('node:https');
      let served = pair.cert.toString('utf8');
      const secureListener = createListener(handler, log, { ...shared, admissions: true, servedCertificate: () => served });
      const secure = createServer({ ...options, ...TLS_POLICY, cert: pair.cert, key: pair.key }, secureListener);
      secure.maxConnections = limits.maxConnections;
      onCertificate(served, false);
      reloadOnChange(secure, files, pair, log, (cert) => {
        served = cert.toString('utf8');
        onCertificate(served, true);
      });
      const url = `https://127.0.0.1:${await listen(secure, port)}`;
      if (drainer.draining) {
        secure.close(); // a drain began while it was starting
        return undefined;
      }
      drainer.add(secure);
      running.https = secure;
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
  return running;
}
