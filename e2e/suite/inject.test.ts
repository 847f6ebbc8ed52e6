// The webhook through the real API server: the README's kubectl lines, modes, skips, dry-run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectl, kubectlOk } from '../harness/kubeconfig';
import { api, cluster, createPod, enabledNamespace, plainNamespace, PROTECT, simplePod, storedPod, unique, type Obj } from './context';
import { assertInjected, assertUntouched } from './checks';

const demo = 'pando-demo';

test('kubectl run with the protect label, as the README shows, stores the pod with its sidecar', () => {
  const name = unique('demo');
  kubectlOk(cluster, ['-n', demo, 'run', name, '--image=nginx', '--labels=pandocore.xyz/protect=true']);
  const pod = JSON.parse(kubectlOk(cluster, ['-n', demo, 'get', 'pod', name, '-o', 'json']));
  assertInjected(pod);
  // The local cluster is 1.37, where sidecar.native=auto is on: a native sidecar.
  assert.equal(
    pod.spec.containers.map((c: Obj) => c.name),
    [name],
  );
  assert.equal(
    pod.spec.initContainers.map((c: Obj) => [c.name, c.restartPolicy]),
    [['pando-sidecar', 'Always']],
  );
});

test('native sidecar: a pod with pod-level resources is accepted, the sidecar counted in them', async () => {
  const name = unique('pod-resources');
  const pod = simplePod(name);
  pod.spec.resources = { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '500m', memory: '200Mi' } };
  pod.spec.containers[0].resources = { requests: { cpu: '100m', memory: '100Mi' } };
  const answer = await createPod(demo, pod);
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 400));
  assertInjected(answer.body);
  assert.equal(answer.body.spec.resources, { requests: { cpu: '150m', memory: '164Mi' }, limits: { cpu: '700m', memory: '328Mi' } });
});

test('kubectl apply -f of a labelled pod manifest injects it', () => {
  const name = unique('applied');
  kubectlOk(cluster, ['-n', demo, 'apply', '-f', '-'], JSON.stringify(simplePod(name)));
  assertInjected(JSON.parse(kubectlOk(cluster, ['-n', demo, 'get', 'pod', name, '-o', 'json'])));
});

for (const mode of ['monitor', 'enforce', 'debug']) {
  test(`the pandocore.xyz/mode annotation ${mode} reaches the sidecar`, async () => {
    const name = unique(`mode-${mode}`);
    const answer = await createPod(demo, simplePod(name, PROTECT, { 'pandocore.xyz/mode': mode }));
    assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
    assertInjected(await storedPod(demo, name), { mode });
  });
}

test('an unlabelled pod is stored as sent', async () => {
  const name = unique('plain');
  assert.is((await createPod(demo, simplePod(name, {}))).status, 201);
  const pod = await storedPod(demo, name);
  assertUntouched(pod);
  assert.is(pod.spec.serviceAccountName, 'default');
});

test('a pod labelled protect=false is stored as sent', async () => {
  const name = unique('false');
  assert.is((await createPod(demo, simplePod(name, { 'pandocore.xyz/protect': 'false' }))).status, 201);
  assertUntouched(await storedPod(demo, name));
});

for (const namespace of ['kube-public', 'pando-system']) {
  test(`a labelled pod in ${namespace} is never injected`, async () => {
    const name = unique('skipped');
    const pod = simplePod(name);
    // Stored, never run: no node matches. (Not the namespace's node selector: the release's own
    // pods run in pando-system.)
    pod.spec.nodeSelector = { 'pando.local/stored-only': 'true' };
    const answer = await createPod(namespace, pod);
    assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
    assertUntouched(await storedPod(namespace, name));
  });
}

test('a pod with a pando-sidecar container of its own: left alone, and kubectl shows the warning naming the conflict', () => {
  const name = unique('foreign');
  const pod = simplePod(name);
  pod.spec.containers.push({ name: 'pando-sidecar', image: 'registry.example/not-ours:1' });
  const run = kubectl(cluster, ['-n', demo, 'create', '-f', '-'], JSON.stringify(pod));
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /Warning: pandocore: sidecar not injected: the pod has its own container named pando-sidecar; rename it/);
  const stored = JSON.parse(kubectlOk(cluster, ['-n', demo, 'get', 'pod', name, '-o', 'json']));
  assert.equal(
    stored.spec.containers.map((c: Obj) => c.image),
    ['registry.example/app:1', 'registry.example/not-ours:1'],
  );
  assert.is(stored.metadata.annotations?.['pandocore.xyz/status'], undefined);
});

test('an injected pod sent again gains nothing (the sidecar is never added twice)', async () => {
  const name = unique('first');
  assert.is((await createPod(demo, simplePod(name))).status, 201);
  const injected = await storedPod(demo, name);
  const again = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: unique('again'), labels: injected.metadata.labels, annotations: injected.metadata.annotations },
    spec: injected.spec,
  };
  const answer = await createPod(demo, again);
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertInjected(answer.body);
  assert.equal(answer.body.spec.containers, injected.spec.containers);
});

test('kubectl create --dry-run=server shows the injected pod and stores nothing', () => {
  const name = unique('dry');
  const out = kubectlOk(cluster, ['-n', demo, 'create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(simplePod(name)));
  assertInjected(JSON.parse(out));
  const get = kubectl(cluster, ['-n', demo, 'get', 'pod', name]);
  assert.is(get.code, 1);
  assert.match(get.stderr, /NotFound|not found/);
});

test('a pod that names its own ServiceAccount keeps it, and kubectl prints the warning', () => {
  const name = unique('own-sa');
  kubectlOk(cluster, ['-n', demo, 'create', 'serviceaccount', 'shop-api']);
  const pod = simplePod(name);
  pod.spec.serviceAccountName = 'shop-api';
  const run = kubectl(cluster, ['-n', demo, 'create', '-f', '-'], JSON.stringify(pod));
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /Warning: pandocore: service account "shop-api" kept: bind ClusterRole pando-sidecar to it/);
  assertInjected(JSON.parse(kubectlOk(cluster, ['-n', demo, 'get', 'pod', name, '-o', 'json'])), { serviceAccount: 'shop-api' });
});

test('a labelled pod in a namespace that is not enabled is stored without a sidecar, and the safety net warns', async () => {
  const namespace = plainNamespace('not-enabled');
  const name = unique('unserved');
  const answer = await createPod(namespace, simplePod(name));
  assert.is(answer.status, 201);
  assertUntouched(answer.body);
  assert.ok(
    answer.warnings.some((w) => /has no pando-sidecar container/.test(w)),
    answer.warnings.join('\n'),
  );
});

test('the API server reports its pinned version (Helm reads it for kubeVersion)', async () => {
  const version = (await api.get('/version')).body;
  assert.is(version.gitVersion, 'v1.37.2');
  assert.is(version.minor, '37');
});

test('a pod in an enabled namespace that enforces restricted is admitted with its sidecar', async () => {
  const namespace = enabledNamespace('e2e-restricted-quick', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const pod = simplePod(unique('strict'));
  pod.spec.securityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  pod.spec.containers[0].securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsUser: 1000 };
  const answer = await createPod(namespace, pod);
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 400));
  assertInjected(answer.body);
});

test.run();
