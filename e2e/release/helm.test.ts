// The Helm lifecycle on a cluster of its own (run after the main one is down: one node per
// machine), with the safety net denying and the sidecar as a regular container
// (sidecar.native=false): install, get values, upgrade the sidecar image, rollback, enable a
// namespace by upgrade, and an uninstall during which no labelled pod is refused and after which no
// cluster object is left. The webhook runs as pods on the node; the pods made here are only stored.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiClient, type Api } from '../harness/api';
import { down, up } from '../harness/cluster';
import { helmOk, kubectlOk, toolEnv } from '../harness/kubeconfig';
import { ensureNamespace, keepOffNode } from '../harness/namespaces';
import { installedDocuments, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { type ClusterState } from '../harness/state';
import { helmUpgrade, waitForWebhook, webhookPods } from '../harness/webhook';
import { waitFor } from '../harness/processes';
import { REPO } from '../harness/tools';
import { readFileSync } from 'node:fs';
import { containersNamed, PROTECT, simplePod, unique, type Obj } from '../suite/pods';
import { assertInjected, assertUntouched } from '../suite/checks';

const dir = mkdtempSync(join(tmpdir(), 'pando-e2e-helm-'));
const NEXT = 'registry.example/pando-sidecar:next';
let state: ClusterState;
let api: Api;
const sidecarImage = (pod: Obj) => containersNamed(pod, 'pando-sidecar')[0]?.image;
const create = async (namespace: string, pod: Obj) => api.post(`/api/v1/namespaces/${namespace}/pods`, pod);
const firstPods: Obj[] = [];

test.before(async () => {
  state = await up({ dir, helmSet: ['safetyNet.deny=true', 'sidecar.native=false'] });
  keepOffNode(state, 'pando-demo');
  api = apiClient({ server: state.server, token: state.adminToken, ca: readFileSync(state.caFile, 'utf8') });
});

test.after(async () => {
  api?.close();
  await down(dir);
});

test('helm install: every object created, the Deployment variant serves, a labelled pod is injected', async () => {
  const docs = installedDocuments(state);
  const names = kubectlOk(state, ['get', '-f', '-', '-o', 'name'], docs.map((d) => JSON.stringify(d)).join('\n---\n'))
    .trim()
    .split('\n');
  assert.is(names.length, docs.length);
  assert.ok(names.includes('deployment.apps/pando-webhook') && names.includes('poddisruptionbudget.policy/pando-webhook'), names.join(' '));
  assert.match(helmOk(state, ['status', RELEASE, '-n', SYSTEM_NAMESPACE]), /STATUS: deployed/);
  const answer = await create('pando-demo', simplePod(unique('first')));
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertInjected(answer.body);
  assert.is(sidecarImage(answer.body), 'ghcr.io/pandocore/pando-sidecar:1.0.0');
  assert.equal(answer.body.spec.initContainers, undefined, 'sidecar.native=false: a regular container');
  firstPods.push(answer.body);
});

test('regular sidecar: a pod with pod-level resources is accepted, the sidecar counted in them', async () => {
  const pod = simplePod(unique('pod-resources'));
  pod.spec.resources = { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '500m', memory: '200Mi' } };
  pod.spec.containers[0].resources = { requests: { cpu: '100m', memory: '100Mi' } };
  const answer = await create('pando-demo', pod);
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 400));
  assertInjected(answer.body);
  assert.is(answer.body.spec.containers.at(-1).name, 'pando-sidecar');
  assert.equal(answer.body.spec.resources, { requests: { cpu: '150m', memory: '164Mi' }, limits: { cpu: '700m', memory: '328Mi' } });
});

test('helm get values shows what the user set', () => {
  const values = helmOk(state, ['get', 'values', RELEASE, '-n', SYSTEM_NAMESPACE]);
  assert.match(values, /USER-SUPPLIED VALUES/);
  assert.match(values, /platform: deployment/);
  assert.match(values, /deny: true/);
  assert.match(values, /licenseKey: /);
});

