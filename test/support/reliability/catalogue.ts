// The hostile-input catalogue: requests no API server sends, each with the status the edge
// documents (function/http.ts, function/server.ts). Used by hostile.test.ts; the README lists
// what each got.
import { readFixture } from '../fixtures';
import { jsonPost, rawRequest, Step, trickle } from './wire';

export interface HostileCase {
  name: string;
  steps: () => Iterable<Step>;
  /** The documented status, or 0 when the server closes the connection without an answer. */
  status: number;
  /** Slow cases wait on a server timeout; they run together to keep the suite fast. */
  slow?: boolean;
}

export const MiB = 1024 * 1024;
const HOST: [string, string] = ['Host', '127.0.0.1'];
const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];
const CLOSE: [string, string] = ['Connection', 'close'];

export const validReview = () => readFixture('deployment-pod');
export const validBody = () => JSON.stringify(validReview());

/** The fixture review with one value replaced at a path (created if missing). */
export function reviewWith(path: (string | number)[], value: unknown): any {
  const review = validReview();
  let at: any = review;
  for (const key of path.slice(0, -1)) at = at[key] ??= {};
  at[path[path.length - 1]] = value;
  return review;
}

/** A JSON text nested `depth` levels deep without recursion: [[[...]]] or {"a":{"a":...}}. */
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** The valid review with a raw JSON text spliced in as the value at request.object.spec.zz. */
const withRawSpecField = (json: string) => validBody().replace('"spec":{', `"spec":{"zz":${json},`);

const post = (body: string | Buffer) => () => [jsonPost(body)];
const bytes =
  (...parts: (string | Buffer)[]) =>
  () =>
    parts.map((p) => Buffer.from(p as string, 'latin1'));

