// Protected workloads that run, on the node, in a namespace under restricted Pod Security: a
// Deployment, a StatefulSet and a Job reach Available / Ready / Complete with their sidecar; the
// upgrade as the original instructions do it (helm upgrade --set sidecar.image, then kubectl
// rollout restart); and the faults an operator meets: a webhook pod deleted during a pod storm,
// and both webhook pods gone while a Deployment is created.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectl, kubectlOk, toolEnv } from '../harness/kubeconfig';
import { SYSTEM_NAMESPACE } from '../harness/release';
import { helmUpgrade, startWebhook, stopWebhook, webhookPods } from '../harness/webhook';
import { STANDIN_IMAGES } from '../harness/images';
import { waitFor } from '../harness/processes';
import { assertInjected } from './checks';
import { cluster, containersNamed, createPod, enabledNamespace, mapLimit, pando, PROTECT, SIDECAR, simplePod, unique, type Obj, runsOnNode } from './context';

const namespace = unique('workloads');

const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const podsOf = (selector: string): Obj[] => getJson(['-n', namespace, 'get', 'pods', '-l', selector]).items;
const apply = (doc: Obj) => kubectlOk(cluster, ['-n', namespace, 'apply', '-f', '-'], JSON.stringify(doc));

/** What restricted Pod Security asks of a container. */
const RESTRICTED = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };

function template(app: string, env: Obj[] = [], restartPolicy?: string): Obj {
  return {
    metadata: { labels: { ...PROTECT, app } },
    spec: {
      ...(restartPolicy ? { restartPolicy } : {}),
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'app', image: STANDIN_IMAGES.app, env, securityContext: RESTRICTED }],
    },
  };
}

const deployment = (name: string, replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name) },
});

/** The sidecar of each pod: injected, and Ready where the pod runs. */
function assertSidecarsReady(pods: Obj[], image: string) {
  assert.ok(pods.length > 0, 'pods');
  for (const pod of pods) {
    assertInjected(pod);
    assert.is(containersNamed(pod, SIDECAR)[0].image, image);
    const statuses = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
    assert.is(statuses.find((s: Obj) => s.name === SIDECAR)?.ready, true, `${pod.metadata.name}: ${JSON.stringify(statuses)}`);
  }
}

/** The sum of an API server counter's series whose labels include all of `labels`. */
function apiServerCounter(name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return kubectlOk(cluster, ['get', '--raw', '/metrics'])
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** What the chart's PrometheusRule alerts on when the webhook is not reached. */
const failOpenSeries = () => ({
  failedOpen: apiServerCounter('apiserver_admission_webhook_fail_open_count', { name: 'inject.pandocore.xyz', type: 'admit' }),
  caught: apiServerCounter('apiserver_validating_admission_policy_check_total', { policy: 'pando-sidecar-required', enforcement_action: 'warn' }),
});

const rollout = (kind: string, name: string) => kubectlOk(cluster, ['-n', namespace, 'rollout', 'status', `${kind}/${name}`, '--timeout=120s']);
const running = (selector: string) => podsOf(selector).filter((p) => !p.metadata.deletionTimestamp);

runsOnNode(test, namespace, { 'pod-security.kubernetes.io/enforce': 'restricted' });

test('under restricted Pod Security, a Deployment, a StatefulSet and a Job run with their sidecar: Available, Ready, Complete', async () => {
  apply(deployment('web'));
  apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 80 }] } });
  apply({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: { serviceName: 'db', replicas: 2, selector: { matchLabels: { app: 'db' } }, template: template('db') },
  });
  apply({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'report' },
    spec: { completions: 2, parallelism: 2, backoffLimit: 0, template: template('report', [{ name: 'APP_EXIT_AFTER', value: '2' }], 'Never') },
  });
  rollout('deployment', 'web');
  rollout('statefulset', 'db');
  kubectlOk(cluster, ['-n', namespace, 'wait', '--for=condition=Available', 'deployment/web', '--timeout=60s']);
  kubectlOk(cluster, ['-n', namespace, 'wait', '--for=condition=Complete', 'job/report', '--timeout=120s']);
  assertSidecarsReady(running('app=web'), STANDIN_IMAGES.sidecar);
  assertSidecarsReady(running('app=db'), STANDIN_IMAGES.sidecar);
  const job = podsOf('app=report');
  assert.is(job.length, 2);
  for (const pod of job) {
    assert.is(pod.status.phase, 'Succeeded');
    // Native: an init container that starts first, and stops after the app.
    assert.equal(
      pod.spec.initContainers.map((c: Obj) => [c.name, c.restartPolicy]),
      [[SIDECAR, 'Always']],
    );
  }
});