test('helm upgrade --set sidecar.image with safetyNet.deny: no pod refused during the rollout; new pods get it, existing pods keep theirs, task outdated lists them', async () => {
  // Pods created while old and new webhook pods both serve: the policy accepts either image.
  const during: number[] = [];
  let upgrading = true;
  const creating = (async () => {
    while (upgrading) {
      during.push((await create('pando-demo', simplePod(unique('rolling')))).status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    await helmUpgrade(state, [`sidecar.image=${NEXT}`]); // and the Deployment's rollout
  } finally {
    upgrading = false;
    await creating;
  }
  assert.ok(during.length >= 10, `${during.length} pods created during the upgrade`);
  assert.equal([...new Set(during)], [201], `answers: ${during.join(',')}`);
  const answer = await create('pando-demo', simplePod(unique('next')));
  assert.is(answer.status, 201);
  assert.is(sidecarImage(answer.body), NEXT);
  const old = (await api.get(`/api/v1/namespaces/pando-demo/pods/${firstPods[0].metadata.name}`)).body;
  assert.is(sidecarImage(old), 'ghcr.io/pandocore/pando-sidecar:1.0.0');
  const outdated = spawnSync(join(state.tools, 'task'), ['--dir', REPO, 'outdated'], { encoding: 'utf8', env: toolEnv(state) });
  assert.is(outdated.status, 0, outdated.stderr);
  assert.match(outdated.stdout, new RegExp(`configured sidecar image: ${NEXT}`));
  assert.match(outdated.stdout, new RegExp(`pando-demo +${firstPods[0].metadata.name} +ghcr.io/pandocore/pando-sidecar:1.0.0 +monitor +no`));
  assert.match(outdated.stdout, new RegExp(`pando-demo +${answer.body.metadata.name} +${NEXT} +monitor +yes`));
});

test('helm rollback returns to the previous sidecar image', async () => {
  helmOk(state, ['rollback', RELEASE, '-n', SYSTEM_NAMESPACE]);
  await waitForWebhook(state);
  const answer = await create('pando-demo', simplePod(unique('back')));
  assert.is(answer.status, 201);
  assert.is(sidecarImage(answer.body), 'ghcr.io/pandocore/pando-sidecar:1.0.0');
  assert.match(helmOk(state, ['history', RELEASE, '-n', SYSTEM_NAMESPACE]), /Rollback to 1/);
});

test('helm upgrade --set namespaces={team-a} enables a namespace without touching its labels', async () => {
  ensureNamespace(state, 'team-a');
  keepOffNode(state, 'team-a');
  const before = await create('team-a', simplePod(unique('before')));
  assert.is(before.status, 422, 'the safety net denies: team-a is not enabled yet');
  await helmUpgrade(state, ['namespaces={team-a}']);
  const webhooks = (await api.get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pando-webhook')).body.webhooks;
  assert.ok(
    webhooks.every((w: Obj) => w.clientConfig.caBundle),
    'the new Job gave every webhook the caBundle',
  );
  const answer = await create('team-a', simplePod(unique('team')));
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertInjected(answer.body);
  const namespace = (await api.get('/api/v1/namespaces/team-a')).body;
  assert.is(namespace.metadata.labels['pandocore.xyz/enabled'], undefined);
});

test('helm uninstall: no labelled pod is refused while it runs, and no cluster-scoped object is left', async () => {
  const answers: number[] = [];
  let running = true;
  const creating = (async () => {
    while (running) answers.push((await create('pando-demo', simplePod(unique('during')))).status);
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const code = await new Promise<number>((resolve) => {
    spawn(join(state.tools, 'helm'), ['uninstall', RELEASE, '-n', SYSTEM_NAMESPACE, '--wait'], { env: toolEnv(state), stdio: 'ignore' }).on('close', (status) =>
      resolve(status ?? 1),
    );
  });
  await waitFor('the webhook pods gone with the Deployment', async () => webhookPods(state).length === 0, 120_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  running = false;
  await creating;
  assert.is(code, 0);
  assert.ok(answers.length >= 10, `${answers.length} pods created during the uninstall`);
  assert.equal([...new Set(answers)], [201], `answers: ${answers.join(',')}`);
  const left = kubectlOk(state, [
    'get',
    'mutatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings,clusterroles,clusterrolebindings',
    '-l',
    'app.kubernetes.io/name=pando-webhook',
    '-o',
    'name',
  ]);
  assert.is(left.trim(), '');
  const after = await create('pando-demo', simplePod(unique('after'), PROTECT));
  assert.is(after.status, 201);
  assertUntouched(after.body);
  assert.equal(after.warnings, []);
});

test.run();
