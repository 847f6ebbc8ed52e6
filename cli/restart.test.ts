// kubectl pando restart against a stand-in API server reached through a kubeconfig: what it
// picks, that it restarts one workload at a time as kubectl rollout restart does and waits for
// each rollout, that it stops at the first failure, and that it never deletes a pod.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runPlugin as cli } from '../test/support/cli';
import { startFakeApi, type FakeApi } from '../test/support/fake-api';
import { webhookObjects } from '../test/support/installed';
import { Kube, type Obj } from './kube';
import { RESTARTED_AT, RestartFailed, restartWorkloads, rolloutState } from './restart';

const NEW = 'ghcr.io/pandocore/pando-sidecar:1.2.0';
const OLD = 'ghcr.io/pandocore/pando-sidecar:1.1.0';

const install: Obj[] = [
  ...webhookObjects({ PANDO_SIDECAR_IMAGE: NEW }),
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'pandocore.xyz/enabled': 'true' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab' } },
];

const owner = (kind: string, name: string) => [{ apiVersion: 'apps/v1', kind, name, controller: true }];
const pod = (namespace: string, name: string, sidecarImage: string | undefined, owners?: Obj[]): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { 'pandocore.xyz/protect': 'true' }, ...(owners ? { ownerReferences: owners } : {}) },
  spec: { containers: [{ name: 'app', image: 'nginx' }, ...(sidecarImage ? [{ name: 'pando-sidecar', image: sidecarImage }] : [])] },
});
const workload = (kind: string, namespace: string, name: string, extra: Obj = {}): Obj => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name, namespace, generation: 1 },
  spec: { replicas: 2, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } }, ...extra },
  status: { observedGeneration: 1 },
});
const replicaSet = (namespace: string, name: string, deployment: string): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace, ownerReferences: owner('Deployment', deployment) },
});

