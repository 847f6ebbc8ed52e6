// The CEL of the webhook's matchConditions and of the safety-net policy, as the chart renders
// them, evaluated by an independent CEL implementation (@marcbachmann/cel-js) against pods,
// including the pods the function itself produces from the fixtures. (The real API server's
// compiler and type checker see them in the e2e suite.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluate } from '@marcbachmann/cel-js';
import { admit } from '../../function/admit';
import { applyReview } from '../support/apiserver';
import { defaultConfig } from '../support/config';
import { fixtureNames, readFixture } from '../support/fixtures';
import { helmAvailable, LICENSE, render } from '../support/chart';

const rendered = helmAvailable(test, 'the chart CEL expressions') ? render(LICENSE) : undefined;
const matchCondition = rendered?.find((o) => o.kind === 'MutatingWebhookConfiguration')?.webhooks[0].matchConditions[0].expression;
const validation = rendered?.find((o) => o.kind === 'ValidatingAdmissionPolicy')?.spec.validations[0].expression;

const callsWebhook = (pod: object) => evaluate(matchCondition, { object: pod }) as boolean;
const passesPolicy = (pod: object) => evaluate(validation, { object: pod }) as boolean;

const pod = (spec: object, annotations?: object) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { 'pandocore.xyz/protect': 'true' }, ...(annotations ? { annotations } : {}) },
  spec,
});
const STATUS = { 'pandocore.xyz/status': '{"image":"ghcr.io/pandocore/pando-sidecar:1.0.0","mode":"monitor","version":"0.1.0"}' };
const app = { name: 'app', image: 'nginx' };
const sidecar = { name: 'pando-sidecar', image: 'ghcr.io/pandocore/pando-sidecar:1.0.0' };

if (rendered) {
  test('a pod without the sidecar: the webhook is called, the policy flags it', () => {
    assert.is(callsWebhook(pod({ containers: [app] })), true);
    assert.is(passesPolicy(pod({ containers: [app] })), false);
    assert.is(passesPolicy(pod({ containers: [app], initContainers: [{ name: 'init', image: 'busybox' }] })), false);
  });

  test('a pod with our sidecar (container or native sidecar, and the status annotation): no call, the policy passes', () => {
    for (const spec of [{ containers: [app, sidecar] }, { containers: [app], initContainers: [{ ...sidecar, restartPolicy: 'Always' }] }]) {
      assert.is(callsWebhook(pod(spec, STATUS)), false);
      assert.is(passesPolicy(pod(spec, STATUS)), true);
    }
  });

  test('a pando-sidecar container without the status annotation is not ours: the webhook is called (and warns)', () => {
    assert.is(callsWebhook(pod({ containers: [app, sidecar] })), true);
    assert.is(callsWebhook(pod({ containers: [app, sidecar] }, { other: 'x' })), true);
    assert.is(callsWebhook(pod({ containers: [app] }, STATUS)), true, 'the annotation alone is no sidecar');
  });

  test('a Windows pod, which the webhook skips on purpose, passes the policy', () => {
    assert.is(passesPolicy(pod({ os: { name: 'windows' }, containers: [app] })), true);
    assert.is(passesPolicy(pod({ os: { name: 'linux' }, containers: [app] })), false);
  });

  test('every pod the function injects passes the policy; every pod it leaves alone is flagged, Windows aside', () => {
    let injected = 0;
    for (const name of fixtureNames()) {
      const request = readFixture(name);
      const object = request.request?.object;
      if (
        request.request?.kind?.kind !== 'Pod' ||
        request.request?.operation !== 'CREATE' ||
        request.request?.subResource ||
        !Array.isArray(object?.spec?.containers)
      )
        continue;
      const result = admit(request, defaultConfig);
      assert.ok(result.ok, name);
      if (!result.ok) continue;
      const after = applyReview(object, result.review);
      const hasSidecar = after.spec.containers.some((c: { name: string }) => c.name === 'pando-sidecar');
      const ours = after.metadata.annotations?.['pandocore.xyz/status'] !== undefined;
      if (hasSidecar) injected++;
      const windows = after.spec.os?.name === 'windows';
      assert.is(passesPolicy(after), hasSidecar || windows, name);
      assert.is(callsWebhook(after), !(hasSidecar && ours), name);
    }
    assert.ok(injected >= 10, `only ${injected} fixtures injected`);
  });
}

test.run();
