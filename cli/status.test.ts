// kubectl pando status reads the sidecar from the pod's spec and status: the status annotation,
// which whoever creates the pod writes, never makes a pod current.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { installed, onFakeApi } from '../test/support/installed';
import { runPlugin } from '../test/support/cli';
import { normalizeImage, renderStatus, sidecarStatusOf } from './status';

const CONFIGURED = 'ghcr.io/pandocore/pando-sidecar:1.1.0';
const annotation = (image: string) => ({ 'pandocore.xyz/status': JSON.stringify({ image, mode: 'enforce', version: '0.1.0' }) });
const sidecar = (image: string, mode = 'monitor') => ({ name: 'pando-sidecar', image, env: [{ name: 'PANDO_MODE', value: mode }] });
const pod = (containers: object[], annotations?: object, status?: object) => ({
  metadata: { name: 'p', namespace: 'shop', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'nginx' }, ...containers] },
  ...(status ? { status } : {}),
});

test('the spec decides: image and mode of the sidecar container, current when it is the configured image', () => {
  assert.equal(sidecarStatusOf(pod([sidecar(CONFIGURED, 'debug')], annotation(CONFIGURED)), CONFIGURED), {
    image: CONFIGURED,
    running: undefined,
    mode: 'debug',
    current: true,
  });
  const native = { metadata: { name: 'p' }, spec: { initContainers: [{ ...sidecar(CONFIGURED), restartPolicy: 'Always' }], containers: [{ name: 'app' }] } };
  assert.is(sidecarStatusOf(native, CONFIGURED).current, true);
});

test('the status annotation alone makes nothing current, and a contradicting one is reported', () => {
  const bare = sidecarStatusOf(pod([], annotation(CONFIGURED)), CONFIGURED);
  assert.is(bare.current, false);
  assert.is(bare.image, undefined);
  assert.equal(bare.problems, [`status annotation names ${CONFIGURED}, the spec no sidecar`]);
  const swapped = sidecarStatusOf(pod([sidecar('registry.example/evil:1')], annotation(CONFIGURED)), CONFIGURED);
  assert.is(swapped.current, false);
  assert.is(swapped.image, 'registry.example/evil:1');
  const text = renderStatus({
    configuredImage: CONFIGURED,
    pods: [{ namespace: 'shop', pod: 'p', workload: undefined, ...swapped }],
    restarts: [],
    reinject: [],
  });
  assert.match(
    text,
    /Not what they claim:\n {2}shop\/p: status annotation names ghcr\.io\/pandocore\/pando-sidecar:1\.1\.0, the spec registry\.example\/evil:1/,
  );
});

test('the running image (container status) must be the spec one; runtimes spell references out', () => {
  const running = (image: string) => ({ containerStatuses: [{ name: 'pando-sidecar', image }] });
  assert.is(sidecarStatusOf(pod([sidecar(CONFIGURED)], undefined, running(CONFIGURED)), CONFIGURED).current, true);
  const other = sidecarStatusOf(pod([sidecar(CONFIGURED)], undefined, running('ghcr.io/pandocore/pando-sidecar:0.9.0')), CONFIGURED);
  assert.is(other.current, false);
  assert.equal(other.problems, [`running ghcr.io/pandocore/pando-sidecar:0.9.0, not the spec's ${CONFIGURED}`]);
  assert.is(sidecarStatusOf(pod([sidecar('pando/sidecar')], undefined, running('docker.io/pando/sidecar:latest')), 'pando/sidecar').current, true);
  assert.is(normalizeImage('nginx'), 'docker.io/library/nginx:latest');
  assert.is(normalizeImage('localhost:5000/a/b'), 'localhost:5000/a/b:latest');
  assert.is(normalizeImage(`ghcr.io/x/y@sha256:${'a'.repeat(64)}`), `ghcr.io/x/y@sha256:${'a'.repeat(64)}`);
});

test('status -n NS against an install: each protected pod, and for each stale one what to do, by its owner', async () => {
  const install = await installed();
  const current = 'ghcr.io/pandocore/pando-sidecar:1.0.0';
  const old = 'ghcr.io/pandocore/pando-sidecar:0.9.0';
  const owned = (kind: string, name: string) => ({ ownerReferences: [{ kind, name, controller: true }] });
  const protectedPod = (namespace: string, name: string, containers: object[], owner = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'pandocore.xyz/protect': 'true' }, ...owner },
    spec: { containers: [{ name: 'app', image: 'nginx' }, ...containers] },
  });
  const replicaSet = (name: string, deployment: string) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'team-a', ...owned('Deployment', deployment) },
  });
  const deploymentOf = (name: string, containers: object[]) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'team-a' },
    spec: { template: { spec: { containers: [{ name: 'app' }, ...containers] } } },
  });
  const objects = [
    ...install.objects,
    protectedPod('team-a', 'web-1', [sidecar(current)], owned('ReplicaSet', 'web-abc')),
    replicaSet('web-abc', 'web'),
    protectedPod('team-a', 'old-1', [sidecar(old)], owned('ReplicaSet', 'old-abc')),
    replicaSet('old-abc', 'old'),
    deploymentOf('old', []),
    protectedPod('team-a', 'offline-1', [sidecar(old)], owned('ReplicaSet', 'offline-abc')),
    replicaSet('offline-abc', 'offline'),
    deploymentOf('offline', [sidecar(old)]),
    protectedPod('team-a', 'bare', []),
    protectedPod('team-b', 'elsewhere', []),
  ];
  await onFakeApi(install.cluster(objects), async (kubeconfig) => {
    const namespaced = await runPlugin(['status', '-n', 'team-a', '--kubeconfig', kubeconfig]);
    assert.is(namespaced.code, 0);
    assert.is(
      namespaced.stdout,
      [
        `configured sidecar image: ${current}`,
        '',
        'NAMESPACE  POD        SIDECAR                                MODE     CURRENT  WORKLOAD',
        'team-a     bare       (none)                                 -        no       -',
        'team-a     offline-1  ghcr.io/pandocore/pando-sidecar:0.9.0  monitor  no       Deployment/offline',
        'team-a     old-1      ghcr.io/pandocore/pando-sidecar:0.9.0  monitor  no       Deployment/old',
        'team-a     web-1      ghcr.io/pandocore/pando-sidecar:1.0.0  monitor  yes      Deployment/web',
        '',
        '3 pod(s) do not run ghcr.io/pandocore/pando-sidecar:1.0.0.',
        'Restart their workloads when convenient, one at a time:',
        '  kubectl rollout restart deployment/old -n team-a',
        'Injected offline (a restart brings the same sidecar back): run kubectl pando inject --from-cluster on their manifests and apply them:',
        '  deployment/offline -n team-a',
        'Re-create by hand (no rolling workload owns them):',
        '  team-a/bare',
        '',
      ].join('\n'),
    );
    const all = await runPlugin(['status', '-A', '-o', 'json', '--kubeconfig', kubeconfig]);
    assert.is(all.code, 0);
    assert.equal(
      JSON.parse(all.stdout).pods.map((p: { namespace: string; pod: string }) => `${p.namespace}/${p.pod}`),
      ['team-a/bare', 'team-a/offline-1', 'team-a/old-1', 'team-a/web-1', 'team-b/elsewhere'],
    );
  });
});

test.run();
