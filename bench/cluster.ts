// The admission cost the API server sees, on the local cluster with its node: five setups in one
// cluster, taking turns on each workload: no webhook at all, a no-op mutating webhook served the
// same way as ours (our image running a bare node:https server that answers allowed: true, with
// its own TLS, Service, two replicas and the same resources), the same no-op server answering
// with our patch (the replay: what the mutation itself costs the API server, with none of our
// webhook's work), ours, and ours with its matchCondition switched off for its turns (always).
// The pods carry a scheduling gate: they are admitted and stored, never scheduled, so this
// measures admission.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueServingCert } from '../function/tls/certs';
import { serviceDnsNames } from '../function/tls/config';
import type { Api } from '../e2e/harness/api';
import { httpGet } from '../e2e/harness/control-plane';
import { kubectl, kubectlOk } from '../e2e/harness/kubeconfig';
import { ensureNamespace, enableNamespace } from '../e2e/harness/namespaces';
import { SYSTEM_NAMESPACE, WEBHOOK_DEPLOYMENT } from '../e2e/harness/release';
import { type ClusterState } from '../e2e/harness/state';
import { WEBHOOK_SERVICE } from '../e2e/harness/webhook';
import { CGROUP_ROOT } from '../e2e/harness/host';
import { STANDIN_IMAGES } from '../e2e/harness/images';
import { waitFor } from '../e2e/harness/processes';
import { IMAGE } from '../scripts/image';
import { SPAN_EVERY, traceparent } from './spans';

import { SETUPS, type Setup } from './cluster-report';
export { SETUPS, type Setup };

type Obj = Record<string, any>;
// always is ours with the matchCondition switched off for its turns: same namespace, pods, webhook.
export const NAMESPACE_OF: Record<Setup, string> = {
  none: 'bench-none',
  noop: 'bench-noop',
  replay: 'bench-replay',
  ours: 'bench-ours',
  always: 'bench-ours',
};
/** Our webhook skips these (excludedNamespaces): every other setup's namespace. */
export const EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE_OF.none, NAMESPACE_OF.noop, NAMESPACE_OF.replay];
const NOOP = 'bench-noop';
const WEBHOOK_NAME: Record<Setup, string | undefined> = {
  none: undefined,
  noop: 'noop.bench.pando.local',
  replay: 'replay.bench.pando.local',
  ours: 'inject.pandocore.xyz',
  always: 'inject.pandocore.xyz',
};