const cluster: Obj[] = [
  ...install,
  workload('Deployment', 'shop', 'web'),
  replicaSet('shop', 'web-7d9', 'web'),
  pod('shop', 'web-7d9-a', OLD, owner('ReplicaSet', 'web-7d9')),
  pod('shop', 'web-7d9-b', OLD, owner('ReplicaSet', 'web-7d9')),
  workload('StatefulSet', 'shop', 'db'),
  pod('shop', 'db-0', OLD, owner('StatefulSet', 'db')),
  workload('DaemonSet', 'shop', 'agent'),
  pod('shop', 'agent-x1', NEW, owner('DaemonSet', 'agent')),
  pod('shop', 'bare', OLD),
  pod('shop', 'migrate-q2', OLD, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', controller: true }]),
  workload('Deployment', 'shop', 'plain'),
  replicaSet('shop', 'plain-5c4', 'plain'),
  pod('shop', 'plain-5c4-a', undefined, owner('ReplicaSet', 'plain-5c4')),
  workload('Deployment', 'lab', 'notebook'),
  replicaSet('lab', 'notebook-1', 'notebook'),
  pod('lab', 'notebook-1-a', undefined, owner('ReplicaSet', 'notebook-1')),
];

async function withCluster(objects: Obj[], body: (fake: FakeApi, kube: Kube) => Promise<void>) {
  const fake = await startFakeApi('plugin-token', { objects });
  try {
    await body(fake, new Kube({ kubeconfig: fake.kubeconfig }));
    assert.equal(fake.state.problems, [], 'requests a real API server would refuse');
  } finally {
    await fake.close();
  }
}

test('--outdated --dry-run: the owners of pods with an old sidecar, ReplicaSets resolved to their Deployment; bare pods and Jobs listed; nothing written', async () => {
  await withCluster(cluster, async (fake) => {
    const { code, stdout } = await cli(['restart', '--outdated', '--dry-run', '-A', '--kubeconfig', fake.kubeconfig]);
    assert.is(code, 0);
    assert.is(
      stdout,
      [
        `Would restart, one at a time (pods running an old sidecar (not ${NEW})):`,
        '  deployment/web -n shop (2 pod(s): web-7d9-a, web-7d9-b)',
        '  statefulset/db -n shop (1 pod(s): db-0)',
        'Re-create by hand (no rolling workload owns them; never deleted by kubectl pando):',
        '  shop/bare',
        '  shop/migrate-q2 (Job/migrate)',
        '',
      ].join('\n'),
    );
    assert.equal(
      fake.takeRequests().filter((r) => !r.startsWith('GET ')),
      [],
    );
  });
});

test('--outdated: one workload at a time, each patched as kubectl rollout restart does and waited for before the next', async () => {
  await withCluster(cluster, async (fake, kube) => {
    const lines: string[] = [];
    const at = new Date('2026-12-05T17:00:00.123Z');
    await restartWorkloads(kube, { selection: 'outdated', namespace: 'shop', pollMs: 5, log: (l) => lines.push(l), now: () => at });
    const patchTypes = fake.state.requests.filter((r) => r.method === 'PATCH').map((r) => r.contentType);
    const calls = fake.takeRequests().filter((r) => /deployments\/web|statefulsets\/db/.test(r));
    assert.equal(calls, [
      'GET /apis/apps/v1/namespaces/shop/deployments/web', // status: was the template injected offline?
      'GET /apis/apps/v1/namespaces/shop/statefulsets/db',
      'GET /apis/apps/v1/namespaces/shop/deployments/web', // the plan: not paused
      'GET /apis/apps/v1/namespaces/shop/statefulsets/db', // the plan: not OnDelete
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=kubectl-pando',
      'GET /apis/apps/v1/namespaces/shop/deployments/web', // generation 2 not observed yet
      'GET /apis/apps/v1/namespaces/shop/deployments/web', // rolled out
      'PATCH /apis/apps/v1/namespaces/shop/statefulsets/db?fieldManager=kubectl-pando',
      'GET /apis/apps/v1/namespaces/shop/statefulsets/db',
      'GET /apis/apps/v1/namespaces/shop/statefulsets/db',
    ]);
    assert.equal(patchTypes, ['application/strategic-merge-patch+json', 'application/strategic-merge-patch+json']);
    for (const [kind, name] of [
      ['Deployment', 'web'],
      ['StatefulSet', 'db'],
    ]) {
      const object = fake.object('apps/v1', kind, name, 'shop')!;
      assert.is(object.spec.template.metadata.annotations[RESTARTED_AT], '2026-12-05T17:00:00Z');
      assert.equal(object.spec.template.metadata.labels, { app: name }, 'the rest of the template kept');
      assert.is(object.metadata.generation, 2);
    }
    assert.is(fake.object('apps/v1', 'DaemonSet', 'agent', 'shop')!.metadata.generation, 1, 'its pods run the configured sidecar');
    assert.ok(fake.object('v1', 'Pod', 'bare', 'shop') && fake.object('v1', 'Pod', 'migrate-q2', 'shop'), 'bare pods and Job pods are never deleted');
    assert.ok(lines.includes('deployment/web -n shop restarted; waiting for its rollout'));
    assert.match(lines.join('\n'), /statefulset\/db -n shop rolled out in \d+ s\n2 workload\(s\) restarted$/);
  });
});

test('a rollout that does not finish in --timeout stops the run there, naming what was not restarted', async () => {
  await withCluster(cluster, async (fake, kube) => {
    fake.setRollout('Deployment', 'web', 'shop', 'stalls');
    const error = await restartWorkloads(kube, { selection: 'outdated', namespace: 'shop', pollMs: 5, timeoutMs: 300 }).catch((e) => e);
    assert.instance(error, RestartFailed);
    assert.is(
      error.message,
      'deployment/web -n shop: rollout not finished after 0 s (1 of 2 updated replicas). Stopped there; not restarted: statefulset/db -n shop.',
    );
    assert.is(fake.object('apps/v1', 'StatefulSet', 'db', 'shop')!.metadata.generation, 1, 'the next workload untouched');
  });
});

test('a Deployment past its progress deadline fails at once; the command exits 1 with that message', async () => {
  await withCluster(cluster, async (fake) => {
    fake.setRollout('Deployment', 'web', 'shop', 'deadline');
    const { code, stderr } = await cli(['restart', '--outdated', '-n', 'shop', '--kubeconfig', fake.kubeconfig]);
    assert.is(code, 1);
    assert.is(
      stderr,
      'kubectl pando restart: deployment/web -n shop: rollout exceeded its progress deadline: ReplicaSet "web-2" has timed out progressing. Stopped there; not restarted: statefulset/db -n shop.\n',
    );
  });
});

test('--unprotected: labelled pods without a sidecar, only those the webhook would inject; paused and OnDelete workloads are left with the reason', async () => {
  const objects = [
    ...cluster,
    workload('Deployment', 'shop', 'held', { paused: true }),
    replicaSet('shop', 'held-1', 'held'),
    pod('shop', 'held-1-a', undefined, owner('ReplicaSet', 'held-1')),
    workload('StatefulSet', 'shop', 'cache', { updateStrategy: { type: 'OnDelete' } }),
    pod('shop', 'cache-0', undefined, owner('StatefulSet', 'cache')),
    workload('DaemonSet', 'shop', 'win-agent'),
    { ...pod('shop', 'win-agent-x', undefined, owner('DaemonSet', 'win-agent')), spec: { os: { name: 'windows' }, containers: [{ name: 'app' }] } },
  ];
  await withCluster(objects, async (fake, kube) => {
    const lines: string[] = [];
    const plan = await restartWorkloads(kube, { selection: 'unprotected', pollMs: 5, log: (l) => lines.push(l) });
    assert.equal(
      plan.restart.map((w) => `${w.kind}/${w.namespace}/${w.name}`),
      ['Deployment/shop/plain'],
    );
    assert.equal(plan.skipped, [
      { workload: 'daemonset/win-agent -n shop', reason: 'the webhook would not inject its pods: the sidecar runs on Linux only and the pod is a Windows pod' },
      { workload: 'deployment/held -n shop', reason: 'paused: kubectl rollout resume deployment/held -n shop first' },
      { workload: 'deployment/notebook -n lab', reason: 'the webhook does not select namespace lab: kubectl pando enable lab first' },
      { workload: 'statefulset/cache -n shop', reason: 'updateStrategy OnDelete: a restart replaces no pod; delete its pods one at a time yourself' },
    ]);
    assert.is(fake.object('apps/v1', 'DaemonSet', 'win-agent', 'shop')!.metadata.generation, 1);
    assert.ok(fake.object('apps/v1', 'Deployment', 'plain', 'shop')!.spec.template.metadata.annotations[RESTARTED_AT]);
    assert.is(fake.object('apps/v1', 'Deployment', 'notebook', 'lab')!.metadata.generation, 1);
    assert.equal(
      fake.takeRequests().filter((r) => r.startsWith('DELETE')),
      [],
    );
  });
});

test('--outdated refuses to guess without an installed webhook', async () => {
  await withCluster([pod('shop', 'bare', OLD)], async (_fake, kube) => {
    const error = await restartWorkloads(kube, { selection: 'outdated' }).catch((e) => e);
    assert.instance(error, RestartFailed);
    assert.match(error.message, /no installed webhook found/);
  });
});

test('usage: exactly one of --outdated and --unprotected; --timeout as kubectl spells durations', async () => {
  for (const args of [['restart'], ['restart', '--outdated', '--unprotected']]) {
    const { code, stderr } = await cli(args);
    assert.is(code, 2);
    assert.match(stderr, /restart needs one of --outdated/);
  }
  const bad = await cli(['restart', '--outdated', '--timeout', 'soon']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--timeout soon: a duration such as 90s, 5m or 1h/);
});

test('rollout verdicts as kubectl rollout status gives them', () => {
  const sts = (status: Obj, extra: Obj = {}) => ({ spec: { replicas: 3, ...extra }, status: { observedGeneration: 2, ...status } });
  assert.is(rolloutState('StatefulSet', sts({ readyReplicas: 3, updateRevision: 'a', currentRevision: 'b', updatedReplicas: 1 }), 2).done, false);
  assert.is(rolloutState('StatefulSet', sts({ readyReplicas: 3, updateRevision: 'a', currentRevision: 'a' }), 2).done, true);
  const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
  assert.is(rolloutState('StatefulSet', sts({ readyReplicas: 3, updatedReplicas: 1, updateRevision: 'a', currentRevision: 'b' }, partitioned), 2).done, true);
  assert.is(rolloutState('StatefulSet', sts({ readyReplicas: 3, updatedReplicas: 1 }), 3).progress, 'generation 3 not observed yet (at 2)');
  const ds = (status: Obj) => ({ status: { observedGeneration: 2, desiredNumberScheduled: 3, ...status } });
  assert.is(rolloutState('DaemonSet', ds({ updatedNumberScheduled: 3, numberAvailable: 2 }), 2).progress, '2 of 3 updated pods available');
  assert.is(rolloutState('DaemonSet', ds({ updatedNumberScheduled: 3, numberAvailable: 3 }), 2).done, true);
  const deploy = { spec: { replicas: 2 }, status: { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 } };
  assert.is(rolloutState('Deployment', deploy, 2).progress, '1 old replica(s) pending termination');
});

test.run();
