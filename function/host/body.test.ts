// Body reading on a real loopback server: what the handler gets for each kind of body, and the
// refusals (413 declared or streamed, 400 malformed) with their log lines.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLogger } from '../log';
import { BodyResult, readBody, refuseBody } from './body';

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

test.run();
