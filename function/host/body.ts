// The request body, read before the function runs: under a size limit, parsed as JSON once.
//   Content-Length over the limit     413 at once, nothing read
//   streamed past the limit           413 as soon as it passes
//   JSON content type, not JSON       400 {"error"}, logged without the body
//   no body (Content-Length: 0)       {} for a JSON content type, as the framework's body-parser gives
// A refused connection is closed gently (lingerThenClose), so the client reads its 413.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType, sendJson } from '../http';
import type { Logger } from '../log';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** How long a connection refused with 413 stays open, unread, so the client can read the answer. */
export const LINGER_MS = 1000;

export type BodyResult = { ok: true; body: unknown } | { ok: false; status: 413 | 400; reason: 'body_too_large' | 'malformed_json'; bytes: number };

/**
 * What body-parser hands the function when the edge read nothing: `{}` for a declared empty
 * body of a JSON type, nothing when no length was declared. The function refuses other types.
 */
function emptyBody(req: IncomingMessage): unknown {
  return req.headers['content-length'] !== undefined && isJsonContentType(req.headers['content-type']) ? {} : undefined;
}

/** Whether a body follows the headers: a length over 0, or a chunked (or otherwise encoded) transfer. */
export const hasBody = (req: IncomingMessage) => Number(req.headers['content-length']) > 0 || req.headers['transfer-encoding'] !== undefined;

/** Reads the body within `limit` and calls `done` once, with the parsed body or the refusal. */
export function readBody(req: IncomingMessage, limit: number, done: (result: BodyResult) => void): void {
  if (!hasBody(req)) return done({ ok: true, body: emptyBody(req) });
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return done({ ok: false, status: 413, reason: 'body_too_large', bytes: declared });
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else {
      refused = true;
      done({ ok: false, status: 413, reason: 'body_too_large', bytes: size });
    }
  });
  req.on('end', () => {
    if (refused) return;
    if (!isJsonContentType(req.headers['content-type'])) return done({ ok: true, body: undefined });
    const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return done({ ok: false, status: 400, reason: 'malformed_json', bytes: size });
    }
    done({ ok: true, body });
  });
  req.on('error', () => req.destroy());
}

/** Answers a refused body (one log line, never the body) and, for 413, closes the connection. */
export function refuseBody(req: IncomingMessage, res: ServerResponse, refusal: Extract<BodyResult, { ok: false }>, log: Logger, limit = MAX_BODY_BYTES) {
  const { status, reason, bytes } = refusal;
  log('warn', 'admission rejected', { decision: 'error', reason, status, bytes });
  if (status === 400) return sendJson(res, 400, { error: `request body is not valid JSON (${bytes} bytes)` });
  sendJson(res, 413, { error: `request body over ${limit} bytes` }, { connection: 'close' });
  lingerThenClose(req);
}

/**
 * Closing a socket with unread bytes sends a TCP reset, and a client still sending its body then
 * often never reads the 413 (half the time with Node's own client). So reading stops (TCP flow
 * control holds the sender back, nothing more is buffered), the answer goes out with a FIN, and
 * the socket is destroyed only a moment later.
 */
export function lingerThenClose(req: IncomingMessage, lingerMs = LINGER_MS) {
  const socket = req.socket as IncomingMessage['socket'] & { destroySoon?: () => void };
  req.on('data', () => {}); // marks the body as consumed, so Node does not read it to its end
  req.pause();
  socket.destroySoon = () => socket.end(); // Node calls it after a Connection: close answer
  setTimeout(() => socket.destroy(), lingerMs).unref();
}
