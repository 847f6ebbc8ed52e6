// The install as the real API server stored it: every object accepted, the CEL of the webhook's
// matchConditions and of the policy compiled and type-checked. The chart's default (platform
// knative): its Knative Service kept whole by Knative's own CRD schema (a server-side dry run; no
// Knative controller or webhook runs here: knative-release.test.ts installs on Knative itself).
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helm, helmOk, kubectl, kubectlOk, parseDocuments } from '../harness/kubeconfig';
import { CHART, helmInstall, installedDocuments, LOCAL_LICENSE, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { waitForWebhook } from '../harness/webhook';
import { REPO } from '../harness/tools';
import { api, cluster, type Obj } from './context';

const docs = installedDocuments(cluster);
/** The default install, platform knative, as `helm template` renders it. */
const knativeDocs = parseDocuments(helmOk(cluster, ['template', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--set', `licenseKey=${LOCAL_LICENSE}`]));
const knativeServices = knativeDocs.filter((d) => d.apiVersion === 'serving.knative.dev/v1' && d.kind === 'Service');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('every object of the Helm release is stored', () => {
  const names = kubectlOk(cluster, ['get', '-f', '-', '-o', 'name'], docs.map((d) => JSON.stringify(d)).join('\n---\n'))
    .trim()
    .split('\n');
  assert.is(names.length, docs.length);
  assert.ok(docs.length >= 15, `${docs.length} objects`);
});

test('the committed manifests/install.yaml (helm template output) is accepted as is by the API server', () => {
  const run = kubectl(cluster, ['apply', '--dry-run=server', '-f', join(REPO, 'manifests', 'install.yaml')]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /mutatingwebhookconfiguration.admissionregistration.k8s.io\/pando-webhook/);
});

/** Paths of `sent` that `stored` lacks or holds another value at (what a schema pruned or changed). */
function lost(sent: unknown, stored: unknown, path = ''): string[] {
  if (sent === null || typeof sent !== 'object') return sent === stored ? [] : [path];
  if (stored === null || typeof stored !== 'object') return [path];
  return Object.entries(sent).flatMap(([key, value]) => lost(value, (stored as Obj)[key], `${path}.${key}`));
}

test("the Knative Service is stored whole: Knative's CRD schema pruned nothing, and only added its defaults", () => {
  const [sent] = knativeServices;
  const stored = JSON.parse(kubectlOk(cluster, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(sent)));
  assert.equal(lost(sent.spec, stored.spec), []);
  // The schema's one default here: a port's protocol.
  assert.equal(lost(stored.spec, sent.spec), ['.template.spec.containers.0.ports.0.protocol']);
});

test('the webhook configuration carries the caBundle and the failure-safe settings', async () => {
  const mwc = (await api.get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pando-webhook')).body;
  const hook = mwc.webhooks[0];
  assert.ok(hook.clientConfig.caBundle?.length > 100, 'caBundle written by the TLS setup');
  assert.equal(hook.clientConfig.service, { namespace: 'pando-system', name: 'pando-webhook-https', port: 443, path: '/' });
  assert.is(hook.failurePolicy, 'Ignore');
  assert.is(hook.sideEffects, 'None');
  assert.is(hook.matchConditions[0].name, 'not-injected-yet');
});

test('the API server compiles matchConditions: a broken expression is refused', () => {
  const mwc = structuredClone(docs.find((d) => d.kind === 'MutatingWebhookConfiguration') as Obj);
  mwc.metadata.name = 'pando-webhook-broken';
  mwc.webhooks[0].matchConditions[0].expression = 'object.spec.containers.exists(c, c.name ==)';
  const run = kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(mwc));
  assert.is(run.code, 1);
  assert.match(run.stderr, /matchConditions\[0\]\.expression.*compilation failed/);
});

test('with webhook.skipInjected=false the webhook configuration has no matchConditions, and the API server accepts it', () => {
  const rendered = parseDocuments(
    helmOk(cluster, ['template', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--set', `licenseKey=${LOCAL_LICENSE}`, '--set', 'webhook.skipInjected=false']),
  );
  const mwc = rendered.find((d) => d.kind === 'MutatingWebhookConfiguration') as Obj;
  mwc.metadata.name = 'pando-webhook-no-skip';
  const run = kubectl(cluster, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(mwc));
  assert.is(run.code, 0, run.stderr);
  const stored = JSON.parse(run.stdout);
  assert.ok(stored.webhooks.length >= 1);
  assert.ok(stored.webhooks.every((hook: Obj) => (hook.matchConditions ?? []).length === 0));
});

test('the safety-net policy type-checks with no warning', async () => {
  let policy: Obj = {};
  for (let i = 0; i < 50 && !policy.status?.typeChecking; i++) {
    policy = (await api.get('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/pando-sidecar-required')).body;
    if (!policy.status?.typeChecking) await sleep(200);
  }
  assert.ok(policy.status?.typeChecking, 'the API server type-checked the policy');
  assert.equal(policy.status.typeChecking.expressionWarnings ?? [], []);
});

test('the type checker does report a policy expression of the wrong type (the check above can fail)', async () => {
  const policy = structuredClone(docs.find((d) => d.kind === 'ValidatingAdmissionPolicy') as Obj);
  policy.metadata.name = 'pando-typecheck-probe';
  policy.spec.validations[0].expression = 'object.spec.containers.exists(c, c.name == 7)';
  kubectlOk(cluster, ['apply', '-f', '-'], JSON.stringify(policy));
  let stored: Obj = {};
  for (let i = 0; i < 50 && !stored.status?.typeChecking; i++) {
    stored = (await api.get('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/pando-typecheck-probe')).body;
    if (!stored.status?.typeChecking) await sleep(200);
  }
  kubectlOk(cluster, ['delete', 'validatingadmissionpolicy', 'pando-typecheck-probe']);
  assert.ok((stored.status?.typeChecking?.expressionWarnings ?? []).length > 0, JSON.stringify(stored.status));
});

test("the seed's upgrade and troubleshooting commands work verbatim (the chart from this checkout, not a registry)", () => {
  const upgrade = helm(cluster, ['upgrade', 'pando-webhook', CHART, '--namespace', 'pando-system', '--set', `licenseKey=${LOCAL_LICENSE}`]);
  assert.is(upgrade.code, 0, upgrade.stderr);
  const values = helm(cluster, ['get', 'values', 'pando-webhook', '-n', 'pando-system']);
  assert.is(values.code, 0, values.stderr);
  assert.match(values.stdout, new RegExp(`licenseKey: ${LOCAL_LICENSE}`));
});

test.after(async () => {
  // Without --reuse-values that upgrade reset the release to the chart's defaults (platform
  // knative, the upstream image): the local cluster's install back, as up made it.
  helmInstall(cluster);
  await waitForWebhook(cluster);
});

test.run();
