// The admission cost the API server sees, on the local cluster with its node: three setups in one
// cluster, taking turns on each workload: no webhook at all, a no-op mutating webhook served the
// same way as ours (our image running a bare node:https server that answers allowed: true, with
// its own TLS, Service, two replicas and the same resources), and ours. The pods carry a
// scheduling gate: they are admitted and stored, never scheduled, so this measures admission.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueServingCert } from '../function/tls/certs';
import { serviceDnsNames } from '../function/tls/config';
import type { Api } from '../e2e/harness/api';
import { kubectl, kubectlOk } from '../e2e/harness/kubeconfig';
import { ensureNamespace, enableNamespace } from '../e2e/harness/namespaces';
import { SYSTEM_NAMESPACE } from '../e2e/harness/release';
import { type ClusterState } from '../e2e/harness/state';
import { webhookPods } from '../e2e/harness/webhook';
import { CGROUP_ROOT } from '../e2e/harness/host';
import { STANDIN_IMAGES } from '../e2e/harness/images';
import { waitFor } from '../e2e/harness/processes';
import { IMAGE } from '../scripts/image';

export const SETUPS = ['none', 'noop', 'ours'] as const;
export type Setup = (typeof SETUPS)[number];
export const NAMESPACE_OF: Record<Setup, string> = { none: 'bench-none', noop: 'bench-noop', ours: 'bench-ours' };
/** Our webhook skips these (excludedNamespaces): the no-webhook and no-op setups' namespaces. */
export const EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE_OF.none, NAMESPACE_OF.noop];
const NOOP = 'bench-noop';
const WEBHOOK_NAME: Record<Setup, string | undefined> = { none: undefined, noop: 'noop.bench.pando.local', ours: 'inject.pandocore.xyz' };

const NOOP_SERVER = `// The floor of any webhook: TLS, read the review, answer allowed: true.
const https = require('node:https');
const fs = require('node:fs');
const server = https.createServer({ cert: fs.readFileSync('/tls/tls.crt'), key: fs.readFileSync('/tls/tls.key') }, (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const uid = JSON.parse(body).request.uid;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
  });
});
server.listen(8443);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const RESTRICTED = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true };

/** The three setups' namespaces, and the no-op webhook with its own TLS, Service and pods. */
export async function prepare(state: ClusterState, replicas: number, resources: object) {
  ensureNamespace(state, NAMESPACE_OF.none);
  ensureNamespace(state, NAMESPACE_OF.noop, { 'pando.local/bench': 'noop' });
  enableNamespace(state, NAMESPACE_OF.ours);
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
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NOOP, namespace: SYSTEM_NAMESPACE }, data: { 'server.js': NOOP_SERVER } },
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
      webhooks: [
        {
          name: WEBHOOK_NAME.noop,
          clientConfig: { service: { namespace: SYSTEM_NAMESPACE, name: NOOP, port: 443, path: '/' }, caBundle: Buffer.from(ca.cert).toString('base64') },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
          namespaceSelector: { matchLabels: { 'pando.local/bench': 'noop' } },
          objectSelector: { matchLabels: { 'pandocore.xyz/protect': 'true' } },
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          timeoutSeconds: 5,
          admissionReviewVersions: ['v1'],
        },
      ],
    },
  ];
  kubectlOk(state, ['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'rollout', 'status', `deployment/${NOOP}`, '--timeout=180s']);
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

/** Creates `count` pods at `rate` per second (each on its own schedule, not after the last one). */
export async function steady(api: Api, namespace: string, rate: number, count: number, prefix: string): Promise<Sample> {
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
          const answer = await api.post(`/api/v1/namespaces/${namespace}/pods`, gatedPod(`${prefix}-${i}`));
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
async function createdWithin(api: Api, namespace: string, selector: string, count: number, started: number) {
  let created = 0;
  await waitFor(
    `${count} pods (${selector})`,
    async () => {
      const list = await api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
      created = list.body.items?.length ?? 0;
      return created >= count;
    },
    300_000,
  );
  return { seconds: (performance.now() - started) / 1000, created };
}

/** A Deployment of gated pods scaled from 0 to `replicas`. */
export async function deploymentBurst(state: ClusterState, api: Api, namespace: string, name: string, replicas: number) {
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
  return createdWithin(api, namespace, `app=${name}`, replicas, started);
}

/** A Job of `completions` gated pods, `parallelism` at a time: the controller creates the first `parallelism`. */
export async function jobBurst(state: ClusterState, api: Api, namespace: string, name: string, completions: number, parallelism: number) {
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
  return createdWithin(api, namespace, `app=${name}`, parallelism, started);
}

/** Every pod of the namespace deleted, and gone, so the next turn starts from the same count. */
export async function clear(state: ClusterState, namespace: string) {
  kubectl(state, ['-n', namespace, 'delete', 'deployments,jobs,pods', '--all', '--wait=false', '--grace-period=0']);
  await waitFor(`${namespace} empty`, async () => kubectl(state, ['-n', namespace, 'get', 'pods', '-o', 'name']).stdout.trim() === '', 300_000);
}

/** The API server's own view: its admission-webhook duration histogram's sum and count for one webhook. */
export function webhookDuration(metrics: string, webhook: string | undefined): { sum: number; count: number } {
  if (!webhook) return { sum: 0, count: 0 };
  const read = (suffix: string) =>
    metrics
      .split('\n')
      .filter((line) => line.startsWith(`apiserver_admission_webhook_admission_duration_seconds_${suffix}{`) && line.includes(`name="${webhook}"`))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { sum: read('sum'), count: read('count') };
}

/** The API server's /metrics (several MB: more than the small API client reads). */
export function apiServerMetrics(state: ClusterState): string {
  return kubectlOk(state, ['get', '--raw', '/metrics']);
}

export const webhookOf = (setup: Setup) => WEBHOOK_NAME[setup];

/** CPU seconds used so far by the pods of a setup's webhook, from their cgroups (cpuacct, ns). */
export function webhookCpuSeconds(state: ClusterState, setup: Setup): number {
  if (setup === 'none') return 0;
  const selector = setup === 'ours' ? undefined : `app.kubernetes.io/name=${NOOP}`;
  const uids =
    setup === 'ours'
      ? webhookPods(state).map((pod) => podUid(state, pod.name))
      : (JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', selector!, '-o', 'json'])).items as { metadata: { uid: string } }[]).map(
          (pod) => pod.metadata.uid,
        );
  return uids.reduce((total, uid) => total + cgroupCpu(uid), 0);
}

const podUid = (state: ClusterState, name: string) => kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pod', name, '-o', 'jsonpath={.metadata.uid}']).trim();

function cgroupCpu(uid: string): number {
  const root = join('/sys/fs/cgroup/cpuacct', CGROUP_ROOT, 'kubepods');
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
  const dir = find(root, 1);
  return dir ? Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9 : 0;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
