// The chart's default, platform knative, on Knative Serving itself (its controller, webhook,
// autoscaler and activator as pods on the node): the release switched from the local cluster's
// Deployment to the default as a user installs it, Knative's webhook defaulting and validating
// our Service, its controllers making the Revision whose 2 pods run the image, and the API server
// calling them through pando-webhook-https (the direct route). Faults: a revision pod deleted, and
// a settings change rolled out as a new Revision, each under a loop of protected pod creations.
// The one stand-in: KIngresses marked ready (no networking layer runs here: each needs Envoy).
// At the end the release is the local cluster's again (platform deployment) and Knative is gone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helmOk, kubectl, kubectlOk } from '../harness/kubeconfig';
import { CHART, helmInstall, installedDocuments, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { knativeServiceReady, podReady, revisionPods as revisionPodsOf, startWebhook, waitForJob, waitForWebhook, WEBHOOK_SERVICE } from '../harness/webhook';
import {
  ingressStatus,
  installKnative,
  KNATIVE_NAMESPACE,
  missingKnativeTools,
  podMemory,
  localRegistryName,
  startIngressStandIn,
  uninstallKnative,
  type IngressStandIn,
} from '../harness/knative';
import { waitFor } from '../harness/processes';
import { IMAGE } from '../../scripts/image';
import { skipSuite } from '../../test/support/skip';
import { assertInjected } from './checks';
import { api, cluster, containersNamed, createPod, enabledNamespace, mapLimit, pando, SIDECAR, simplePod, unique, type Obj } from './context';

const KSVC = 'pando-webhook';
// Finalized by Knative's controllers: gone before those stop.
const KNATIVE_OBJECTS = 'ksvc,configurations,routes,revisions,ingresses.networking.internal.knative.dev,serverlessservices,podautoscalers';
const namespace = unique('kn-release');
const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const condition = (obj: Obj, type: string) => obj.status?.conditions?.find((c: Obj) => c.type === type);
const ksvc = () => getJson(['-n', SYSTEM_NAMESPACE, 'get', 'ksvc', KSVC]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sidecarMode = (pod: Obj) => containersNamed(pod, SIDECAR)[0]?.env?.find((e: Obj) => e.name === 'PANDO_MODE')?.value;

const revisionPods = (revision: string) => revisionPodsOf(api, revision);
const serviceReady = () => knativeServiceReady(cluster);

/** Every answer a 201 with the sidecar; the modes they were injected with, in order. */
function assertAllInjected(answers: Obj[], modes: string[]): string[] {
  const refused = answers.filter((a) => a.status !== 201);
  assert.equal(
    refused.map((a) => `${a.status} ${a.body?.message ?? ''}`),
    [],
    'none refused',
  );
  const uninjected = answers.filter((a) => containersNamed(a.body, SIDECAR).length !== 1);
  assert.is(uninjected.length, 0, `${uninjected.length} of ${answers.length} pods without the sidecar: ${uninjected[0]?.warnings?.join(' | ')}`);
  const seen = answers.map((a) => sidecarMode(a.body));
  for (const [i, answer] of answers.entries()) {
    assert.ok(modes.includes(seen[i]), `${answer.body.metadata.name}: mode ${seen[i]}`);
    assertInjected(answer.body, { mode: seen[i] });
  }
  return seen;
}

let standIn: IngressStandIn | undefined;
/** The image `npm run image` built, under the registry name Knative does not resolve. */
let image = '';

const missing = missingKnativeTools(cluster.tools);
if (missing.length) {
  skipSuite(test, 'the pando release on Knative Serving', `${missing.join(', ')} not in ${cluster.tools} (npm run tools builds them)`);
} else {
  test.before(() => {
    const seconds = installKnative(cluster, (line) => console.log(`knative: ${line}`));
    console.log(`knative: installed and rolled out in ${seconds.toFixed(1)} s`);
    standIn = startIngressStandIn(cluster);
    image = localRegistryName(cluster, IMAGE);
    // Admission only: these pods are stored, never run.
    enabledNamespace(namespace);
  });

  test.after(async () => {
    // The local cluster's install back (platform deployment), as up made it and later suites
    // expect; Knative's pods stopped only once the Knative Service and its pods are gone.
    try {
      helmInstall(cluster);
      await waitForWebhook(cluster);
      await startWebhook(cluster);
      await waitFor(
        'the Knative Service and what Knative made of it gone',
        async () => kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'get', KNATIVE_OBJECTS, '-o', 'name']).stdout.trim() === '',
        120_000,
      );
    } finally {
      standIn?.stop();
      kubectl(cluster, ['delete', 'namespace', namespace, '--wait=false']);
      uninstallKnative(cluster);
    }
  });

  test('the default install (platform knative), as a user runs it: the Service Ready, 2 revision pods of the image, the TLS Job Complete', async () => {
    const started = Date.now();
    // No platform given: the chart's default (as `npm run cluster -- up` installs it). The image the
    // node has (npm run image's), nothing pulled.
    helmInstall({ ...cluster, platform: 'knative' });
    const docs = installedDocuments(cluster);
    assert.ok(docs.some((d) => d.apiVersion === 'serving.knative.dev/v1' && d.kind === 'Service' && d.metadata.name === KSVC));
    assert.not.ok(
      docs.some((d) => d.kind === 'Deployment'),
      'no Deployment of our own',
    );
    const job = docs.find((d) => d.kind === 'Job' && d.metadata.name.startsWith('pando-webhook-tls-setup'));
    assert.ok(job, 'a TLS setup Job');
    await waitForJob(cluster, job.metadata.name);
    const revision = await serviceReady();
    console.log(`knative: helm upgrade --install to the Service Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const service = ksvc();
    for (const type of ['ConfigurationsReady', 'RoutesReady']) assert.is(condition(service, type)?.status, 'True', type);
    const pods = (await revisionPods(revision)).filter((pod) => !pod.metadata.deletionTimestamp);
    assert.is(pods.length, 2);
    for (const pod of pods) {
      assert.is(pod.status.phase, 'Running');
      const statuses = Object.fromEntries(pod.status.containerStatuses.map((s: Obj) => [s.name, s]));
      assert.equal(Object.keys(statuses).sort(), ['pando-webhook', 'queue-proxy']);
      assert.ok(statuses['pando-webhook'].ready && statuses['queue-proxy'].ready, pod.metadata.name);
      assert.is(pod.spec.containers.find((c: Obj) => c.name === 'pando-webhook').image, image);
      assert.is(statuses['pando-webhook'].restartCount, 0, `${pod.metadata.name} restarted`);
    }
    assert.is(kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'deployment', 'pando-webhook', '--ignore-not-found', '-o', 'name']).trim(), '');
    console.log(kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'ksvc,revision,pods,jobs']).trimEnd());
  });

  test("Knative's own webhook defaulted the stored Service and refuses what Knative refuses (a fieldRef in the env)", () => {
    const stored = ksvc();
    const spec = stored.spec.template.spec;
    assert.is(spec.timeoutSeconds, 30, 'ours kept');
    assert.is(spec.containerConcurrency, 0, "Knative's default");
    assert.ok(stored.metadata.annotations['serving.knative.dev/creator'], 'the creator annotation');
    assert.is(stored.spec.traffic?.[0]?.latestRevision, true, "Knative's default traffic");
    const sent = installedDocuments(cluster).find((d) => d.kind === 'Service' && d.apiVersion === 'serving.knative.dev/v1') as Obj;
    sent.spec.template.spec.containers[0].env.push({ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    const refused = kubectl(cluster, ['apply', '--dry-run=server', '-f', '-'], JSON.stringify(sent));
    assert.is(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /validation\.webhook\.serving\.knative\.dev/);
    assert.match(refused.stderr, /must not set the field\(s\): spec\.template\.spec\.containers\[0\]\.env\[\d+\]\.valueFrom\.fieldRef/);
  });

  test('pods of an enabled namespace are injected through pando-webhook-https, whose endpoints are the revision pods', async () => {
    const revision = ksvc().status.latestReadyRevisionName;
    const ips = (await revisionPods(revision)).filter(podReady).map((pod) => pod.status.podIP);
    const mwc = getJson(['get', 'mutatingwebhookconfiguration', 'pando-webhook']);
    assert.equal(mwc.webhooks[0].clientConfig.service, { namespace: SYSTEM_NAMESPACE, name: WEBHOOK_SERVICE, port: 443, path: '/' });
    let endpoints: string[] = [];
    await waitFor(
      `${WEBHOOK_SERVICE}'s endpoints the revision pods`,
      async () => {
        const slices = getJson(['-n', SYSTEM_NAMESPACE, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${WEBHOOK_SERVICE}`]).items as Obj[];
        endpoints = slices.flatMap((s) => (s.endpoints ?? []).filter((e: Obj) => e.conditions?.ready).flatMap((e: Obj) => e.addresses));
        return endpoints.sort().join() === [...ips].sort().join();
      },
      60_000,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}: endpoints ${endpoints.join(', ')}, pods ${ips.join(', ')}`, { cause: error });
    });
    const answer = await createPod(namespace, simplePod(unique('direct')));
    assert.is(answer.status, 201);
    assertInjected(answer.body);
    // The admission reached a revision pod: its log line names the namespace (never the pod's content).
    const logs = kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'logs', '-l', `serving.knative.dev/revision=${revision}`, '-c', 'pando-webhook', '--tail=200']);
    assert.match(logs, new RegExp(`"namespace":"${namespace}"`));
  });

  test('a revision pod deleted (gracefully) while 150 protected pods are created: every one injected, none refused, the pod replaced', async () => {
    const revision = ksvc().status.latestReadyRevisionName;
    const [victim] = (await revisionPods(revision)).filter(podReady);
    let deletedAt = 0;
    const answers = await mapLimit(
      Array.from({ length: 150 }, (_, i) => i),
      4,
      async (i) => {
        if (i === 30) {
          kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'pod', victim.metadata.name, '--wait=false']);
          deletedAt = Date.now();
        }
        return createPod(namespace, simplePod(unique('kn-storm')));
      },
    );
    console.log(`knative: 150 pods created, the last ${((Date.now() - deletedAt) / 1000).toFixed(1)} s after the deletion`);
    assertAllInjected(answers, ['monitor']);
    await waitFor(
      'the deleted revision pod replaced',
      async () => {
        const pods = (await revisionPods(revision)).filter(podReady);
        return pods.length === 2 && pods.every((pod) => pod.metadata.name !== victim.metadata.name);
      },
      120_000,
    );
    // Still creating pods until the deleted one is gone: it must serve until its endpoint is.
    const after: Obj[] = [];
    await waitFor(
      'the deleted revision pod gone',
      async () => {
        after.push(...(await Promise.all([1, 2].map(() => createPod(namespace, simplePod(unique('kn-storm')))))));
        return !(await revisionPods(revision)).some((pod) => pod.metadata.name === victim.metadata.name);
      },
      180_000,
    );
    assertAllInjected(after, ['monitor']);
    console.log(`knative: ${after.length} more pods injected until the deleted pod was gone`);
  });

  test('helm upgrade --set defaultMode=enforce makes a new Revision; pods created during its rollout: each injected, old or new mode, none refused', async () => {
    const old = ksvc().status.latestReadyRevisionName;
    const answers: Obj[] = [];
    let done = false;
    let stopAt: number;
    const loop = Promise.all(
      [0, 1, 2].map(async () => {
        while (!done && answers.length < 1500) {
          answers.push(await createPod(namespace, simplePod(unique('kn-roll'))));
          await sleep(200);
        }
      }),
    );
    try {
      await sleep(1000);
      helmOk(cluster, ['upgrade', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--reuse-values', '--set', 'defaultMode=enforce']);
      const fresh = await serviceReady();
      assert.is.not(fresh, old, 'a new Revision');
      // The old Revision, no longer routed, is scaled to zero by Knative's autoscaler.
      await waitFor('the old Revision without pods', async () => (await revisionPods(old)).length === 0, 300_000);
      stopAt = answers.length;
      await sleep(3000);
    } finally {
      done = true;
      await loop;
    }
    const modes = assertAllInjected(answers, ['monitor', 'enforce']);
    assert.is(modes[0], 'monitor', 'the first pods: the old settings');
    // A few answers may have been on their way when the old pods were found gone.
    assert.ok(
      modes.slice(stopAt + 3).every((mode) => mode === 'enforce'),
      'once the old Revision is gone: the new settings',
    );
    const firstNew = modes.indexOf('enforce');
    assert.ok(firstNew > 0);
    const mixed = modes.slice(firstNew).filter((mode) => mode === 'monitor').length;
    console.log(
      `knative: ${answers.length} pods during the rollout ${old} -> ${ksvc().status.latestReadyRevisionName}: ${firstNew} monitor, then ${modes.length - firstNew} more, ${mixed} of them monitor (the old pods still answering); the old pods gone after pod ${stopAt}`,
    );
    assert.is(ksvc().spec.template.spec.containers[0].env.find((e: Obj) => e.name === 'PANDO_DEFAULT_MODE').value, 'enforce');
  });

  test('kubectl pando check passes on the Knative install, and names the failing step when the Knative Service is not Ready', async () => {
    const check = () => {
      const run = pando(['check', '-o', 'json', '-n', namespace]);
      return { code: run.code, checks: JSON.parse(run.stdout || '{"checks":[]}').checks as Obj[], text: run.stdout + run.stderr };
    };
    const healthy = check();
    assert.is(healthy.code, 0, healthy.text);
    assert.equal(
      healthy.checks.filter((c) => !c.ok),
      [],
    );
    assert.match(healthy.checks.find((c) => c.id === 'webhook-ready')?.detail, /^knative: Ready=True/);
    // The networking layer (here its stand-in) reports the Route's KIngress failed.
    standIn!.hold(SYSTEM_NAMESPACE, KSVC);
    try {
      const ingress = getJson(['-n', SYSTEM_NAMESPACE, 'get', 'ingresses.networking.internal.knative.dev', KSVC]);
      const failure = { reason: 'LoadBalancerFailed', message: 'the gateway refused the route (written by the e2e)' };
      kubectlOk(cluster, [
        '-n',
        SYSTEM_NAMESPACE,
        'patch',
        'ingresses.networking.internal.knative.dev',
        KSVC,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: ingressStatus(ingress, failure) }),
      ]);
      await waitFor('the Knative Service not Ready', async () => condition(ksvc(), 'Ready')?.status === 'False', 60_000);
      const broken = check();
      assert.is(broken.code, 1, broken.text);
      const failing = broken.checks.filter((c) => !c.ok);
      assert.equal(
        failing.map((c) => c.id),
        ['webhook-ready'],
        broken.text,
      );
      assert.match(failing[0].detail, /^knative: Ready=False.*RoutesReady=False/);
      assert.match(failing[0].fix, /describe ksvc pando-webhook/);
      console.log(`knative: check with the KIngress failed: ${failing[0].check}: ${failing[0].detail}`);
      // The direct route does not go through the Route: admissions still reach the pods.
      assert.ok(broken.checks.find((c) => c.id === 'dry-run-injected')?.ok);
    } finally {
      standIn!.release(SYSTEM_NAMESPACE, KSVC);
    }
    await serviceReady();
    // After some minutes of work the kubelet's summary has every pod's figure.
    for (const ns of [KNATIVE_NAMESPACE, SYSTEM_NAMESPACE]) console.log(`knative: memory (MiB, RSS/working set) in ${ns}: ${podMemory(cluster, ns)}`);
  });
}

test.run();