test('a Job whose sidecar is a regular container (sidecar.native=false) never completes: the sidecar runs on after the app exits', async () => {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'regular' },
    spec: { backoffLimit: 0, template: template('regular', [{ name: 'APP_EXIT_AFTER', value: '1' }], 'Never') },
  };
  // Injected offline as the webhook does with sidecar.native=false; the webhook leaves it as is.
  const injected = pando(['inject', '-f', '-', '--sidecar-native=false', `--image=${STANDIN_IMAGES.sidecar}`], JSON.stringify(job));
  assert.is(injected.code, 0, injected.stderr);
  kubectlOk(cluster, ['-n', namespace, 'apply', '-f', '-'], injected.stdout);
  let pod: Obj | undefined;
  const appDone = () => {
    pod = podsOf('app=regular')[0];
    return pod?.status?.containerStatuses?.find((s: Obj) => s.name === 'app')?.state?.terminated?.exitCode === 0;
  };
  await waitFor('the regular Job app exited 0', async () => appDone(), 60_000);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  pod = podsOf('app=regular')[0];
  assert.is(pod.status.phase, 'Running', 'the pod runs on: its sidecar container has not exited');
  assert.ok(pod.status.containerStatuses.find((s: Obj) => s.name === SIDECAR)?.state?.running, 'the sidecar still running');
  const complete = kubectl(cluster, ['-n', namespace, 'get', 'job', 'regular', '-o', 'jsonpath={.status.conditions[?(@.type=="Complete")].status}']).stdout;
  assert.is(complete, '', 'the Job is not complete');
  kubectlOk(cluster, ['-n', namespace, 'delete', 'job', 'regular', '--wait=false']);
});

/** The original instructions' per-namespace setup, verbatim but for the namespace's name. */
function originalSetup(ns: string) {
  kubectlOk(cluster, ['create', 'namespace', ns]);
  kubectlOk(cluster, ['create', 'serviceaccount', 'pando-sidecar', '-n', ns]);
  kubectlOk(cluster, ['create', 'rolebinding', 'pando-sidecar', '--clusterrole=pando-sidecar', `--serviceaccount=${ns}:pando-sidecar`, '-n', ns]);
  kubectlOk(cluster, ['create', 'secret', 'generic', 'pando-license', '--from-literal=license-key="YOUR_LICENSE_KEY"', '-n', ns]);
}

/** The README's demo pod in ns: kubectl's answer, and the pod once it runs (or fails to start). */
async function demoPod(ns: string) {
  const run = kubectl(cluster, ['-n', ns, 'run', 'demo', `--image=${STANDIN_IMAGES.app}`, '--labels=pandocore.xyz/protect=true']);
  if (run.code !== 0) return { run };
  kubectlOk(cluster, ['-n', ns, 'wait', '--for=condition=Ready', 'pod/demo', '--timeout=60s']);
  return { run, pod: getJson(['-n', ns, 'get', 'pod', 'demo']) };
}

test('the original per-namespace setup alone, under webhook.scope=enabled (the default): pods run uninjected and warned; the label the README names fixes it', async () => {
  const ns = unique('original');
  originalSetup(ns);
  try {
    const { run, pod } = await demoPod(ns);
    assert.match(run.stderr, /has no pando-sidecar container/, 'the safety net warns in kubectl output');
    assert.is(containersNamed(pod!, SIDECAR).length, 0);
    kubectlOk(cluster, ['label', 'namespace', ns, 'pandocore.xyz/enabled=true']);
    kubectlOk(cluster, ['-n', ns, 'delete', 'pod', 'demo', '--grace-period=1']);
    const again = await demoPod(ns);
    assert.not.match(again.run.stderr, /Warning/);
    assertSidecarsReady([again.pod!], STANDIN_IMAGES.sidecar);
  } finally {
    kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']);
  }
});

test('under webhook.scope=all (the original behaviour): the three setup commands suffice, and a namespace without them refuses protected pods', async () => {
  await helmUpgrade(cluster, ['webhook.scope=all']);
  const ns = unique('original-all');
  const bare = unique('bare');
  try {
    originalSetup(ns);
    const { run, pod } = await demoPod(ns);
    assert.not.match(run.stderr, /Warning/);
    assertSidecarsReady([pod!], STANDIN_IMAGES.sidecar);
    kubectlOk(cluster, ['create', 'namespace', bare]);
    await waitFor('the default ServiceAccount', async () => kubectl(cluster, ['-n', bare, 'get', 'serviceaccount', 'default']).code === 0, 30_000);
    const refused = await demoPod(bare);
    assert.is.not(refused.run.code, 0);
    assert.match(refused.run.stderr, /serviceaccount "pando-sidecar" not found/i);
  } finally {
    await helmUpgrade(cluster, ['webhook.scope=enabled']);
    kubectl(cluster, ['delete', 'namespace', ns, bare, '--wait=false']);
  }
});

test("the original instructions' troubleshooting commands, verbatim: one log line per admission, the TLS Job Complete, the Secret, the webhook configuration", async () => {
  const name = unique('traced');
  const answer = await createPod(enabledNamespace('e2e-storm'), simplePod(name));
  assert.is(answer.status, 201);
  const shell = (command: string) => {
    const run = spawnSync('sh', ['-c', command], { encoding: 'utf8', env: toolEnv(cluster) });
    assert.is(run.status, 0, `${command}: ${run.stderr}`);
    return run.stdout;
  };
  const lines = shell('kubectl logs -n pando-system -l app.kubernetes.io/name=pando-webhook')
    .split('\n')
    .filter((line) => line.includes(`"pod":"${name}"`));
  assert.is(lines.length, 1, lines.join('\n'));
  assert.match(JSON.parse(lines[0]).decision, 'inject');
  assert.match(shell('kubectl get jobs -n pando-system'), /pando-webhook-tls-setup-\w+ +Complete +1\/1/);
  assert.match(shell('kubectl get secret -n pando-system | grep tls'), /pando-webhook-tls +Opaque +3/);
  assert.match(shell('kubectl get mutatingwebhookconfigurations'), /pando-webhook +1 /);
});

