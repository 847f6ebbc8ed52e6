// buildPatch hands rfc6902 only the keys that differ by identity: the patch it gives must still
// turn the raw object into the mutated one, applied by another JSON Patch implementation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyPatch, deepClone } from 'fast-json-patch';
import { buildPatch } from './patch';
import { inject } from './inject';
import { defaultConfig } from '../test/support/config';

const apply = (raw: unknown, ops: ReturnType<typeof buildPatch>) => applyPatch(deepClone(raw), deepClone(ops) as never).newDocument;

test('shared subtrees give no operation; added, replaced and removed keys do', () => {
  const shared = { big: Array.from({ length: 50 }, (_, i) => ({ i })) };
  const raw = { a: shared, b: { keep: shared, change: 1, drop: true }, list: [shared] };
  const mutated = { a: shared, b: { keep: shared, change: 2, extra: 'x' }, list: [shared, { added: true }] };
  const ops = buildPatch(raw, mutated);
  assert.equal(
    ops.map((o) => `${o.op} ${o.path}`),
    ['remove /b/drop', 'add /b/extra', 'replace /b/change', 'add /list/1'],
  );
  assert.equal(apply(raw, ops), mutated);
});

test('a "__proto__" key from JSON is diffed as an ordinary key', () => {
  const raw = JSON.parse('{"spec":{"__proto__":{"x":1},"n":1}}');
  const mutated = JSON.parse('{"spec":{"__proto__":{"x":2},"n":1,"m":2}}');
  const ops = buildPatch(raw, mutated);
  assert.equal(
    ops.map((o) => `${o.op} ${o.path}`),
    ['add /spec/m', 'replace /spec/__proto__/x'],
  );
});

test('undefined values count as absent, as rfc6902 counts them', () => {
  assert.equal(buildPatch({ a: 1, b: undefined }, { a: 1, c: undefined }), []);
});

/** A pod with n containers as the API server sends it, and what inject makes of it. */
function hugePod(n: number) {
  const containers = Array.from({ length: n }, (_, i) => ({
    name: `c${i}`,
    image: `registry.example/app:${i}`,
    env: Array.from({ length: 5 }, (_, j) => ({ name: `V${j}`, value: String(i * j) })),
    volumeMounts: [{ name: 'kube-api-access-x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'huge', namespace: 'shop', labels: { 'pandocore.xyz/protect': 'true' } },
    spec: { serviceAccountName: 'default', containers },
  };
}

for (const n of [100, 2000]) {
  test(`a pod of ${n} containers (plain rfc6902: ${n === 100 ? '52 ms' : 'out of memory'}) gets the same few operations as a small one`, () => {
    const raw = hugePod(n);
    const { pod } = inject(raw, defaultConfig);
    const ops = buildPatch(raw, pod);
    // The sidecar appended, shareProcessNamespace, the account, the status annotation.
    assert.equal(ops.map((o) => `${o.op} ${o.path}`).sort(), [
      'add /metadata/annotations',
      'add /spec/containers/' + n,
      'add /spec/shareProcessNamespace',
      'replace /spec/serviceAccountName',
    ]);
    assert.equal(apply(raw, ops), pod);
  });
}

test.run();
