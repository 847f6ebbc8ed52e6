// The hostile-input catalogue against the production stack on loopback: each request gets its
// documented status, and a valid review is answered after every one of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyReview } from '../support/apiserver';
import { hostileCases, reviewWith, validBody, validReview } from '../support/reliability/catalogue';
import { InProcessServer, startInProcess, TEST_TIMEOUTS } from '../support/reliability/serve';
import { exchange, Exchange, jsonPost } from '../support/reliability/wire';

let server: InProcessServer;
test.before(async () => {
  server = await startInProcess();
});
test.after(async () => {
  await server.close();
});

async function stillServes(after: string) {
  const answer = await exchange(server.port, [jsonPost(validBody())]);
  assert.is(answer.status, 200, `no valid answer after: ${after}`);
  assert.is(JSON.parse(answer.body).response.patchType, 'JSONPatch', after);
}

function expectStatus(name: string, got: Exchange, status: number) {
  assert.is(got.status, status, `${name}: got ${got.status} (${got.head.split('\r\n')[0]}) in ${got.ms} ms`);
  if (status === 0) assert.ok(got.closedByServer, `${name}: the server should close the connection`);
  assert.not.match(got.body, /<html|<!DOCTYPE/i, `${name}: an HTML page instead of JSON`);
  if (status >= 200 && got.body && got.head.includes('application/json')) {
    const answer = JSON.parse(got.body);
    if (status === 200 && answer.response) assert.is(answer.response.allowed, true, name);
    else assert.type(answer.error, 'string', name);
  }
}

const cases = hostileCases();

test('every fast hostile request gets its documented status, and the server keeps serving', async () => {
  for (const c of cases.filter((x) => !x.slow)) {
    const got = await exchange(server.port, c.steps(), 10_000);
    expectStatus(c.name, got, c.status);
    await stillServes(c.name);
  }
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype polluted');
});

test('slow senders and requests that never finish are cut by the server timeouts', async () => {
  const slow = cases.filter((x) => x.slow);
  const bound = TEST_TIMEOUTS.requestMs + 2000;
  const results = await Promise.all(slow.map((c) => exchange(server.port, c.steps(), bound + 2000)));
  slow.forEach((c, i) => {
    expectStatus(c.name, results[i], c.status);
    assert.ok(results[i].closedByServer, `${c.name}: connection left open after ${results[i].ms} ms`);
    assert.ok(results[i].ms < bound, `${c.name}: took ${results[i].ms} ms`);
  });
  await stillServes('slow senders');
});

// Wrong JSON types at every level of the review. Envelope fields the schema reads get 400;
// anything inside request.object gets 200, allowed, uid echoed, and a patch that applies.
const WRONG_VALUES: unknown[] = [null, 0, -1.5, true, '', 'x', [], [1, 'a'], {}, { a: { b: [] } }];
const ENVELOPE_PATHS = [
  ['apiVersion'],
  ['kind'],
  ['request'],
  ['request', 'uid'],
  ['request', 'kind'],
  ['request', 'kind', 'group'],
  ['request', 'kind', 'version'],
  ['request', 'kind', 'kind'],
  ['request', 'resource'],
  ['request', 'resource', 'group'],
  ['request', 'resource', 'version'],
  ['request', 'resource', 'resource'],
  ['request', 'operation'],
];
const OPTIONAL_ENVELOPE_PATHS = [
  ['request', 'name'],
  ['request', 'namespace'],
  ['request', 'subResource'],
  ['request', 'dryRun'],
];
const OBJECT_PATHS = [
  [],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'generateName'],
  ['metadata', 'namespace'],
  ['metadata', 'labels'],
  ['metadata', 'labels', 'pandocore.xyz/protect'],
  ['metadata', 'annotations'],
  ['metadata', 'annotations', 'pandocore.xyz/mode'],
  ['metadata', 'ownerReferences'],
  ['spec'],
  ['spec', 'containers'],
  ['spec', 'containers', 0],
  ['spec', 'containers', 0, 'name'],
  ['spec', 'containers', 0, 'env'],
  ['spec', 'containers', 0, 'env', 0],
  ['spec', 'containers', 0, 'env', 0, 'valueFrom'],
  ['spec', 'containers', 0, 'volumeMounts'],
  ['spec', 'containers', 0, 'volumeMounts', 0],
  ['spec', 'containers', 0, 'volumeMounts', 0, 'mountPath'],
  ['spec', 'containers', 0, 'volumeMounts', 0, 'name'],
  ['spec', 'containers', 1],
  ['spec', 'initContainers'],
  ['spec', 'initContainers', 0],
  ['spec', 'ephemeralContainers'],
  ['spec', 'serviceAccountName'],
  ['spec', 'serviceAccount'],
  ['spec', 'hostPID'],
  ['spec', 'hostNetwork'],
  ['spec', 'shareProcessNamespace'],
  ['spec', 'automountServiceAccountToken'],
  ['spec', 'os'],
  ['spec', 'os', 'name'],
  ['spec', 'restartPolicy'],
  ['spec', 'volumes'],
  ['spec', 'volumes', 0],
  ['status'],
].map((p) => ['request', 'object', ...p]);

