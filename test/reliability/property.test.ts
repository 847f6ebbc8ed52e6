// Property tests: generated pods of any shape never crash the handler, always get a well-formed
// answer, never two sidecars, never an inline license. Seeded, so a failure reproduces.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from '../../function/admit';
import { admittedPod, applyReview, podProblems, reviewFor } from '../support/apiserver';
import { defaultConfig } from '../support/config';

type Obj = Record<string, any>;
const SEED = 20261126;
const RUNS = 500;

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/);
const container = fc.record({
  name,
  image: fc.constantFrom('nginx:1.27', 'registry.example.com/app@sha256:' + 'b'.repeat(64), 'busybox'),
  env: fc.option(fc.array(fc.record({ name: fc.stringMatching(/^[A-Z_]{1,12}$/), value: fc.string() }), { maxLength: 4 }), { nil: undefined }),
}, { requiredKeys: ['name', 'image'] });

const pod = fc.record({
  labels: fc.dictionary(fc.constantFrom('app', 'pandocore.xyz/protect', 'tier'), fc.constantFrom('true', 'false', 'True', '')),
  annotations: fc.option(fc.dictionary(fc.constantFrom('pandocore.xyz/mode', 'a/b~c', 'note'), fc.string()), { nil: undefined }),
  containers: fc.uniqueArray(container, { minLength: 1, maxLength: 4, selector: (c) => c.name }),
  hostPID: fc.boolean(),
  hostNetwork: fc.boolean(),
  serviceAccountName: fc.constantFrom(undefined, '', 'default', 'pando-sidecar', 'app-sa'),
  automount: fc.boolean(),
  restartPolicy: fc.constantFrom('Always', 'OnFailure', 'Never'),
}).map((p) => admittedPod({
  metadata: { generateName: 'gen-', labels: p.labels, ...(p.annotations ? { annotations: p.annotations } : {}) },
  spec: {
    containers: p.containers, hostPID: p.hostPID, hostNetwork: p.hostNetwork, restartPolicy: p.restartPolicy,
    ...(p.serviceAccountName !== undefined ? { serviceAccountName: p.serviceAccountName } : {}),
    ...(p.automount ? {} : { automountServiceAccountToken: false }),
  },
}, 'shop'));

/** A pod with any JSON value swapped in somewhere: the shapes nobody writes on purpose. */
const oddPod = fc.tuple(pod, fc.constantFrom('', 'metadata', 'metadata.labels', 'metadata.annotations', 'spec', 'spec.containers', 'spec.containers.0', 'spec.containers.0.volumeMounts', 'spec.serviceAccountName', 'spec.hostPID'), fc.jsonValue())
  .map(([p, path, value]) => {
    if (path === '') return value;
    const keys = path.split('.');
    let node: any = p;
    for (const k of keys.slice(0, -1)) node = node?.[k];
    if (node && typeof node === 'object') node[keys[keys.length - 1]] = value;
    return p;
  });

const sidecarCount = (p: Obj) => ['initContainers', 'containers'].flatMap((k) => (Array.isArray(p?.spec?.[k]) ? p.spec[k] : [])).filter((c: Obj) => c?.name === 'pando-sidecar').length;

function checkAnswer(object: unknown) {
  const review = reviewFor(object as Obj, { uid: 'prop-uid' });
  const result = admit(review, defaultConfig);
  assert.ok(result.ok);
  if (!result.ok) return undefined;
  // admit() turns an exception into an allowed answer; here that would be a crash we missed.
  assert.is.not(result.record.reason, 'internal_error', result.record.detail);
  const { response } = result.review;
  assert.is(response.uid, 'prop-uid');
  assert.is(response.allowed, true);
  assert.is(response.patch === undefined, response.patchType === undefined);
  for (const w of response.warnings ?? []) {
    assert.ok(w.startsWith('pandocore: ') && w.length <= 120 && !/[\u0000-\u001f\u007f]/.test(w), w);
  }
  return result;
}

test('realistic generated pods: valid patch, one sidecar, license by reference, stable on reinvocation', () => {
  fc.assert(fc.property(pod, (p) => {
    const result = checkAnswer(p)!;
    const patched = applyReview(p, result.review);
    assert.is(podProblems(patched), undefined);
    const injected = result.record.decision === 'inject';
    assert.is(sidecarCount(patched), injected ? 1 : 0);
    assert.is(injected, p.metadata.labels?.['pandocore.xyz/protect'] === 'true');
    if (injected) {
      const sidecar = patched.spec.containers.at(-1);
      const license = sidecar.env.find((e: Obj) => e.name === 'PANDO_LICENSE_KEY');
      assert.is(license.value, undefined);
      assert.equal(license.valueFrom, { secretKeyRef: { name: 'pando-license', key: 'license-key' } });
      assert.is(checkAnswer(patched)!.review.response.patch, undefined);
    }
  }), { seed: SEED, numRuns: RUNS });
});

test('pods of any shape never crash and never get two sidecars', () => {
  fc.assert(fc.property(oddPod, (p) => {
    const result = checkAnswer(p)!;
    if (result.review.response.patch === undefined) return;
    const patched = applyReview(p as Obj, result.review);
    assert.is(sidecarCount(patched), 1);
  }), { seed: SEED, numRuns: RUNS });
});

test.run();