test('upgrade: helm upgrade --set sidecar.image, status lists the old pods, kubectl rollout restart brings the new sidecar', async () => {
  const before = running('app=web').map((p) => p.metadata.name);
  await helmUpgrade(cluster, [`sidecar.image=${STANDIN_IMAGES.sidecarNext}`]);
  // Old pods keep theirs until restarted; status names them and the command to run.
  assertSidecarsReady(running('app=web'), STANDIN_IMAGES.sidecar);
  const outdated = JSON.parse(pando(['status', '-n', namespace, '-o', 'json']).stdout);
  const web = outdated.pods.filter((p: Obj) => before.includes(p.pod));
  assert.is(web.length, 2);
  assert.ok(
    web.every((p: Obj) => p.current === false),
    JSON.stringify(web),
  );
  assert.ok(
    outdated.restarts.some((r: string) => r.includes('deployment/web')),
    JSON.stringify(outdated.restarts),
  );

  kubectlOk(cluster, ['-n', namespace, 'rollout', 'restart', 'deployment/web']);
  rollout('deployment', 'web');
  await waitFor('the old web pods gone', async () => podsOf('app=web').every((p) => !before.includes(p.metadata.name)), 60_000);
  assertSidecarsReady(running('app=web'), STANDIN_IMAGES.sidecarNext);
  const after = JSON.parse(pando(['status', '-n', namespace, '-o', 'json']).stdout);
  assert.ok(!after.restarts.some((r: string) => r.includes('deployment/web')), JSON.stringify(after.restarts));
  assert.ok(after.pods.filter((p: Obj) => p.pod.startsWith('web-')).every((p: Obj) => p.current));
});

test('a webhook pod deleted (gracefully, as a rollout or a drain does) while 200 protected pods are created: every one injected, none refused', async () => {
  // Admission only: these pods are stored, never run.
  const storm = enabledNamespace('e2e-storm');
  const [victim] = webhookPods(cluster);
  let created = 0;
  const answers = await mapLimit(
    Array.from({ length: 200 }, (_, i) => i),
    4,
    async (i) => {
      if (i === 40) kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'pod', victim.name, '--wait=false']);
      const answer = await createPod(storm, simplePod(unique('storm')));
      created++;
      return answer;
    },
  );
  assert.is(created, 200);
  const refused = answers.filter((a) => a.status !== 201);
  assert.equal(
    refused.map((a) => a.status),
    [],
  );
  const uninjected = answers.filter((a) => containersNamed(a.body, SIDECAR).length !== 1);
  assert.is(uninjected.length, 0, `${uninjected.length} of 200 pods without the sidecar: ${uninjected[0]?.warnings?.join(' | ')}`);
  await waitFor(
    'the deleted webhook pod replaced',
    async () => {
      const pods = webhookPods(cluster).filter((p) => !p.deleting);
      return pods.length === 2 && pods.every((p) => p.ready && p.name !== victim.name);
    },
    90_000,
  );
});

test('both webhook pods gone: a Deployment still runs (unprotected), the API server counts it where the alerts look, status lists it, and a restart once the webhook is back injects it', async () => {
  await stopWebhook(cluster);
  try {
    const before = failOpenSeries();
    apply(deployment('late', 1));
    rollout('deployment', 'late');
    const [pod] = running('app=late');
    assert.is(containersNamed(pod, SIDECAR).length, 0, 'created without the sidecar (failurePolicy Ignore)');
    // The one pod: one call failed open, one pod caught by the safety net (PandoWebhookFailedOpen,
    // PandoProtectedPodWithoutSidecar).
    const after = failOpenSeries();
    assert.equal({ failedOpen: after.failedOpen - before.failedOpen, caught: after.caught - before.caught }, { failedOpen: 1, caught: 1 });
    const report = JSON.parse(pando(['status', '-n', namespace, '-o', 'json']).stdout);
    const late = report.pods.find((p: Obj) => p.pod === pod.metadata.name);
    assert.ok(late && late.image === undefined && !late.current, JSON.stringify(late));
    assert.ok(
      report.restarts.some((r: string) => r.includes('deployment/late')),
      JSON.stringify(report.restarts),
    );
  } finally {
    await startWebhook(cluster);
  }
  kubectlOk(cluster, ['-n', namespace, 'rollout', 'restart', 'deployment/late']);
  rollout('deployment', 'late');
  await waitFor('one late pod', async () => running('app=late').length === 1, 60_000);
  assertSidecarsReady(running('app=late'), STANDIN_IMAGES.sidecarNext);
});

test.run();
