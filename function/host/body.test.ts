// Body reading on a real loopback server: what the handler gets for each kind of body, and the
// refusals (413 declared or streamed, 400 malformed or nested too deep) with their log lines.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLogger } from '../log';
import { BodyResult, createDepthScan, MAX_JSON_DEPTH, readBody, refuseBody } from './body';

const LIMIT = 100;
let server: http.Server;
let port = 0;
const results: BodyResult[] = [];
const logs: any[] = [];
const log = jsonLogger((line) => void logs.push(JSON.parse(line)));

test.before(async () => {
  server = http.createServer((req, res) =>
    readBody(req, LIMIT, (result) => {
      results.push(result);
      if (!result.ok) return refuseBody(req, res, result, log, LIMIT);
      res.end(JSON.stringify({ body: result.body === undefined ? 'none' : result.body }));
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
test.after(() => {
  server.closeAllConnections();
  server.close();
});

/** One request; `chunks` are written one by one (chunked when no content-length is given). */
function send(headers: Record<string, string | number>, chunks: string[] = []) {
  results.length = 0;
  logs.length = 0;
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };

test('a JSON body is parsed once, sent whole or in chunks', async () => {
  const whole = await send({ ...JSON_TYPE, 'content-length': 13 }, ['{"a":[1,"b"]}']);
  assert.equal(JSON.parse(whole.text), { body: { a: [1, 'b'] } });
  const chunked = await send(JSON_TYPE, ['{"a":', '[1,', '"b"]}']);
  assert.equal(JSON.parse(chunked.text), { body: { a: [1, 'b'] } });
});

test('an empty body is {} for a JSON type with a declared length, nothing otherwise', async () => {
  assert.equal(JSON.parse((await send({ ...JSON_TYPE, 'content-length': 0 })).text), { body: {} });
  assert.equal(JSON.parse((await send({ 'content-type': 'text/plain', 'content-length': 0 })).text), { body: 'none' });
  assert.equal(JSON.parse((await send({ 'content-type': 'text/plain', 'content-length': 5 }, ['hello'])).text), { body: 'none' });
});

test('a body of exactly the limit is read; a declared length over it gets 413 before anything is read', async () => {
  const exact = `"${'x'.repeat(LIMIT - 2)}"`;
  assert.equal(JSON.parse((await send({ ...JSON_TYPE, 'content-length': LIMIT }, [exact])).text), { body: 'x'.repeat(LIMIT - 2) });
  const over = await send({ ...JSON_TYPE, 'content-length': LIMIT + 1 }, [`${exact} `]);
  assert.is(over.status, 413);
  assert.is(over.headers.connection, 'close');
  assert.equal(JSON.parse(over.text), { error: `request body over ${LIMIT} bytes` });
  assert.equal(results, [{ ok: false, status: 413, reason: 'body_too_large', bytes: LIMIT + 1 }]);
});

test('a chunked body is refused with 413 as soon as it passes the limit, once', async () => {
  const answer = await send(JSON_TYPE, ['x'.repeat(60), 'x'.repeat(60), 'x'.repeat(60)]).catch((e: Error) => e);
  if (!(answer instanceof Error)) assert.is(answer.status, 413); // or reset: the client was still sending
  assert.is(results.length, 1);
  assert.is(results[0].ok, false);
  assert.ok(!results[0].ok && results[0].bytes > LIMIT && results[0].bytes <= 180);
});

test('malformed JSON gets 400 with its size, and the log line holds no byte of the body', async () => {
  const answer = await send({ ...JSON_TYPE, 'content-length': 18 }, ['{"secret-marker":1']);
  assert.is(answer.status, 400);
  assert.equal(JSON.parse(answer.text), { error: 'request body is not valid JSON (18 bytes)' });
  assert.is(logs.length, 1);
  assert.equal(
    { ...logs[0], time: undefined },
    { time: undefined, level: 'warn', msg: 'admission rejected', decision: 'error', reason: 'malformed_json', status: 400, bytes: 18 },
  );
  assert.not.match(JSON.stringify(logs), /secret-marker/);
});

const nested = (depth: number) => `${'{"a":['.repeat(depth / 2)}1${']}'.repeat(depth / 2)}`;
const scan = (text: string, chunkSize = text.length, max = MAX_JSON_DEPTH) => {
  const withinDepth = createDepthScan(max);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) if (!withinDepth(bytes.subarray(i, i + chunkSize))) return false;
  return true;
};

test('the depth scan counts brackets outside strings only, across chunk boundaries', () => {
  assert.ok(scan(nested(MAX_JSON_DEPTH)));
  assert.not.ok(scan(nested(MAX_JSON_DEPTH + 2)));
  assert.ok(scan('[[1],[2],{"a":{"b":[]}}]', 24, 4), 'siblings do not add up');
  assert.not.ok(scan('[[1],[2],{"a":{"b":[]}}]', 24, 3));
  assert.not.ok(scan('[[[[1]]]]', 1, 3));
  const bracketsInStrings = JSON.stringify({ s: '[[[[{{{{', t: 'a\\"[[[[', u: '\u005b\u007b' });
  assert.ok(scan(bracketsInStrings, 1, 1), bracketsInStrings);
  assert.ok(scan(JSON.stringify({ s: 'é[ü{"' }), 3, 1), 'multi-byte characters split across chunks');
  assert.not.ok(scan(String.raw`{"a":"\\"}[[`, 1, 1), 'an escaped backslash: the quote after it ends the string');
  assert.ok(scan(String.raw`{"a":"\"[["}`, 1, 1), 'an escaped quote: the string goes on');
});

test('a body nested deeper than MAX_JSON_DEPTH gets 400 before it is parsed; one at the limit is read', async () => {
  const server = http.createServer((req, res) =>
    readBody(req, 1 << 20, (result) => {
      results.push(result);
      if (!result.ok) return refuseBody(req, res, result, log);
      res.end('{}');
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const saved = port;
  port = (server.address() as AddressInfo).port;
  try {
    const atLimit = await send(JSON_TYPE, [nested(MAX_JSON_DEPTH)]);
    assert.is(atLimit.status, 200);
    const deep = await send(JSON_TYPE, [nested(MAX_JSON_DEPTH + 2)]);
    assert.is(deep.status, 400);
    assert.equal(JSON.parse(deep.text), { error: `request body nests deeper than ${MAX_JSON_DEPTH} levels, which no AdmissionReview needs` });
    assert.is(results.length, 1);
    assert.ok(!results[0].ok && results[0].reason === 'too_deep');
    assert.equal(
      logs.map((l) => [l.reason, l.status]),
      [['too_deep', 400]],
    );
  } finally {
    port = saved;
    server.closeAllConnections();
    server.close();
  }
});

test.run();
