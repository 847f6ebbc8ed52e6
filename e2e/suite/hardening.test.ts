// The hardening through the real API server: admissions flow with the chart's NetworkPolicy
// installed (the local bridge CNI enforces none: the policy's selectors and ports are checked in
// test/chart/hardening.test.ts), the UPDATE guard refuses a sidecar swap, a pod carrying our
// status annotation beside a sidecar of its own is flagged, and the policies type-check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { api, containersNamed, createPod, enabledNamespace, podsPath, simplePod, storedPod, unique, type Obj } from './context';
import { assertInjected } from './checks';

const namespace = enabledNamespace('e2e-hardening');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('the NetworkPolicy is installed, and labelled pods are injected with it in place', async () => {
  const policy = (await api.get('/apis/networking.k8s.io/v1/namespaces/pando-system/networkpolicies/pando-webhook')).body;
  assert.equal(policy.spec.policyTypes, ['Ingress', 'Egress']);
  const answer = await createPod(namespace, simplePod(unique('netpol')));
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertInjected(answer.body);
});

/**
 * PUT of the stored pod with its sidecar's image swapped, read again after a 409: the scheduler
 * writes the pending pod's status (Unschedulable) at any moment, as kubectl edit would meet it.
 */
async function putSwapped(name: string, field: string) {
  for (let attempt = 0; ; attempt++) {
    const swapped = structuredClone(await storedPod(namespace, name));
    swapped.spec[field] = swapped.spec[field].map((c: Obj) => (c.name === 'pando-sidecar' ? { ...c, image: 'registry.example/not-pando:1' } : c));
    const answer = await api.put(`${podsPath(namespace)}/${name}`, swapped);
    if (answer.status !== 409 || attempt === 10) return answer;
  }
}

test('an UPDATE that swaps the injected sidecar image is refused; one that leaves it alone is not', async () => {
  const name = unique('swap');
  assert.is((await createPod(namespace, simplePod(name))).status, 201);
  const pod = await storedPod(namespace, name);
  const [sidecar] = containersNamed(pod, 'pando-sidecar');
  const field = pod.spec.initContainers?.some((c: Obj) => c.name === 'pando-sidecar') ? 'initContainers' : 'containers';
  const refused = await putSwapped(name, field);
  assert.is(refused.status, 403, JSON.stringify(refused.body).slice(0, 400));
  assert.match(refused.body.message, /pando-sidecar-unchanged.*may not be changed or removed/);
  const relabelled = await api.mergePatch(`${podsPath(namespace)}/${name}`, { metadata: { labels: { 'pandocore.xyz/protect': null, other: 'x' } } });
  assert.is(relabelled.status, 200, JSON.stringify(relabelled.body).slice(0, 400));
  assert.is((await putSwapped(name, field)).status, 403, 'not even once the protect label is gone');
  assert.is(containersNamed(await storedPod(namespace, name), 'pando-sidecar')[0].image, sidecar.image);
});

test('our status annotation beside a pando-sidecar of another image: the webhook is not skipped and the safety net flags it', async () => {
  const pod = simplePod(unique('impostor'), undefined, {
    'pandocore.xyz/status': '{"image":"ghcr.io/pandocore/pando-sidecar:1.0.0","mode":"monitor","version":"0.1.0"}',
  });
  pod.spec.containers.push({ name: 'pando-sidecar', image: 'registry.example/not-pando:1' });
  const answer = await createPod(namespace, pod);
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assert.ok(
    answer.warnings.some((w) => /has a pando-sidecar that pando-webhook did not inject/.test(w)),
    answer.warnings.join('\n'),
  );
});

test('the chart policies type-check with no warning', async () => {
  for (const name of ['pando-sidecar-required', 'pando-sidecar-unchanged', 'pando-webhook-tls-setup-cabundle-only']) {
    let policy: Obj = {};
    for (let i = 0; i < 50 && !policy.status?.typeChecking; i++) {
      policy = (await api.get(`/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`)).body;
      if (!policy.status?.typeChecking) await sleep(200);
    }
    assert.ok(policy.status?.typeChecking, `${name}: type-checked`);
    assert.equal(policy.status.typeChecking.expressionWarnings ?? [], [], name);
  }
});

test.run();
