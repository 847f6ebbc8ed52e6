// The CEL of the webhook's matchConditions and of the safety-net policies, as the chart renders
// them, evaluated by an independent CEL implementation (@marcbachmann/cel-js) against pods,
// including the pods the function itself produces from the fixtures. (The real API server's
// compiler and type checker see them in the e2e suite.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluate } from '@marcbachmann/cel-js';
import { admit } from '../../function/admit';
import { loadConfig } from '../../function/config';
import { sidecarContainer } from '../../function/sidecar';
import { applyReview } from '../support/apiserver';
import { defaultConfig } from '../support/config';
import { fixtureNames, readFixture } from '../support/fixtures';
import { helmAvailable, LICENSE, Obj, render } from '../support/chart';

const rendered = helmAvailable(test, 'the chart CEL expressions') ? render(LICENSE) : undefined;
const matchCondition = rendered?.find((o) => o.kind === 'MutatingWebhookConfiguration')?.webhooks[0].matchConditions[0].expression;
const policyNamed = (name: string) => rendered?.find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === name)?.spec;

/** A policy as the API server applies it: undefined when a matchCondition excludes the request,
 * else the messages of the validations that fail (variables evaluated first, in order). */
function runPolicy(spec: Obj, context: Obj): string[] | undefined {
  for (const condition of spec.matchConditions ?? []) if (evaluate(condition.expression, context) !== true) return undefined;
  const variables: Obj = {};
  for (const v of spec.variables ?? []) variables[v.name] = evaluate(v.expression, { ...context, variables });
  return spec.validations.filter((v: Obj) => evaluate(v.expression, { ...context, variables }) !== true).map((v: Obj) => v.message);
}

const callsWebhook = (pod: object) => evaluate(matchCondition, { object: pod }) as boolean;
const createProblems = (pod: object) => runPolicy(policyNamed('pando-sidecar-required'), { object: pod, request: { operation: 'CREATE' } })!;
const passesPolicy = (pod: object) => createProblems(pod).length === 0;
const updateProblems = (oldObject: object, object: object) =>
  runPolicy(policyNamed('pando-sidecar-unchanged'), { object, oldObject, request: { operation: 'UPDATE' } });

const pod = (spec: object, annotations?: object) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { 'pandocore.xyz/protect': 'true' }, ...(annotations ? { annotations } : {}) },
  spec,
});
const STATUS = { 'pandocore.xyz/status': '{"image":"ghcr.io/pandocore/pando-sidecar:1.0.0","mode":"monitor","version":"0.1.0"}' };
const app = { name: 'app', image: 'nginx' };
/** The sidecar as the webhook injects it with the chart's defaults. */
const sidecar = sidecarContainer(defaultConfig, 'monitor');
const native = sidecarContainer(loadConfig({ PANDO_SIDECAR_NATIVE: 'true' }), 'monitor');
const withImage = (image: string) => ({ ...sidecar, image });
const withLicense = (name: string, key: string) => ({
  ...sidecar,
  env: sidecar.env.map((e) => (e.name === 'PANDO_LICENSE_KEY' ? { name: e.name, valueFrom: { secretKeyRef: { name, key } } } : e)),
});

