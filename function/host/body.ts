// The request body, read before the function runs: under a size limit, parsed as JSON once.
//   Content-Length over the limit     413 at once, nothing read
//   streamed past the limit           413 as soon as it passes
//   JSON nested over MAX_JSON_DEPTH   400 {"error"} as soon as the scan sees it, never parsed
//   JSON content type, not JSON       400 {"error"}, logged without the body
//   no body (Content-Length: 0)       {} for a JSON content type, as the framework's body-parser gives
// A refused connection is closed gently (lingerThenClose), so the client reads its 413.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType, sendJson } from '../http';
import type { Logger } from '../log';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Deepest JSON nesting accepted. A Pod in an AdmissionReview nests about 16 levels (its deepest
 * fields: affinity terms, projected volumes), managedFields a few more; the API server drops
 * unknown fields of a Pod, so nothing real comes near 64. Deeper bodies cost JSON.parse several
 * times the CPU of a flat one and are refused before parsing.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Tracks the nesting of a JSON text fed in chunks, byte by byte: brackets outside strings. UTF-8
 * continuation bytes are all over 0x7f, so no multi-byte character is mistaken for one of these.
 * Malformed text is left for JSON.parse to refuse.
 */
export function createDepthScan(maxDepth = MAX_JSON_DEPTH) {
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** False once the text has nested deeper than maxDepth. */
  return function withinDepth(chunk: Uint8Array): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
      } else if (byte === QUOTE) inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++depth > maxDepth) return false;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
    }
    return true;
  };
}

/** How long a connection refused with 413 stays open, unread, so the client can read the answer. */
export const LINGER_MS = 1000;

export type BodyResult =
  { ok: true; body: unknown } | { ok: false; status: 413 | 400; reason: 'body_too_large' | 'malformed_json' | 'too_deep'; bytes: number };

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
  const withinDepth = isJsonContentType(req.headers['content-type']) ? createDepthScan() : () => true;
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > limit) {
      refused = true;
      done({ ok: false, status: 413, reason: 'body_too_large', bytes: size });
    } else if (!withinDepth(chunk)) {
      refused = true;
      done({ ok: false, status: 400, reason: 'too_deep', bytes: size });
    } else chunks.push(chunk);
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

/** Answers a refused body (one log line, never the body); when the body was not read to its end, closes the connection. */
export function refuseBody(req: IncomingMessage, res: ServerResponse, refusal: Extract<BodyResult, { ok: false }>, log: Logger, limit = MAX_BODY_BYTES) {
  const { status, reason, bytes } = refusal;
  log('warn', 'admission rejected', { decision: 'error', reason, status, bytes });
  if (reason === 'malformed_json') return sendJson(res, 400, { error: `request body is not valid JSON (${bytes} bytes)` });
  const error =
    reason === 'too_deep' ? `request body nests deeper than ${MAX_JSON_DEPTH} levels, which no AdmissionReview needs` : `request body over ${limit} bytes`;
  sendJson(res, status, { error }, { connection: 'close' }); // the rest of the body is never read
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
