// Real HTTP on loopback through the functions-framework server: every fixture, and every bad
// input of the HTTP edge, after each of which the server keeps serving.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixtureNames, readable, readExpected, readFixture } from '../test/support/fixtures';
import { startTestServer, TestServer } from '../test/support/server';

let server: TestServer;
test.before(async () => {
  server = await startTestServer();
});
test.after(async () => {
  await server.close();
});

const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/?timeout=10s') =>
  fetch(server.url + path, { method: 'POST', headers, body });

async function stillServes() {
  const res = await post(JSON.stringify(readFixture('deployment-pod')));
  assert.is(res.status, 200);
  assert.is(((await res.json()) as any).response.patchType, 'JSONPatch');
}

async function expectJsonError(res: Response, status: number, pattern: RegExp) {
  assert.is(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { error: string };
  assert.match(body.error, pattern);
  await stillServes();
}

test('every fixture POSTed with ?timeout= gets its golden answer', async () => {
  for (const name of fixtureNames()) {
    const res = await post(JSON.stringify(readFixture(name)));
    assert.is(res.status, 200, name);
    assert.equal(readable((await res.json()) as { response: object }), readExpected(name), name);
  }
});

test('one JSON log line per admission, with the decision and no pod content', async () => {
  server.logs.length = 0;
  await post(JSON.stringify(readFixture('mode-enforce')));
  await post(JSON.stringify(readFixture('unlabelled')));
  const lines = server.logs.map((l) => JSON.parse(l));
  assert.is(lines.length, 2);
  assert.equal(
    lines.map(({ uid, namespace, pod, decision, reason, mode }) => ({ uid, namespace, pod, decision, reason, mode })),
    [
      { uid: '00000000-0000-4000-8000-000000000003', namespace: 'shop', pod: 'checkout-7d9f8b6c5d-*', decision: 'inject', reason: 'injected', mode: 'enforce' },
      {
        uid: readFixture('unlabelled').request.uid,
        namespace: 'shop',
        pod: 'checkout-7d9f8b6c5d-*',
        decision: 'skip',
        reason: 'not_labelled',
        mode: undefined,
      },
    ],
  );
  assert.type(lines[0].durationMs, 'number');
  // Under the framework there is no header time: servedMs counts from the handler, and covers the decision.
  assert.ok(lines[0].servedMs >= lines[0].durationMs, JSON.stringify(lines[0]));
  for (const line of server.logs) assert.not.match(line, /checkout:2\.14\.1|DATABASE_URL|containers/);
});

test('GET /healthz and /readyz answer 200', async () => {
  for (const path of ['/healthz', '/readyz']) {
    const res = await fetch(server.url + path);
    assert.is(res.status, 200);
    assert.equal(await res.json(), { status: 'ok' });
  }
});

test('other methods get 405 with Allow, other GET paths 404', async () => {
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    const res = await fetch(server.url, { method });
    assert.is(res.status, 405, method);
    assert.is(res.headers.get('allow'), 'GET, POST');
    await res.arrayBuffer();
  }
  await expectJsonError(await fetch(`${server.url}/metrics`), 404, /no such path/);
});

test('malformed JSON gets a JSON 400, and the log holds no body', async () => {
  server.logs.length = 0;
  await expectJsonError(await post('{"apiVersion": "admission.k8s.io/v1", "secret-marker-123'), 400, /not valid JSON/);
  assert.ok(server.logs.some((l) => l.includes('malformed_json')));
  assert.not.ok(server.logs.some((l) => l.includes('secret-marker-123')));
});

test('a non-JSON content type gets 400', async () => {
  await expectJsonError(await post(JSON.stringify(readFixture('deployment-pod')), { 'content-type': 'text/plain' }), 400, /content-type/);
  await expectJsonError(await post('{}', {}), 400, /content-type/);
});

test('a body that is not an AdmissionReview v1 gets 400 naming the problem', async () => {
  const review = readFixture('deployment-pod');
  const cases: [unknown, RegExp][] = [
    [{ ...review, apiVersion: 'admission.k8s.io/v1beta1' }, /apiVersion/],
    [{ ...review, kind: 'Pod' }, /kind/],
    [{ apiVersion: review.apiVersion, kind: review.kind }, /request/],
    [{ ...review, request: { ...review.request, uid: undefined } }, /uid/],
    [{ ...review, request: { ...review.request, uid: '' } }, /uid/],
    [[review], /AdmissionReview/],
    ['a string', /AdmissionReview/],
    [null, /AdmissionReview/],
  ];
  for (const [body, pattern] of cases) await expectJsonError(await post(JSON.stringify(body)), 400, pattern);
  await expectJsonError(await post(''), 400, /AdmissionReview/);
});

test('a body over 3 MiB gets 413', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 1, 0x20);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': big.length } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(big);
  });
  assert.is(status, 413);
  await stillServes();
});

test('under the bare functions-framework server too, the function answers reviews, health and bad envelopes', async () => {
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const bare = getTestServer(server.functionName);
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  try {
    const ok = await fetch(`${url}/?timeout=10s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(readFixture('mode-debug')),
    });
    assert.equal(readable((await ok.json()) as { response: object }), readExpected('mode-debug'));
    assert.is((await fetch(`${url}/healthz`)).status, 200);
    assert.is((await fetch(url, { method: 'PUT' })).status, 405);
    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"AdmissionReview"}' });
    assert.is(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /apiVersion/);
  } finally {
    await new Promise((resolve) => bare.close(resolve));
  }
});

test.run();