export function hostileCases(): HostileCase[] {
  const body = validBody();
  const half = body.slice(0, body.length >> 1);
  const headers =
    (extra: [string, string | number][], b: string | Buffer = body) =>
    () => [rawRequest('POST', '/', [HOST, ...extra, CLOSE], b)];
  return [
    // Malformed and truncated JSON: 400 from the edge, before the function runs.
    { name: 'truncated JSON (half a review)', steps: post(half), status: 400 },
    { name: 'a lone "{"', steps: post('{'), status: 400 },
    { name: 'trailing garbage after the review', steps: post(`${body}xyz`), status: 400 },
    { name: 'NaN literal', steps: post('{"apiVersion":NaN}'), status: 400 },
    { name: 'single-quoted JSON', steps: post("{'apiVersion':'admission.k8s.io/v1'}"), status: 400 },
    { name: 'byte-order mark before the JSON', steps: post(`\uFEFF${body}`), status: 400 },
    { name: 'NUL bytes as the body', steps: post(Buffer.alloc(64)), status: 400 },
    { name: 'empty body with Content-Length: 0', steps: post(''), status: 400 },
    { name: 'JSON null', steps: post('null'), status: 400 },
    { name: 'JSON array of reviews', steps: post(`[${body}]`), status: 400 },
    { name: 'JSON string', steps: post('"AdmissionReview"'), status: 400 },
    { name: 'JSON number', steps: post('1e999'), status: 400 },
    // Deep nesting: refused by a byte scan before JSON.parse, which costs several times more on
    // a deep body than on a flat one. A real pod nests about 16 levels; the limit is 64.
    { name: '100k nested arrays as the body', steps: post(deepArray(100_000)), status: 400 },
    { name: '100k nested objects as the body', steps: post(deepObject(100_000)), status: 400 },
    { name: '100k nested arrays inside the pod spec', steps: post(withRawSpecField(deepArray(100_000))), status: 400 },
    { name: '100k nested objects inside the pod spec', steps: post(withRawSpecField(deepObject(100_000))), status: 400 },
    { name: '60 nested objects inside the pod spec (under the limit)', steps: post(withRawSpecField(deepObject(60))), status: 200 },
    { name: '65 nested objects inside the pod spec', steps: post(withRawSpecField(deepObject(65))), status: 400 },
    {
      name: '100k nested arrays as request.kind.group',
      steps: post(JSON.stringify(reviewWith(['request', 'kind', 'group'], 0)).replace('"group":0', `"group":${deepArray(100_000)}`)),
      status: 400,
    },
    // Huge strings and counts, under the size limit.
    { name: '2.5 MiB uid', steps: post(JSON.stringify(reviewWith(['request', 'uid'], 'u'.repeat(2.5 * MiB)))), status: 200 },
    { name: '2.5 MiB namespace', steps: post(JSON.stringify(reviewWith(['request', 'namespace'], 'n'.repeat(2.5 * MiB)))), status: 200 },
    { name: '2.5 MiB pod name', steps: post(JSON.stringify(reviewWith(['request', 'object', 'metadata', 'name'], 'p'.repeat(2.5 * MiB)))), status: 200 },
    {
      name: '2.5 MiB mode annotation',
      steps: post(JSON.stringify(reviewWith(['request', 'object', 'metadata', 'annotations'], { 'pandocore.xyz/mode': 'm'.repeat(2.5 * MiB) }))),
      status: 200,
    },
    {
      name: '2.5 MiB service account name',
      steps: post(JSON.stringify(reviewWith(['request', 'object', 'spec', 'serviceAccountName'], 's'.repeat(2.5 * MiB)))),
      status: 200,
    },
    {
      name: '20,000 containers',
      steps: post(
        JSON.stringify(
          reviewWith(
            ['request', 'object', 'spec', 'containers'],
            Array.from({ length: 20_000 }, (_, i) => ({ name: `c${i}`, image: 'x' })),
          ),
        ),
      ),
      status: 200,
    },
    {
      name: '100,000 labels',
      steps: post(
        JSON.stringify(
          reviewWith(
            ['request', 'object', 'metadata', 'labels'],
            Object.fromEntries([...Array.from({ length: 100_000 }, (_, i) => [`l${i}`, 'v']), ['pandocore.xyz/protect', 'true']]),
          ),
        ),
      ),
      status: 200,
    },
    { name: 'invalid UTF-8 bytes in a label value', steps: post(withBytes(body, '"app":"', [0xff, 0xfe, 0xc3])), status: 200 },
    {
      name: 'lone surrogate escapes in uid and labels',
      steps: post(body.replace('"00000000-0000-4000-8000-000000000001"', '"\\ud800\\udfff\\udc00"').replace('"app":"checkout"', '"app":"\\ud800"')),
      status: 200,
    },
    {
      name: '__proto__ and constructor keys in labels, annotations and spec',
      steps: post(
        body
          .replace(
            '"labels":{',
            '"annotations":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}},"labels":{"__proto__":{"polluted":"yes"},',
          )
          .replace('"spec":{', '"spec":{"__proto__":{"containers":[]},'),
      ),
      status: 200,
    },
    // Size limit: 413 from Content-Length alone, or as a chunked body streams past 3 MiB.
    { name: 'body of exactly 3 MiB', steps: post(padTo(3 * MiB)), status: 200 },
    { name: 'body of 3 MiB + 1 byte', steps: post(padTo(3 * MiB + 1)), status: 413 },
    { name: 'Content-Length: 50 MiB, body never sent', steps: headers([JSON_TYPE, ['Content-Length', 50 * MiB]], ''), status: 413 },
    { name: 'Content-Length: 2^53, body never sent', steps: headers([JSON_TYPE, ['Content-Length', '9007199254740993']], ''), status: 413 },
    // Methods and paths.
    ...['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'].map((m) => ({
      name: `${m} /`,
      steps: bytes(`${m} / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
      status: 405,
    })),
    { name: 'unknown method FOO', steps: bytes('FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), status: 400 },
    { name: 'CONNECT (no tunnels here)', steps: bytes('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n'), status: 0 },
    { name: 'OPTIONS * (asterisk form)', steps: bytes('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), status: 404 },
    { name: 'GET /metrics', steps: bytes('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), status: 404 },
    { name: 'GET /../../etc/passwd', steps: bytes('GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), status: 404 },
    { name: 'GET with a bad percent escape', steps: bytes('GET /%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), status: 400 },
    { name: 'HEAD /healthz', steps: bytes('HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), status: 200 },
    {
      name: 'POST to any path (the API server adds its own)',
      steps: () => [rawRequest('POST', '/any/path?timeout=10s&x=%00', [HOST, JSON_TYPE, ['Content-Length', Buffer.byteLength(body)], CLOSE], body)],
      status: 200,
    },
    { name: 'not HTTP at all', steps: bytes('\u0000\u0001\u0002 hello\r\n\r\n'), status: 400 },
    {
      name: 'HTTP/1.0 without Host',
      steps: () => [Buffer.from(`POST / HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)],
      status: 200,
    },
    { name: 'HTTP/1.1 without Host', steps: bytes('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'), status: 400 },
    // Duplicate and odd headers.
    {
      name: 'two Content-Types, text/plain first',
      steps: headers([['Content-Type', 'text/plain'], JSON_TYPE, ['Content-Length', Buffer.byteLength(body)]]),
      status: 400,
    },
    { name: 'no Content-Type', steps: headers([['Content-Length', Buffer.byteLength(body)]]), status: 400 },
    {
      name: 'Content-Type text/plain',
      steps: headers([
        ['Content-Type', 'text/plain'],
        ['Content-Length', Buffer.byteLength(body)],
      ]),
      status: 400,
    },
    {
      name: 'Content-Type application/json; charset=utf-8',
      steps: headers([
        ['Content-Type', 'application/json; charset=utf-8'],
        ['Content-Length', Buffer.byteLength(body)],
      ]),
      status: 200,
    },
    { name: 'two different Content-Lengths', steps: headers([JSON_TYPE, ['Content-Length', Buffer.byteLength(body)], ['Content-Length', 3]]), status: 400 },
    {
      name: 'Content-Length and Transfer-Encoding together (smuggling)',
      steps: headers([JSON_TYPE, ['Content-Length', 4], ['Transfer-Encoding', 'chunked']], '0\r\n\r\n'),
      status: 400,
    },
    { name: 'invalid chunk size', steps: headers([JSON_TYPE, ['Transfer-Encoding', 'chunked']], 'zz\r\n{}\r\n0\r\n\r\n'), status: 400 },
    { name: 'negative Content-Length', steps: headers([JSON_TYPE, ['Content-Length', -1]], ''), status: 400 },
    { name: 'Content-Length shorter than the body', steps: headers([JSON_TYPE, ['Content-Length', 10]]), status: 400 },
    {
      name: 'Content-Encoding gzip (not decoded)',
      steps: headers([JSON_TYPE, ['Content-Encoding', 'gzip'], ['Content-Length', 10]], Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])),
      status: 400,
    },
    { name: 'Expect: 100-continue', steps: headers([JSON_TYPE, ['Expect', '100-continue'], ['Content-Length', Buffer.byteLength(body)]]), status: 200 },
    { name: '20 KB header', steps: bytes(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`), status: 431 },
    { name: 'NUL in a header value', steps: bytes('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\nConnection: close\r\n\r\n'), status: 400 },
    {
      name: 'valid chunked upload',
      steps: headers([JSON_TYPE, ['Transfer-Encoding', 'chunked']], `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`),
      status: 200,
    },
    // Slow senders and requests that never finish: cut by the server's timeouts (408).
    {
      name: 'headers trickled and never finished',
      steps: () => trickle('POST / HTTP/1.1\r\nHost: x\r\nX-Slow: '.padEnd(4000, 'a'), 20),
      status: 408,
      slow: true,
    },
    {
      name: 'body declared 1000 bytes, 10 sent, then silence',
      steps: () => [rawRequest('POST', '/', [HOST, JSON_TYPE, ['Content-Length', 1000]], '{"apiVersio')],
      status: 408,
      slow: true,
    },
    {
      name: 'body trickled a byte every 20 ms past the request timeout',
      steps: () => [rawRequest('POST', '/', [HOST, JSON_TYPE, ['Content-Length', Buffer.byteLength(body)]]), ...trickle(body, 20)],
      status: 408,
      slow: true,
    },
    {
      name: 'chunked body never terminated',
      steps: () => [rawRequest('POST', '/', [HOST, JSON_TYPE, ['Transfer-Encoding', 'chunked']], '2\r\n{}\r\n')],
      status: 408,
      slow: true,
    },
    { name: 'connection opened, nothing sent', steps: () => [], status: 408, slow: true },
    { name: 'slow but finite sender (10 pieces, 40 ms apart)', steps: () => slices(jsonPost(body), 10, 40), status: 200, slow: true },
  ];
}

/** The text with raw bytes inserted right after the first occurrence of `after`. */
function withBytes(text: string, after: string, raw: number[]): Buffer {
  const at = text.indexOf(after) + after.length;
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(raw), Buffer.from(text.slice(at))]);
}

/** The valid review padded with spaces (valid JSON whitespace) to exactly `size` bytes. */
export function padTo(size: number): Buffer {
  const body = Buffer.from(validBody());
  return Buffer.concat([body, Buffer.alloc(size - body.length, 0x20)]);
}

function* slices(buf: Buffer, pieces: number, pauseMs: number): Generator<Step> {
  const size = Math.ceil(buf.length / pieces);
  for (let i = 0; i < buf.length; i += size) {
    yield buf.subarray(i, i + size);
    yield { pauseMs };
  }
}