async function postReview(review: unknown) {
  const got = await exchange(server.port, [jsonPost(JSON.stringify(review))]);
  return { got, answer: got.body ? JSON.parse(got.body) : undefined };
}

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const valueAt = (obj: any, path: (string | number)[]) => path.reduce((at, key) => at?.[key], obj);

test('wrong types in the envelope get 400 naming the field', async () => {
  for (const path of ENVELOPE_PATHS) {
    const expected = typeOf(valueAt(validReview(), path));
    for (const value of WRONG_VALUES.filter((v) => typeOf(v) !== expected)) {
      const { got, answer } = await postReview(reviewWith(path, value));
      assert.is(got.status, 400, `${path.join('.')} = ${JSON.stringify(value)}`);
      assert.match(answer.error, /AdmissionReview/);
    }
  }
  for (const path of OPTIONAL_ENVELOPE_PATHS) {
    for (const value of WRONG_VALUES.filter((v) => typeOf(v) !== 'string' && typeOf(v) !== 'boolean')) {
      const { got } = await postReview(reviewWith(path, value));
      assert.is(got.status, 400, `${path.join('.')} = ${JSON.stringify(value)}`);
    }
  }
  await stillServes('envelope types');
});

test('wrong types anywhere in the pod are allowed unchanged or patched validly, never an error', async () => {
  let patched = 0;
  for (const path of OBJECT_PATHS) {
    for (const value of WRONG_VALUES) {
      const review = reviewWith(path, value);
      const label = `${path.join('.')} = ${JSON.stringify(value)}`;
      const { got, answer } = await postReview(review);
      assert.is(got.status, 200, label);
      assert.is(answer.response.uid, review.request.uid, label);
      assert.is(answer.response.allowed, true, label);
      if (answer.response.patch) {
        patched++;
        const pod = applyReview(review.request.object, answer); // throws if an operation does not apply
        const again = await postReview({ ...review, request: { ...review.request, object: pod } });
        assert.is(again.answer.response.patch, undefined, `reinvocation patched again: ${label}`);
      }
    }
  }
  assert.ok(patched > 50, `only ${patched} of the wrong-type pods were injected`);
  const logs = server.logs.map((l) => JSON.parse(l));
  assert.not.ok(
    logs.some((l) => l.reason === 'internal_error'),
    'a pod shape reached the internal_error path',
  );
  await stillServes('object types');
});

test('log lines stay short whatever the size of the strings in the request', async () => {
  server.logs.length = 0;
  const huge = 'h'.repeat(1024 * 1024);
  for (const path of [
    ['request', 'uid'],
    ['request', 'namespace'],
    ['request', 'name'],
    ['request', 'operation'],
    ['request', 'object', 'metadata', 'name'],
    ['request', 'object', 'metadata', 'generateName'],
  ]) {
    await postReview(reviewWith(path, huge));
  }
  await postReview({ ...validReview(), kind: huge });
  const longest = Math.max(...server.logs.map((l) => l.length));
  assert.ok(longest < 4096, `a log line of ${longest} characters`);
});

test.run();