export const NOOP_SERVER = `// The floor of any webhook: TLS, read the review, answer allowed: true. On /replay, with the
// patch ours gave for the bench pod, its token volume renamed to this pod's (as ours finds it).
// Each path's calls and their time here (headers in to answer written, as ours logs servedMs)
// are printed once a second when they change: no line per call, which would raise the floor.
const https = require('node:https');
const fs = require('node:fs');
const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '');
const tls = process.env.BENCH_TLS_DIR || '/tls';
const template = read((process.env.BENCH_NOOP_DIR || '/noop') + '/patch.json');
const probeVolume = read((process.env.BENCH_NOOP_DIR || '/noop') + '/token-volume');
const served = { noop: { calls: 0, ms: 0 }, replay: { calls: 0, ms: 0 } };
const server = https.createServer({ cert: fs.readFileSync(tls + '/tls.crt'), key: fs.readFileSync(tls + '/tls.key') }, (req, res) => {
  const receivedAt = performance.now();
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const uid = JSON.parse(body).request.uid;
    const response = { uid, allowed: true };
    // The API server adds ?timeout=5s to the path.
    const replay = req.url.startsWith('/replay');
    if (replay) {
      const volume = /"(kube-api-access-[a-z0-9]+)"/.exec(body);
      const patch = probeVolume && volume ? template.split(probeVolume).join(volume[1]) : template;
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(patch).toString('base64');
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    const path = replay ? served.replay : served.noop;
    path.calls++;
    path.ms += performance.now() - receivedAt;
  });
});
let printed = 0;
setInterval(() => {
  if (served.noop.calls + served.replay.calls === printed) return;
  printed = served.noop.calls + served.replay.calls;
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), msg: 'served', ...served }) + '\\n');
}, 1000).unref();
server.listen(Number(process.env.BENCH_PORT || 8443));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const RESTRICTED = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true };

/**
 * The setups' namespaces, and the no-op webhook with its own TLS, Service and pods; its replay
 * answers with the patch our running webhook gives for the bench pod.
 */
export async function prepare(state: ClusterState, api: Api, replicas: number, resources: object) {
  ensureNamespace(state, NAMESPACE_OF.none);
  ensureNamespace(state, NAMESPACE_OF.noop, { 'pando.local/bench': 'noop' });
  ensureNamespace(state, NAMESPACE_OF.replay, { 'pando.local/bench': 'replay' });
  // The account our patch names (the API server refuses a pod whose account does not exist).
  const account = kubectl(state, ['-n', NAMESPACE_OF.replay, 'create', 'serviceaccount', 'pando-sidecar']);
  if (account.code !== 0 && !/already exists/i.test(account.stderr)) throw new Error(`pando-sidecar ServiceAccount: ${account.stderr.trim()}`);
  enableNamespace(state, NAMESPACE_OF.ours);
  const ours = await ourPatch(state, api);
  const ca = await createCa('bench-noop CA');
  const serving = await issueServingCert(ca, { dnsNames: serviceDnsNames(NOOP, SYSTEM_NAMESPACE) });
  const labels = { 'app.kubernetes.io/name': NOOP };
  const docs = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${NOOP}-tls`, namespace: SYSTEM_NAMESPACE },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': serving.cert, 'tls.key': serving.key },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: NOOP, namespace: SYSTEM_NAMESPACE },
      data: { 'server.js': NOOP_SERVER, 'patch.json': ours.patch, 'token-volume': ours.tokenVolume },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NOOP, namespace: SYSTEM_NAMESPACE, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: NOOP,
                image: IMAGE,
                command: ['node', '/noop/server.js'],
                ports: [{ name: 'https', containerPort: 8443 }],
                readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 2 },
                resources,
                securityContext: RESTRICTED,
                volumeMounts: [
                  { name: 'tls', mountPath: '/tls', readOnly: true },
                  { name: 'server', mountPath: '/noop', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'tls', secret: { secretName: `${NOOP}-tls` } },
              { name: 'server', configMap: { name: NOOP } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NOOP, namespace: SYSTEM_NAMESPACE },
      spec: { selector: labels, ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: NOOP },
      // The no-op and its replay: the same pods, each on a path and namespace label of its own.
      webhooks: (['noop', 'replay'] as const).map((setup) => ({
        name: WEBHOOK_NAME[setup],
        clientConfig: {
          service: { namespace: SYSTEM_NAMESPACE, name: NOOP, port: 443, path: setup === 'replay' ? '/replay' : '/' },
          caBundle: Buffer.from(ca.cert).toString('base64'),
        },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: { 'pando.local/bench': setup } },
        objectSelector: { matchLabels: { 'pandocore.xyz/protect': 'true' } },
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
      })),
    },
  ];
  kubectlOk(state, ['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'rollout', 'status', `deployment/${NOOP}`, '--timeout=180s']);
  await waitFor('the replay giving the pod ours gives', async () => sameAsOurs(state), 60_000).catch(() => {
    throw new Error(`the replay's pod differs from ours: ${JSON.stringify(dryRunPod(state, NAMESPACE_OF.replay).spec)}`);
  });
}

/** The bench pod as the API server would store it in a namespace (a server-side dry run). */
function dryRunPod(state: ClusterState, namespace: string, name = 'bench-probe'): Obj {
  return JSON.parse(kubectlOk(state, ['-n', namespace, 'create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(gatedPod(name))));
}

/** What the replay stores equals what ours stores, but for the names the API server makes up. */
function sameAsOurs(state: ClusterState): boolean {
  const shape = (pod: Obj) =>
    JSON.stringify({ annotations: pod.metadata.annotations, spec: pod.spec }).replace(/kube-api-access-[a-z0-9]+/g, 'kube-api-access');
  return shape(dryRunPod(state, NAMESPACE_OF.replay)) === shape(dryRunPod(state, NAMESPACE_OF.ours));
}

/**
 * The patch our running webhook answers for the bench pod, as the API server would send it (its
 * defaults and token volume in; no webhook on bench-none), asked through the API server's proxy to
 * our Service; and the name of the token volume it mounts, which the replay renames per pod.
 */
async function ourPatch(state: ClusterState, api: Api): Promise<{ patch: string; tokenVolume: string }> {
  const object = dryRunPod(state, NAMESPACE_OF.none);
  // What the API server adds after the webhooks (at storage) is not in what they see.
  for (const field of ['uid', 'creationTimestamp', 'resourceVersion', 'managedFields']) delete object.metadata[field];
  delete object.status;
  object.metadata.namespace = NAMESPACE_OF.ours;
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-4000-8000-000000000021',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: object.metadata.name,
      namespace: NAMESPACE_OF.ours,
      operation: 'CREATE',
      userInfo: { username: 'bench:cluster' },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
  const answer = await api.post(`/api/v1/namespaces/${SYSTEM_NAMESPACE}/services/https:${WEBHOOK_SERVICE}:https/proxy/`, review);
  const patch = answer.body?.response?.patch;
  if (answer.status !== 200 || typeof patch !== 'string')
    throw new Error(`our webhook's patch for the bench pod: HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
  const volumes: Obj[] = object.spec.volumes ?? [];
  return { patch: Buffer.from(patch, 'base64').toString('utf8'), tokenVolume: volumes.find((v) => /^kube-api-access-/.test(v.name))?.name ?? '' };
}

/** A protected pod held by a scheduling gate: admitted, stored, never scheduled. */
export const gatedPod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { 'pandocore.xyz/protect': 'true', app: 'bench' } },
  spec: { schedulingGates: [{ name: 'pando.local/bench' }], containers: [{ name: 'app', image: STANDIN_IMAGES.app }] },
});

export interface Sample {
  latenciesMs: number[];
  failures: string[];
  seconds: number;
}

/**
 * Creates `count` pods at `rate` per second (each on its own schedule, not after the last one).
 * With `traced`, every SPAN_EVERY-th creation carries a sampled traceparent, whose trace id is added to it.
 */
export async function steady(api: Api, namespace: string, rate: number, count: number, prefix: string, traced?: Set<string>): Promise<Sample> {
  const latenciesMs: number[] = [];
  const failures: string[] = [];
  const start = performance.now();
  const creations: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    creations.push(
      (async () => {
        const sent = performance.now();
        try {
          let headers: Record<string, string> | undefined;
          if (traced && i % SPAN_EVERY === 0) {
            const parent = traceparent();
            traced.add(parent.trace);
            headers = { traceparent: parent.header };
          }
          const answer = await api.post(`/api/v1/namespaces/${namespace}/pods`, gatedPod(`${prefix}-${i}`), headers);
          latenciesMs.push(performance.now() - sent);
          if (answer.status !== 201) failures.push(`HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 160)}`);
        } catch (error) {
          failures.push(String((error as Error).message));
        }
      })(),
    );
  }
  await Promise.all(creations);
  return { latenciesMs, failures, seconds: (performance.now() - start) / 1000 };
}

/** The time until a controller has created `count` pods of its workload (counted by label). */
async function createdWithin(state: ClusterState, namespace: string, selector: string, count: number, started: number) {
  let created = 0;
  await waitFor(
    `${count} pods (${selector})`,
    async () => {
      // kubectl, not the small API client: the list of 500 pods is over its 1 MiB answer limit.
      created = kubectlOk(state, ['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'name']).split('\n').filter(Boolean).length;
      return created >= count;
    },
    300_000,
  );
  return { seconds: (performance.now() - started) / 1000, created };
}

/** A Deployment of gated pods scaled from 0 to `replicas`. */
export async function deploymentBurst(state: ClusterState, namespace: string, name: string, replicas: number) {
  const template = gatedPod('x');
  const labels = { ...template.metadata.labels, app: name };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels }, spec: template.spec } },
  };
  kubectlOk(state, ['apply', '-f', '-'], JSON.stringify(deployment));
  const started = performance.now();
  kubectlOk(state, ['-n', namespace, 'scale', `deployment/${name}`, `--replicas=${replicas}`]);
  return createdWithin(state, namespace, `app=${name}`, replicas, started);
}

/** A Job of `completions` gated pods, `parallelism` at a time: the controller creates the first `parallelism`. */
export async function jobBurst(state: ClusterState, namespace: string, name: string, completions: number, parallelism: number) {
  const template = gatedPod('x');
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace },
    spec: {
      completions,
      parallelism,
      template: { metadata: { labels: { ...template.metadata.labels, app: name } }, spec: { ...template.spec, restartPolicy: 'Never' } },
    },
  };
  const started = performance.now();
  kubectlOk(state, ['apply', '-f', '-'], JSON.stringify(job));
  return createdWithin(state, namespace, `app=${name}`, parallelism, started);
}

/** Every pod of the namespace deleted, and gone, so the next turn starts from the same count. */
export async function clear(state: ClusterState, api: Api, namespace: string) {
  kubectl(state, ['-n', namespace, 'delete', 'deployments,jobs', '--all', '--wait=false']);
  // One DELETE for the whole collection: thousands of gated pods, none running.
  await waitFor(
    `${namespace} empty`,
    async () => {
      await api.delete(`/api/v1/namespaces/${namespace}/pods?gracePeriodSeconds=0`);
      return ((await api.get(`/api/v1/namespaces/${namespace}/pods?limit=1`)).body.items ?? []).length === 0;
    },
    300_000,
  );
}

/** Pods of the namespace without our sidecar (a container or init container named pando-sidecar). */
export function uninjectedPods(state: ClusterState, namespace: string): string[] {
  const lines = kubectlOk(state, [
    '-n',
    namespace,
    'get',
    'pods',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name} {.spec.initContainers[*].name} {.spec.containers[*].name}{"\\n"}{end}',
  ]);
  return lines
    .split('\n')
    .filter(Boolean)
    .filter((line) => !line.split(' ').slice(1).includes('pando-sidecar'))
    .map((line) => line.split(' ')[0]);
}

/** One metric of the API server summed over its series whose labels pass `want` (0 when none does). */
const sumWhere = (metrics: string, metric: string, want: (labels: string) => boolean) =>
  metrics
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) && want(line.slice(metric.length, line.lastIndexOf('}') + 1)))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

const STEP = 'apiserver_admission_step_admission_duration_seconds';
const PLUGIN = 'apiserver_admission_controller_admission_duration_seconds';
/** The plugins that call webhooks and admission policies; the rest of the mutating chain is in-tree. */
const DYNAMIC_PLUGINS = ['MutatingAdmissionWebhook', 'MutatingAdmissionPolicy'];

/**
 * The API server's own view of one webhook: its admission-duration histogram's sum and count,
 * the calls it failed open on (failurePolicy Ignore), the calls that were rejected or errored, and
 * its time evaluating the webhook's matchConditions. With them, whatever the webhook, the time
 * of the whole mutating (admit) and validating (validate) admission steps of every CREATE: at a
 * steady rate the bench's pods are almost all of them. The validating step holds the chart's
 * safety-net policy, whose own metric counts only its denials and errors. And the mutating chain's
 * passes: the API server runs the whole chain again after any webhook changed the object
 * (k8s.io/apiserver admission/reinvocation.go), so the webhook plugin's admit count grows by two
 * per mutated creation, one otherwise; the in-tree plugins' admit time is what that second pass
 * costs them.
 */
export function webhookDuration(metrics: string, webhook: string | undefined) {
  const step = (type: string) => sumWhere(metrics, `${STEP}_sum`, (labels) => labels.includes('operation="CREATE"') && labels.includes(`type="${type}"`));
  const admitOf = (labels: string) => labels.includes('operation="CREATE"') && labels.includes('type="admit"');
  const named = (labels: string, names: string[]) => names.some((name) => labels.includes(`name="${name}"`));
  const steps = {
    admitSum: step('admit'),
    validateSum: step('validate'),
    webhookPluginPasses: sumWhere(metrics, `${PLUGIN}_count`, (labels) => admitOf(labels) && named(labels, ['MutatingAdmissionWebhook'])),
    inTreeAdmitSum: sumWhere(metrics, `${PLUGIN}_sum`, (labels) => admitOf(labels) && !named(labels, DYNAMIC_PLUGINS)),
  };
  if (!webhook) return { sum: 0, count: 0, failedOpen: 0, rejected: 0, matchSum: 0, matchCount: 0, ...steps };
  const sumFor = (metric: string) => sumWhere(metrics, metric, (labels) => labels.includes(`name="${webhook}"`));
  return {
    ...steps,
    // Observed only for evaluations that skip the call (k8s.io/apiserver webhook/matchconditions).
    matchSum: sumFor('apiserver_admission_match_condition_evaluation_seconds_sum'),
    matchCount: sumFor('apiserver_admission_match_condition_evaluation_seconds_count'),
    sum: sumFor('apiserver_admission_webhook_admission_duration_seconds_sum'),
    count: sumFor('apiserver_admission_webhook_admission_duration_seconds_count'),
    failedOpen: sumFor('apiserver_admission_webhook_fail_open_count'),
    rejected: sumFor('apiserver_admission_webhook_rejection_count'),
  };
}

/** etcd's compactions so far, from its /metrics text: how many, their total milliseconds, the keys they removed. */
export function etcdCompactions(metrics: string) {
  const value = (name: string) => {
    const line = metrics.split('\n').find((each) => each.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  };
  return {
    compactions: value('etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count'),
    compactionMs: value('etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_sum'),
    keys: value('etcd_debugging_mvcc_db_compaction_keys_total'),
  };
}

/** etcd's /metrics, on its loopback client URL (plain HTTP, as the API server reaches it). */
export async function etcdMetrics(state: ClusterState): Promise<string> {
  const answer = await httpGet(`http://127.0.0.1:${state.ports.etcdClient}/metrics`, 10_000);
  if (answer.status !== 200) throw new Error(`etcd /metrics: HTTP ${answer.status}`);
  return answer.body;
}

/** The API server's /metrics (several MB: more than the small API client reads). */
export function apiServerMetrics(state: ClusterState): string {
  return kubectlOk(state, ['get', '--raw', '/metrics']);
}

export const webhookOf = (setup: Setup) => WEBHOOK_NAME[setup];

/**
 * Switches the matchConditions of our webhook in the installed configuration off (the always
 * setup's turns) and back on (ours'), as `webhook.skipInjected` would install it. The API server
 * takes it in from its watch within the settling time before a turn; the always turns check that
 * none was evaluated. undefined when the install has none (BENCH_HELM_SET webhook.skipInjected=false).
 */
export function matchConditionsSwitch(state: ClusterState): ((on: boolean) => void) | undefined {
  const name = WEBHOOK_NAME.ours;
  const configuration = JSON.parse(kubectlOk(state, ['get', 'mutatingwebhookconfiguration', 'pando-webhook', '-o', 'json']));
  const index = (configuration.webhooks as Obj[]).findIndex((webhook) => webhook.name === name);
  const conditions = configuration.webhooks[index]?.matchConditions;
  if (!conditions?.length) return undefined;
  let on = true;
  return (want: boolean) => {
    if (want === on) return;
    const path = `/webhooks/${index}/matchConditions`;
    const patch = [{ op: 'test', path: `/webhooks/${index}/name`, value: name }, want ? { op: 'add', path, value: conditions } : { op: 'remove', path }];
    kubectlOk(state, ['patch', 'mutatingwebhookconfiguration', 'pando-webhook', '--type=json', '-p', JSON.stringify(patch)]);
    on = want;
  };
}

// The replay is served by the no-op's pods.
const SELECTOR: Record<Exclude<Setup, 'none'>, string> = {
  noop: `app.kubernetes.io/name=${NOOP}`,
  replay: `app.kubernetes.io/name=${NOOP}`,
  ours: 'app.kubernetes.io/name=pando-webhook,app.kubernetes.io/component=webhook',
  always: 'app.kubernetes.io/name=pando-webhook,app.kubernetes.io/component=webhook',
};
const DEPLOYMENT: Record<Exclude<Setup, 'none'>, string> = { noop: NOOP, replay: NOOP, ours: WEBHOOK_DEPLOYMENT, always: WEBHOOK_DEPLOYMENT };
/** The Service the API server calls for a setup's webhook. */
export const SERVICE_OF: Record<Setup, string | undefined> = { none: undefined, noop: NOOP, replay: NOOP, ours: WEBHOOK_SERVICE, always: WEBHOOK_SERVICE };
export const selectorOf = (setup: Exclude<Setup, 'none'>) => SELECTOR[setup];

/**
 * CPU used so far by the pods of a setup's webhook, the time the kernel held them back at their
 * CPU limit, from their cgroups (cpuacct.usage; cpu.stat throttled_time), and the time their
 * threads waited, runnable, for a CPU the machine's other processes held (/proc schedstat
 * run_delay), in seconds.
 */
export function webhookCpuSeconds(state: ClusterState, setup: Setup): { used: number; throttled: number; waited: number; waitedMain: number } {
  if (setup === 'none') return { used: 0, throttled: 0, waited: 0, waitedMain: 0 };
  const pods = JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', SELECTOR[setup], '-o', 'json'])).items as {
    metadata: { uid: string };
  }[];
  let used = 0;
  let throttled = 0;
  let waited = 0;
  let waitedMain = 0; // the processes' main threads: where a call's JavaScript runs
  for (const pod of pods) {
    const cpuacct = podCgroup('cpuacct', pod.metadata.uid);
    const cpu = podCgroup('cpu', pod.metadata.uid);
    if (cpuacct) used += Number(readFileSync(join(cpuacct, 'cpuacct.usage'), 'utf8')) / 1e9;
    const stat = cpu ? /^throttled_time (\d+)$/m.exec(readFileSync(join(cpu, 'cpu.stat'), 'utf8')) : null;
    if (stat) throttled += Number(stat[1]) / 1e9;
    for (const thread of cpuacct ? threadsUnder(cpuacct) : []) {
      const delay = runDelaySeconds(thread);
      waited += delay;
      if (isMainThread(thread)) waitedMain += delay;
    }
  }
  return { used, throttled, waited, waitedMain };
}

/** The thread ids in a cgroup (v1 `tasks`) and the cgroups below it (the pod's containers). */
function threadsUnder(dir: string): string[] {
  const here = readFileSync(join(dir, 'tasks'), 'utf8').split('\n').filter(Boolean);
  const below = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  return [...here, ...below.flatMap((entry) => threadsUnder(join(dir, entry.name)))];
}

/** A process's first thread: its thread id is the process id (Tgid). */
export function isMainThread(thread: string, proc = '/proc'): boolean {
  try {
    return /^Tgid:\s+(\d+)$/m.exec(readFileSync(join(proc, thread, 'status'), 'utf8'))?.[1] === thread;
  } catch {
    return false;
  }
}

/** A thread's time runnable but not running, since it started (0 once it has exited). */
export function runDelaySeconds(thread: string, proc = '/proc'): number {
  try {
    return Number(readFileSync(join(proc, thread, 'schedstat'), 'utf8').split(' ')[1]) / 1e9 || 0;
  } catch {
    return 0;
  }
}

/** A setup's webhook at `replicas` pods, all ready, each an endpoint of its Service. */
export async function scaleWebhook(state: ClusterState, setup: Exclude<Setup, 'none'>, replicas: number) {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'scale', `deployment/${DEPLOYMENT[setup]}`, `--replicas=${replicas}`]);
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'rollout', 'status', `deployment/${DEPLOYMENT[setup]}`, '--timeout=180s']);
  const service = SERVICE_OF[setup];
  const ready = () =>
    (
      JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${service}`, '-o', 'json'])).items as {
        endpoints?: { conditions?: { ready?: boolean } }[];
      }[]
    ).reduce((total, slice) => total + (slice.endpoints ?? []).filter((endpoint) => endpoint.conditions?.ready).length, 0);
  const pods = () => kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', SELECTOR[setup], '-o', 'name']).trim().split('\n').filter(Boolean).length;
  await waitFor(`${setup} at ${replicas} endpoints`, async () => ready() === replicas && pods() === replicas, 180_000);
  // kube-proxy programs its rules from the endpoints a moment after.
  await new Promise((resolve) => setTimeout(resolve, 3000));
}

function podCgroup(controller: 'cpu' | 'cpuacct', uid: string): string | undefined {
  const root = join('/sys/fs/cgroup', controller, CGROUP_ROOT, 'kubepods');
  const want = `pod${uid}`;
  const find = (dir: string, depth: number): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name === want) return join(dir, entry.name);
      if (depth > 0) {
        const found = find(join(dir, entry.name), depth - 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return find(root, 1);
}
