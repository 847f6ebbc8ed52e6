// The HTTP edge of the registered function: method, path, content type, status codes.
//
//   GET  /healthz, /readyz                      200 {"status":"ok"}
//   GET  any other path                         404
//   POST any path (the API server adds ?timeout=) content type must be JSON, else 400
//        body not an AdmissionReview v1         400 {"error": "..."}
//        valid review                           200 AdmissionReview (always allowed)
//   any other method                            405, Allow: GET, POST
// Malformed or over-nested JSON (400) and bodies over the limit (413) are refused before the function runs,
// by host/body.ts; under the bare functions-framework CLI, Express answers those itself.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { admit } from './admit';
import type { Config } from './config';
import type { Logger } from './log';

export const HEALTH_PATHS = new Set(['/healthz', '/readyz']);

export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';', 1)[0].trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** What the handler reads of a request: the framework's Request carries it, and so does the host's. */
export interface HandlerRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON (undefined when there was none). */
  body?: unknown;
  /** performance.now() when the request's headers arrived (the image's host sets it). */
  receivedAt?: number;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Told of every admission answered or refused, as it is logged (the image's host counts them:
 * metrics.ts), with its servedMs in seconds: from the request's headers to the answer written. */
export type AdmissionObserver = (record: { decision: string; reason: string; mode?: string }, seconds: number, warnings?: readonly string[]) => void;

/** Milliseconds since a performance.now() reading, to the microsecond. */
const millisSince = (start: number) => Math.round((performance.now() - start) * 1000) / 1000;

export function createHandler(config: Config, log: Logger, observe: AdmissionObserver = () => {}) {
  return function handleAdmission(req: HandlerRequest, res: ServerResponse): void {
    const started = performance.now();
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (HEALTH_PATHS.has(path)) return sendJson(res, 200, { status: 'ok' });
      return sendJson(res, 404, { error: `no such path: GET ${path.slice(0, 100)}; admission reviews are POSTed` });
    }
    if (req.method !== 'POST') {
      return sendJson(res, 405, { error: `method ${String(req.method).slice(0, 20)} not allowed` }, { allow: 'GET, POST' });
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      log('warn', 'admission rejected', { decision: 'error', reason: 'bad_content_type', status: 400 });
      observe({ decision: 'error', reason: 'bad_content_type' }, millisSince(req.receivedAt ?? started) / 1000);
      return sendJson(res, 400, { error: 'content-type must be application/json' });
    }
    const result = admit(req.body, config);
    const durationMs = millisSince(started);
    if (!result.ok) {
      sendJson(res, 400, { error: result.error });
      const servedMs = millisSince(req.receivedAt ?? started);
      log('warn', 'admission rejected', { ...result.record, status: 400, error: result.error, durationMs, servedMs });
      observe(result.record, servedMs / 1000);
      return;
    }
    sendJson(res, 200, result.review);
    // Logged once the answer is written: servedMs covers the body, parse, decision and TLS write.
    const servedMs = millisSince(req.receivedAt ?? started);
    log(result.record.decision === 'error' ? 'error' : 'info', 'admission', { ...result.record, durationMs, servedMs });
    observe(result.record, servedMs / 1000, result.review.response.warnings);
  };
}
