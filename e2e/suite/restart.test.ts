// kubectl pando restart on the node, as an operator runs it: --unprotected after the webhook was
// down (a Deployment created meanwhile runs without the sidecar, a bare pod too), and --outdated
// after a helm upgrade of sidecar.image. Each: --dry-run lists and changes nothing, the real run
// rolls the Deployment and its new pods carry the configured sidecar, the bare pod is listed and
// never deleted, and a second run finds nothing left to do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectlOk } from '../harness/kubeconfig';
import { helmUpgrade, startWebhook, stopWebhook } from '../harness/webhook';
import { STANDIN_IMAGES } from '../harness/images';
import { waitFor } from '../harness/processes';
import { cluster, containersNamed, pando, PROTECT, SIDECAR, unique, type Obj, runsOnNode } from './context';

const namespace = unique('restart');

const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const livePods = (selector: string): Obj[] => getJson(['-n', namespace, 'get', 'pods', '-l', selector]).items.filter((p: Obj) => !p.metadata.deletionTimestamp);
const sidecarImages = (pods: Obj[]) => pods.map((pod) => containersNamed(pod, SIDECAR)[0]?.image ?? 'none');

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'late' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'late' } },
    template: {
      metadata: { labels: { ...PROTECT, app: 'late' } },
      spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'app', image: STANDIN_IMAGES.app }] },
    },
  },
};
const barePod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'bare', labels: { ...PROTECT, app: 'bare' } },
  spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'app', image: STANDIN_IMAGES.app }] },
};

/** Both late pods Running and Ready (the sidecar too, where there is one). */
async function lateReady() {
  await waitFor(
    'two late pods ready',
    async () => {
      const pods = livePods('app=late');
      return pods.length === 2 && pods.every((p) => (p.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'));
    },
    120_000,
  );
}

runsOnNode(test, namespace);

test('restart --unprotected: a Deployment made while the webhook was down is rolled and injected; a bare pod is listed, never deleted', async () => {
  await stopWebhook(cluster);
  try {
    kubectlOk(cluster, ['-n', namespace, 'apply', '-f', '-'], JSON.stringify(deployment));
    kubectlOk(cluster, ['-n', namespace, 'apply', '-f', '-'], JSON.stringify(barePod));
    await lateReady();
  } finally {
    await startWebhook(cluster);
  }
  const before = livePods('app=late');
  assert.equal(sidecarImages(before), ['none', 'none']);
  const bareUid = getJson(['-n', namespace, 'get', 'pod', 'bare']).metadata.uid;

  const dryRun = pando(['restart', '--unprotected', '-n', namespace, '--dry-run']);
  assert.is(dryRun.code, 0, dryRun.stderr);
  assert.match(dryRun.stdout, new RegExp(`Would restart, one at a time \\(pods running no sidecar\\):\\n  deployment/late -n ${namespace} \\(2 pod\\(s\\)`));
  assert.match(dryRun.stdout, new RegExp(`never deleted by kubectl pando\\):\\n  ${namespace}/bare\\n`));
  assert.equal(
    livePods('app=late').map((p) => p.metadata.name),
    before.map((p) => p.metadata.name),
    'a dry run restarts nothing',
  );

  const restart = pando(['restart', '--unprotected', '-n', namespace]);
  assert.is(restart.code, 0, restart.stdout + restart.stderr);
  assert.match(restart.stdout, new RegExp(`deployment/late -n ${namespace} rolled out in \\d+ s\\n1 workload\\(s\\) restarted`));
  const template = getJson(['-n', namespace, 'get', 'deployment', 'late']).spec.template;
  assert.ok(template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'], 'kubectl rollout restart semantics');
  await lateReady();
  const after = livePods('app=late');
  assert.ok(after.every((p) => !before.some((b) => b.metadata.name === p.metadata.name)));
  assert.equal(sidecarImages(after), [STANDIN_IMAGES.sidecar, STANDIN_IMAGES.sidecar]);
  assert.is(getJson(['-n', namespace, 'get', 'pod', 'bare']).metadata.uid, bareUid, 'the bare pod is the same pod');

  const again = pando(['restart', '--unprotected', '-n', namespace, '--dry-run']);
  assert.not.match(again.stdout, /deployment\/late/);
  assert.match(again.stdout, new RegExp(`${namespace}/bare`));
});

test('restart --outdated after helm upgrade --set sidecar.image: the old sidecar pods rolled onto the new image', async () => {
  const before = livePods('app=late');
  await helmUpgrade(cluster, [`sidecar.image=${STANDIN_IMAGES.sidecarNext}`]);
  assert.equal(sidecarImages(livePods('app=late')), [STANDIN_IMAGES.sidecar, STANDIN_IMAGES.sidecar], 'running pods keep theirs');

  const dryRun = pando(['restart', '--outdated', '-n', namespace, '--dry-run']);
  assert.is(dryRun.code, 0, dryRun.stderr);
  assert.match(
    dryRun.stdout,
    new RegExp(`pods running an old sidecar \\(not ${STANDIN_IMAGES.sidecarNext}\\)\\):\\n  deployment/late -n ${namespace} \\(2 pod\\(s\\)`),
  );

  const restart = pando(['restart', '--outdated', '-n', namespace]);
  assert.is(restart.code, 0, restart.stdout + restart.stderr);
  assert.match(restart.stdout, /1 workload\(s\) restarted/);
  await lateReady();
  const after = livePods('app=late');
  assert.ok(after.every((p) => !before.some((b) => b.metadata.name === p.metadata.name)));
  assert.equal(sidecarImages(after), [STANDIN_IMAGES.sidecarNext, STANDIN_IMAGES.sidecarNext]);
  const status = JSON.parse(pando(['status', '-n', namespace, '-o', 'json']).stdout);
  assert.ok(
    status.pods.filter((p: Obj) => p.pod.startsWith('late-')).every((p: Obj) => p.current),
    JSON.stringify(status.pods),
  );
  assert.match(pando(['restart', '--outdated', '-n', namespace, '--dry-run']).stdout, /^no pod labelled pandocore\.xyz\/protect=true runs an old sidecar/);
});

test.run();
