// When the webhook is down: pods are still created (failurePolicy Ignore), the safety-net policy
// warns, and with safetyNet.deny=true it refuses them instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helmUpgrade, startWebhook, stopWebhook } from '../harness/webhook';
import { api, cluster, createPod, simplePod, unique } from './context';
import { assertInjected, assertUntouched } from './checks';

const demo = 'pando-demo';
/** helm upgrade --reuse-values --set safetyNet.deny=..., as an operator switches it. */
const safetyNet = (deny: boolean) => helmUpgrade(cluster, [`safetyNet.deny=${deny}`]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.after(async () => {
  await safetyNet(false);
  await startWebhook(cluster);
  // The API server takes the binding back to Warn within seconds: wait for it, so the suites after
  // this one meet the default. A dry-run pod with a sidecar not of ours is refused only by Deny.
  const impostor = simplePod(unique('settled'), undefined, { 'pandocore.xyz/status': '{"image":"x"}' });
  impostor.spec.containers.push({ name: 'pando-sidecar', image: 'registry.example/not-pando:1' });
  for (let i = 0; i < 100; i++) {
    if ((await api.post(`/api/v1/namespaces/${demo}/pods?dryRun=All`, impostor)).status !== 422) return;
    await sleep(200);
  }
  throw new Error('the safety net still denies 20 s after helm upgrade --set safetyNet.deny=false');
});

test('with the webhook stopped, a labelled pod is still created, without a sidecar, and the policy warns', async () => {
  await stopWebhook(cluster);
  const answer = await createPod(demo, simplePod(unique('unserved')));
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertUntouched(answer.body);
  assert.ok(
    answer.warnings.some((w) => /has no pando-sidecar container/.test(w)),
    `warnings: ${answer.warnings.join(' | ')}`,
  );
});

test('with helm upgrade --set safetyNet.deny=true and the webhook stopped, a labelled pod is refused with the reason', async () => {
  await safetyNet(true);
  // The upgrade scaled the webhook back to the release's replicas, as Helm does.
  await stopWebhook(cluster);
  // The API server picks up a binding change within seconds.
  let answer = await createPod(demo, simplePod(unique('denied')));
  for (let i = 0; i < 50 && answer.status === 201; i++) {
    await sleep(200);
    answer = await createPod(demo, simplePod(unique('denied')));
  }
  assert.is(answer.status, 422, JSON.stringify(answer.body).slice(0, 300));
  assert.match(answer.body.message, /pando-sidecar-required.*has no pando-sidecar container/);
  const unlabelled = await createPod(demo, simplePod(unique('free'), {}));
  assert.is(unlabelled.status, 201, 'unlabelled pods are never denied');
});

test('with safetyNet.deny=true and the webhook back, labelled pods are injected and admitted', async () => {
  await startWebhook(cluster);
  const answer = await createPod(demo, simplePod(unique('served')));
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertInjected(answer.body);
});

test.run();