if (rendered) {
  test('a pod without the sidecar: the webhook is called, the policy flags it', () => {
    assert.is(callsWebhook(pod({ containers: [app] })), true);
    assert.is(passesPolicy(pod({ containers: [app] })), false);
    assert.is(passesPolicy(pod({ containers: [app], initContainers: [{ name: 'init', image: 'busybox' }] })), false);
  });

  test('a pod with our sidecar (container or native sidecar, and the status annotation): no call, the policy passes', () => {
    for (const spec of [{ containers: [app, sidecar] }, { containers: [app], initContainers: [native] }]) {
      assert.is(callsWebhook(pod(spec, STATUS)), false);
      assert.is(passesPolicy(pod(spec, STATUS)), true);
    }
  });

  test('a pando-sidecar container without the status annotation is not ours: the webhook is called (and warns)', () => {
    assert.is(callsWebhook(pod({ containers: [app, sidecar] })), true);
    assert.is(callsWebhook(pod({ containers: [app, sidecar] }, { other: 'x' })), true);
    assert.is(callsWebhook(pod({ containers: [app] }, STATUS)), true, 'the annotation alone is no sidecar');
  });

  test('our status annotation beside a pando-sidecar of another image or license skips neither the webhook nor the policy', () => {
    const impostors = [
      withImage('registry.example/not-pando:1'),
      { name: 'pando-sidecar', image: 'ghcr.io/pandocore/pando-sidecar:1.0.0' },
      withLicense('someone-else', 'license-key'),
      withLicense('pando-license', 'other-key'),
    ];
    for (const impostor of impostors) {
      const faked = pod({ containers: [app, impostor] }, STATUS);
      assert.is(callsWebhook(faked), true, JSON.stringify(impostor));
      assert.equal(createProblems(faked).length, 1, JSON.stringify(impostor));
      assert.match(createProblems(faked)[0], /did not inject: it must be one container of image ghcr.io\/pandocore\/pando-sidecar:1.0.0/);
    }
    assert.equal(createProblems(pod({ containers: [app, sidecar, sidecar] }, STATUS)).length, 1, 'two sidecars');
  });

  test('UPDATE: changing or removing an injected sidecar is refused; other changes and older images are not', () => {
    const injected = pod({ containers: [app, sidecar] }, STATUS);
    const relabelled = { ...injected, metadata: { ...injected.metadata, labels: { other: 'x' } } };
    assert.equal(updateProblems(injected, relabelled), [], 'labels may change, even the protect label');
    const swapped = pod({ containers: [app, withImage('registry.example/evil:1')] }, STATUS);
    assert.equal(updateProblems(injected, swapped), ['the pando-sidecar container of a pod may not be changed or removed after admission']);
    assert.equal(updateProblems(relabelled, { ...swapped, metadata: relabelled.metadata })!.length, 1, 'not even once unlabelled');
    assert.equal(updateProblems(injected, pod({ containers: [app] }, STATUS))!.length, 1, 'removed');
    const nativeInjected = pod({ containers: [app], initContainers: [native] }, STATUS);
    assert.equal(updateProblems(nativeInjected, pod({ containers: [app], initContainers: [{ ...native, image: 'x:1' }] }, STATUS))!.length, 1);
    // Injected before an upgrade that changed the configured image: left as it is.
    const older = pod({ containers: [app, withImage('ghcr.io/pandocore/pando-sidecar:0.9.0')] }, STATUS);
    assert.equal(updateProblems(older, { ...older, metadata: { ...older.metadata, annotations: { ...STATUS, note: 'x' } } }), []);
    assert.is(
      updateProblems(pod({ containers: [app] }), pod({ containers: [{ ...app, image: 'nginx:2' }] })),
      undefined,
      'pods without a sidecar are not looked at',
    );
  });

  test('a Windows pod, which the webhook skips on purpose, passes the policy', () => {
    assert.is(passesPolicy(pod({ os: { name: 'windows' }, containers: [app] })), true);
    assert.is(passesPolicy(pod({ os: { name: 'linux' }, containers: [app] })), false);
  });

  test('every pod the function injects passes the policy (both sidecar shapes); every pod it leaves alone is flagged, Windows aside', () => {
    let injected = 0;
    for (const [name, config] of fixtureNames().flatMap(
      (n) =>
        [
          [n, defaultConfig],
          [n, loadConfig({ PANDO_SIDECAR_NATIVE: 'true' })],
        ] as const,
    )) {
      const request = readFixture(name);
      const object = request.request?.object;
      if (
        request.request?.kind?.kind !== 'Pod' ||
        request.request?.operation !== 'CREATE' ||
        request.request?.subResource ||
        !Array.isArray(object?.spec?.containers)
      )
        continue;
      const result = admit(request, config);
      assert.ok(result.ok, name);
      if (!result.ok) continue;
      const after = applyReview(object, result.review);
      const sidecars = [...after.spec.containers, ...(after.spec.initContainers ?? [])].filter((c: Obj) => c.name === 'pando-sidecar');
      const hasSidecar = sidecars.length > 0;
      // Ours: the configured image with the license from the configured Secret key (foreign-sidecar is not).
      const ourSidecar =
        sidecars.length === 1 &&
        sidecars[0].image === config.sidecarImage &&
        (sidecars[0].env ?? []).some(
          (e: Obj) =>
            e.name === 'PANDO_LICENSE_KEY' &&
            e.valueFrom?.secretKeyRef?.name === config.licenseSecret.name &&
            e.valueFrom?.secretKeyRef?.key === config.licenseSecret.key,
        );
      const annotated = after.metadata.annotations?.['pandocore.xyz/status'] !== undefined;
      if (ourSidecar) injected++;
      const windows = after.spec.os?.name === 'windows';
      assert.is(passesPolicy(after), ourSidecar || windows, name);
      assert.is(callsWebhook(after), !(ourSidecar && annotated), name);
      if (hasSidecar) assert.equal(updateProblems(after, after), [], `${name}: an UPDATE that leaves the sidecar alone`);
    }
    assert.ok(injected >= 20, `only ${injected} fixture pods injected (both shapes)`);
  });
}

test.run();
