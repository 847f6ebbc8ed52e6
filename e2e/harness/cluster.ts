// The local cluster: etcd, kube-apiserver and kube-controller-manager as host processes, a node
// (node.ts) that runs every pod, the image `npm run image` built imported into it, and the chart
// installed as a user installs it. The TLS setup Job and the webhook run as pods of that image;
// the API server reaches the webhook through its Service's ClusterIP (kube-proxy's rules).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { apiClient, type Api } from './api';
import { envOf, platformOf } from '../../cli/read-install';
import { ARCHIVE, buildImage, IMAGE } from '../../scripts/image';
import { NETWORK, readJournal, restoreHost } from './host';
import { applyKnativeCrds } from './knative';
import { importImages, nodeAlive, nodeStatusLines, prepareNode, startNode, stopNode, type NodeState } from './node';
import { STANDIN_IMAGES } from './images';
import { writePki } from './pki';
import { freePort, isAlive, startDaemon, stopPid, waitFor } from './processes';
import { REPO, toolsDir } from './tools';

export const SYSTEM_NAMESPACE = 'pando-system';
export const DEMO_NAMESPACE = 'pando-demo';
export const WEBHOOK_SERVICE = 'pando-webhook-https';
export const LOCAL_LICENSE = 'local-cluster-license-not-for-production';
export const RELEASE = 'pando-webhook';
export const CHART = join(REPO, 'manifests', 'pando-webhook');

export interface ClusterState {
  dir: string;
  tools: string;
  kubeconfig: string;
  server: string;
  caFile: string;
  adminToken: string;
  /** Extra helm --set arguments of the install (platform=deployment ...). */
  helmSet: string[];
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  pids: { etcd?: number; apiserver?: number; controllerManager?: number };
  /** The node (containerd, kubelet, kube-proxy, scheduler, CoreDNS): it runs every pod, the webhook's too. */
  node?: NodeState;
}

type Obj = Record<string, any>;
type Say = (line: string) => void;

const statePath = (dir: string) => join(dir, 'state.json');
const saveState = (state: ClusterState) => writeFileSync(statePath(state.dir), `${JSON.stringify(state, null, 2)}\n`);

export function readState(dir: string): ClusterState | undefined {
  return existsSync(statePath(dir)) ? (JSON.parse(readFileSync(statePath(dir), 'utf8')) as ClusterState) : undefined;
}

export function adminApi(state: ClusterState): Api {
  return apiClient({ server: state.server, token: state.adminToken, ca: readFileSync(state.caFile, 'utf8') });
}

/** kubectl with the cluster's admin kubeconfig; the tools directory first on the PATH. */
export function kubectl(state: ClusterState, args: string[], input?: string) {
  const run = spawnSync(join(state.tools, 'kubectl'), args, { input, encoding: 'utf8', env: toolEnv(state), maxBuffer: 64 << 20 });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

export function kubectlOk(state: ClusterState, args: string[], input?: string): string {
  const run = kubectl(state, args, input);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${run.stderr.trim() || run.stdout.trim()}`);
  return run.stdout;
}

/** The environment a user of this cluster has: its kubeconfig, and kubectl, helm and task on the PATH. */
export function toolEnv(state: ClusterState): NodeJS.ProcessEnv {
  // dist/bin: kubectl finds the kubectl-pando plugin there, as on a user's PATH.
  return { ...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.tools}:${join(REPO, 'dist', 'bin')}:${process.env.PATH ?? ''}` };
}

// ---- control plane ------------------------------------------------------------------------

async function startEtcd(state: ClusterState) {
  const { etcdClient, etcdPeer } = state.ports;
  const client = `http://127.0.0.1:${etcdClient}`;
  const peer = `http://127.0.0.1:${etcdPeer}`;
  state.pids.etcd = startDaemon(
    join(state.tools, 'etcd'),
    [
      '--name=local',
      `--data-dir=${join(state.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=local=${peer}`,
      // A throwaway store: no fsync.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    join(state.dir, 'logs', 'etcd.log'),
  );
  saveState(state);
  await waitFor(
    'etcd',
    async () => (await httpGet(`${client}/health`)).status === 200,
    30_000,
    () => isAlive(state.pids.etcd),
  );
}

async function startApiServer(state: ClusterState, pki: Awaited<ReturnType<typeof writePki>>) {
  state.pids.apiserver = startDaemon(
    join(state.tools, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${state.ports.etcdClient}`,
      `--secure-port=${state.ports.apiserver}`,
      // On the node's bridge, so pods reach it through the kubernetes Service (10.96.0.1).
      `--bind-address=${NETWORK.nodeIp}`,
      `--advertise-address=${NETWORK.nodeIp}`,
      '--endpoint-reconciler-type=lease',
      // kubectl logs and exec: the kubelet serves on the node IP and checks this client certificate.
      '--kubelet-preferred-address-types=InternalIP',
      `--kubelet-client-certificate=${pki.kubeletClientCertFile}`,
      `--kubelet-client-key=${pki.kubeletClientKeyFile}`,
      // The e2e suites that predate the node keep their namespaces' pods off it (keepOffNode).
      '--enable-admission-plugins=PodNodeSelector',
      `--tls-cert-file=${pki.certFile}`,
      `--tls-private-key-file=${pki.keyFile}`,
      `--cert-dir=${join(state.dir, 'pki')}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      // Routed to the node's bridge; kube-proxy's rules send the webhook's Service to its pods.
      `--service-cluster-ip-range=${NETWORK.serviceCidr}`,
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
    ],
    join(state.dir, 'logs', 'kube-apiserver.log'),
  );
  saveState(state);
  await waitForApi(state, 'kube-apiserver', '/readyz', 90_000, state.pids.apiserver);
}

/** Polls an API path with the admin client until it answers 200, while the process runs. */
async function waitForApi(state: ClusterState, what: string, path: string, timeoutMs: number, pid: number | undefined) {
  const api = adminApi(state);
  try {
    await waitFor(
      what,
      async () => (await api.get(path)).status === 200,
      timeoutMs,
      () => isAlive(pid),
    );
  } finally {
    api.close();
  }
}

/**
 * The controllers a namespace and a policy need from a real cluster: default ServiceAccounts,
 * kube-root-ca.crt, namespace deletion, garbage collection, and the policy type checker that
 * writes ValidatingAdmissionPolicy status; the workload controllers (Deployment, ReplicaSet, Job,
 * CronJob, StatefulSet), so pods come from templates as in a cluster; and what a node needs: node
 * lifecycle and taint eviction (else the not-ready taint stays), endpoints and EndpointSlices
 * (else Services get no endpoints), pod garbage collection, disruption budgets.
 */
const CONTROLLERS = [
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'validatingadmissionpolicy-status-controller',
  'deployment-controller',
  'replicaset-controller',
  'job-controller',
  'cronjob-controller',
  'statefulset-controller',
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'pod-garbage-collector-controller',
  'disruption-controller',
  'ttl-after-finished-controller',
  // Knative's controller holds an aggregated ClusterRole (knative-serving-admin), empty without it.
  'clusterrole-aggregation-controller',
];

async function startControllerManager(state: ClusterState, pki: Awaited<ReturnType<typeof writePki>>) {
  state.pids.controllerManager = startDaemon(
    join(state.tools, 'kube-controller-manager'),
    [
      `--kubeconfig=${state.kubeconfig}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--root-ca-file=${pki.caFile}`,
      '--leader-elect=false',
      '--secure-port=0',
      // 20 requests/s by default: a Deployment scaled to 500 would measure the client, not admission.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ],
    join(state.dir, 'logs', 'kube-controller-manager.log'),
  );
  saveState(state);
  // Ready once the default namespace has its ServiceAccount.
  await waitForApi(state, 'kube-controller-manager', '/api/v1/namespaces/default/serviceaccounts/default', 60_000, state.pids.controllerManager);
}

function writeKubeconfig(state: ClusterState) {
  const ca = Buffer.from(readFileSync(state.caFile)).toString('base64');
  writeFileSync(
    state.kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: pando-local',
      `  cluster: {server: "${state.server}", certificate-authority-data: ${ca}}`,
      'users:',
      '- name: pando-admin',
      `  user: {token: ${state.adminToken}}`,
      'contexts:',
      '- name: pando-local',
      '  context: {cluster: pando-local, user: pando-admin}',
      'current-context: pando-local',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

// ---- the install --------------------------------------------------------------------------

export function parseDocuments(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === 'object');
}

/** helm with the cluster's kubeconfig (and kubectl, task on the PATH). */
export function helm(state: ClusterState, args: string[], input?: string) {
  const run = spawnSync(join(state.tools, 'helm'), args, { input, encoding: 'utf8', env: toolEnv(state), maxBuffer: 64 << 20 });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

export function helmOk(state: ClusterState, args: string[]): string {
  const run = helm(state, args);
  if (run.code !== 0) throw new Error(`helm ${args.join(' ')}: ${run.stderr.trim() || run.stdout.trim()}`);
  return run.stdout;
}

const tlsJobName = (state: ClusterState): string | undefined => tlsJobOf(installedDocuments(state))?.metadata.name;

/** Both webhook pods, as the node runs them: Deployment pando-webhook of the release. */
export const WEBHOOK_DEPLOYMENT = 'pando-webhook';
const WEBHOOK_PODS = 'app.kubernetes.io/name=pando-webhook,app.kubernetes.io/component=webhook';

/**
 * helm upgrade --reuse-values with these --set values, as an operator runs it, then what the
 * cluster does next on its own: a TLS setup Job of a new name runs, and a changed pod template
 * rolls the webhook's pods.
 */
export async function helmUpgrade(state: ClusterState, set: string[]) {
  helmOk(state, ['upgrade', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--reuse-values', ...set.flatMap((s) => ['--set', s])]);
  await waitForWebhook(state);
}

/** The TLS setup Job of the release complete, and the webhook's rollout done with every pod ready. */
export async function waitForWebhook(state: ClusterState) {
  const job = tlsJobName(state);
  if (job) await waitForJob(state, job);
  const rollout = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'rollout', 'status', `deployment/${WEBHOOK_DEPLOYMENT}`, '--timeout=180s']);
  if (rollout.code !== 0) throw new Error(`the webhook's rollout: ${rollout.stderr.trim()}\n${webhookLogs(state)}`);
  // Replaced pods keep serving the connections the API server holds to them until they are gone.
  await waitFor('the replaced webhook pods gone', async () => webhookPods(state).every((pod) => !pod.deleting), 120_000);
}

/** A Job of the release namespace Complete (the kubelet ran its pod); its pod's log when it failed. */
export async function waitForJob(state: ClusterState, job: string, timeoutMs = 180_000) {
  const condition = (type: string) =>
    kubectl(state, ['-n', SYSTEM_NAMESPACE, 'get', 'job', job, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].status}`]).stdout === 'True';
  try {
    await waitFor(
      `Job ${job} complete`,
      async () => condition('Complete'),
      timeoutMs,
      () => !condition('Failed'),
    );
  } catch (error) {
    const logs = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'logs', `job/${job}`, '--tail=20']);
    throw new Error(`${(error as Error).message}\n${logs.stdout}${logs.stderr}`, { cause: error });
  }
}

const webhookLogs = (state: ClusterState) => {
  const run = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'logs', '-l', WEBHOOK_PODS, '--tail=10', '--prefix']);
  return run.stdout + run.stderr;
};

/** The webhook's pods (name, IP, ready) as the node runs them. */
export function webhookPods(state: ClusterState): { name: string; ip: string; ready: boolean; deleting: boolean }[] {
  const pods = JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', WEBHOOK_PODS, '-o', 'json'])).items as Obj[];
  return pods.map((pod) => ({
    name: pod.metadata.name,
    ip: pod.status?.podIP ?? '',
    ready: (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'),
    deleting: Boolean(pod.metadata.deletionTimestamp),
  }));
}

/** The webhook's ready pods' IPs: the node's pod network is reachable from the host (the bridge). */
export function webhookPodIps(state: ClusterState): string[] {
  return webhookPods(state)
    .filter((pod) => pod.ready && !pod.deleting && pod.ip)
    .map((pod) => pod.ip);
}

/** What the release installed, as Helm recorded it. */
export function installedDocuments(state: ClusterState): Obj[] {
  return parseDocuments(helmOk(state, ['get', 'manifest', RELEASE, '-n', SYSTEM_NAMESPACE]));
}

/**
 * The README's install line, with the local license, the image built here (the node has it;
 * nothing is pulled) as a Deployment (Knative Serving does not run here yet), and the state's
 * extra values.
 */
export function helmInstall(state: ClusterState) {
  helmOk(state, [
    'upgrade',
    '--install',
    RELEASE,
    CHART,
    '--namespace',
    SYSTEM_NAMESPACE,
    '--create-namespace',
    '--set',
    `licenseKey=${LOCAL_LICENSE}`,
    ...LOCAL_VALUES.flatMap((value) => ['--set', value]),
    ...state.helmSet.flatMap((value) => ['--set', value]),
  ]);
}

/** How the local cluster installs: the image `npm run image` built, as a Deployment. */
export const LOCAL_VALUES = ['platform=deployment', `image=${IMAGE}`];

/** The webhook container's env as the install sets it (Knative Service, Deployment, Function). */
export function webhookEnv(docs: Obj[]): Record<string, string> {
  for (const doc of docs) {
    const platform = platformOf(doc);
    if (platform) return envOf(platform, doc);
  }
  throw new Error('the install has no webhook workload');
}

const tlsJobOf = (docs: Obj[]) => docs.find((d) => d.kind === 'Job' && d.metadata?.name?.startsWith('pando-webhook-tls-setup'));

/**
 * The renewal a CronJob run does, started by hand as an operator would:
 * kubectl create job --from=cronjob/pando-webhook-tls-renew. Returns the Job's name once Complete.
 */
export async function runTlsRenewal(state: ClusterState, name: string): Promise<string> {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'create', 'job', name, '--from=cronjob/pando-webhook-tls-renew']);
  await waitForJob(state, name);
  return name;
}

/** The replicas the release asks for. */
const releaseReplicas = (state: ClusterState): number => {
  const deployment = installedDocuments(state).find((d) => d.kind === 'Deployment' && d.metadata?.name === WEBHOOK_DEPLOYMENT);
  return deployment?.spec?.replicas ?? 2;
};

/**
 * The webhook's pods back, as many as the release asks for, all ready, and the API server's calls
 * reaching them: ready pods are not yet endpoints in kube-proxy's rules, and a call that meets no
 * endpoint is ignored (failurePolicy Ignore), so a server-side dry run must come back injected.
 */
export async function startWebhook(state: ClusterState) {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'scale', `deployment/${WEBHOOK_DEPLOYMENT}`, `--replicas=${releaseReplicas(state)}`]);
  await waitForWebhook(state);
  const probe = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'webhook-probe', labels: { 'pandocore.xyz/protect': 'true' } },
    spec: { containers: [{ name: 'app', image: STANDIN_IMAGES.app }] },
  });
  const injected = () => {
    const run = kubectl(state, ['-n', DEMO_NAMESPACE, 'create', '--dry-run=server', '-o', 'json', '-f', '-'], probe);
    return run.code === 0 && run.stdout.includes('"pando-sidecar"');
  };
  await waitFor('an admission reaching the webhook through its Service', async () => injected(), 60_000);
}

/** No webhook pod left (scaled to zero, each drained as on any deletion), and no endpoint either. */
export async function stopWebhook(state: ClusterState) {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'scale', `deployment/${WEBHOOK_DEPLOYMENT}`, '--replicas=0']);
  const endpoints = () =>
    kubectl(state, [
      '-n',
      SYSTEM_NAMESPACE,
      'get',
      'endpointslices',
      '-l',
      `kubernetes.io/service-name=${WEBHOOK_SERVICE}`,
      '-o',
      'jsonpath={.items[*].endpoints[*].addresses[*]}',
    ]).stdout.trim();
  await waitFor('the webhook pods gone', async () => webhookPods(state).length === 0 && endpoints() === '', 120_000);
}

/** The imperative path a user takes: task namespace:enable, run by the real task. */
export function enableNamespace(state: ClusterState, namespace: string, labels: Record<string, string> = {}) {
  ensureNamespace(state, namespace, labels);
  const run = spawnSync(join(state.tools, 'task'), ['--dir', REPO, 'namespace:enable', `NS=${namespace}`], { encoding: 'utf8', env: toolEnv(state) });
  if (run.status !== 0) throw new Error(`task namespace:enable NS=${namespace}: ${run.stdout}${run.stderr}`);
}

/**
 * A namespace as a real cluster gives it: with its `default` ServiceAccount (the controller
 * manager's job; the ServiceAccount admission plugin refuses pods without it).
 */
export function ensureNamespace(state: ClusterState, namespace: string, labels: Record<string, string> = {}) {
  const create = (args: string[]) => {
    const run = kubectl(state, ['create', ...args]);
    if (run.code !== 0 && !/AlreadyExists|already exists/.test(run.stderr)) throw new Error(`kubectl create ${args.join(' ')}: ${run.stderr.trim()}`);
  };
  create(['namespace', namespace]);
  create(['serviceaccount', 'default', '-n', namespace]);
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  if (pairs.length) kubectlOk(state, ['label', 'namespace', namespace, ...pairs, '--overwrite']);
}

// ---- up, down, status ---------------------------------------------------------------------

export interface UpOptions {
  dir: string;
  helmSet?: string[];
  say?: Say;
}

/** The annotation PodNodeSelector reads: a namespace's pods wait for a node that never comes. */
export const STORED_ONLY = { 'scheduler.alpha.kubernetes.io/node-selector': 'pando.local/stored-only=true' };

/**
 * Keeps a namespace's pods off the node: they are admitted and stored, never scheduled. The
 * suites that check admission alone create ~200 pods; running them would only slow the e2e.
 */
export function keepOffNode(state: ClusterState, namespace: string) {
  const [key, value] = Object.entries(STORED_ONLY)[0];
  kubectlOk(state, ['annotate', 'namespace', namespace, `${key}=${value}`, '--overwrite']);
}

/** Brings up a control plane and its node (one per machine) and installs the release on it. */
export async function up(options: UpOptions): Promise<ClusterState> {
  const say = options.say ?? (() => undefined);
  const dir = options.dir;
  const running = readState(dir);
  if (running && isAlive(running.pids.apiserver)) throw new Error(`a cluster is already up in ${dir}: npm run cluster -- down first`);
  // A killed up's node: stopped and its host changes undone before its dir goes.
  if (running?.node) await stopNode(running.node, say);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });

  say('tools: npm run tools');
  const tools = toolsDir();
  const image = ensureWebhookImage(say);
  const pki = await writePki(join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiserver] = await Promise.all([freePort(), freePort(), freePort()]);
  const state: ClusterState = {
    dir,
    tools,
    kubeconfig: join(dir, 'kubeconfig'),
    server: `https://${NETWORK.nodeIp}:${apiserver}`,
    caFile: pki.caFile,
    adminToken: pki.adminToken,
    helmSet: options.helmSet ?? [],
    ports: { etcdClient, etcdPeer, apiserver },
    pids: {},
  };
  saveState(state);
  try {
    say(`node network: bridge ${NETWORK.bridge} ${NETWORK.nodeIp}, pods ${NETWORK.podCidr}, Services ${NETWORK.serviceCidr}`);
    state.node = await prepareNode(state, say);
    saveState(state);
    say(`etcd on 127.0.0.1:${etcdClient}`);
    await startEtcd(state);
    say(`kube-apiserver on ${state.server}`);
    await startApiServer(state, pki);
    writeKubeconfig(state);
    say('kube-controller-manager (service accounts, namespaces, workloads, endpoints, node lifecycle)');
    await startControllerManager(state, pki);
    await startNode(
      state,
      state.node,
      (args, input) => kubectlOk(state, args, input),
      () => saveState(state),
      say,
    );
    say('node pando-node Ready');
    say(`image ${IMAGE} (npm run image) imported into the node's containerd`);
    importImages(state, state.node, [image]);
    say("Knative Serving's CRDs (its release YAML, from the Go module)");
    applyKnativeCrds(state);
    say(
      `install: helm upgrade --install ${RELEASE} manifests/pando-webhook -n ${SYSTEM_NAMESPACE} --set licenseKey=... ${[...LOCAL_VALUES, ...state.helmSet].map((v) => `--set ${v}`).join(' ')}`,
    );
    helmInstall(state);
    say('the TLS setup Job runs on the node, then the webhook pods become ready');
    await waitForWebhook(state);
    say(`namespace ${DEMO_NAMESPACE}: enabled`);
    enableNamespace(state, DEMO_NAMESPACE);
    return state;
  } catch (error) {
    const logs = join(dir, 'logs');
    throw new Error(`${(error as Error).message}\n(logs in ${logs}; npm run cluster -- down cleans up)`, { cause: error });
  }
}

/**
 * The image archive `npm run image` builds, built again when a file it is built from is newer
 * (a fresh clone has none; in CI, npm test has just built it).
 */
function ensureWebhookImage(say: Say): string {
  const sources = spawnSync(
    'git',
    ['ls-files', '-z', '--', 'function', 'cli', 'Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig*.json'],
    {
      cwd: REPO,
      encoding: 'utf8',
    },
  )
    .stdout.split('\0')
    .filter(Boolean);
  const newest = Math.max(...sources.map((file) => (existsSync(join(REPO, file)) ? statSync(join(REPO, file)).mtimeMs : 0)));
  if (existsSync(ARCHIVE) && statSync(ARCHIVE).mtimeMs > newest) return ARCHIVE;
  say(`npm run image: building ${IMAGE} (its archive is missing or older than its sources)`);
  return buildImage((line) => say(line)).archive;
}

export async function down(dir: string, say: Say = () => undefined): Promise<void> {
  const state = readState(dir);
  if (state) {
    // The control plane stops even when undoing the node's host changes failed; that is reported after.
    let nodeError: unknown;
    if (state.node) await stopNode(state.node, say).catch((error) => (nodeError = error));
    for (const name of ['controllerManager', 'apiserver', 'etcd'] as const) {
      if (isAlive(state.pids[name])) say(`stopping ${name} (pid ${state.pids[name]})`);
      await stopPid(state.pids[name]);
    }
    if (nodeError) throw nodeError;
  } else if (readJournal()?.owner === dir) {
    restoreHost(join(dir, 'node'));
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function status(dir: string): Promise<{ up: boolean; lines: string[] }> {
  const state = readState(dir);
  if (!state) return { up: false, lines: [`no cluster in ${dir}: npm run cluster -- up`] };
  const lines = (['etcd', 'apiserver', 'controllerManager'] as const).map(
    (name) => `${name.padEnd(17)} ${isAlive(state.pids[name]) ? `running (pid ${state.pids[name]})` : 'stopped'}`,
  );
  let ready = false;
  if (isAlive(state.pids.apiserver)) {
    const api = adminApi(state);
    try {
      ready = (await api.get('/readyz')).status === 200;
    } catch {
      /* reported below */
    } finally {
      api.close();
    }
  }
  lines.push(...nodeStatusLines(state.node));
  lines.push(`API server ${state.server}: ${ready ? 'ready' : 'not ready'}`);
  let webhookReady = 0;
  if (ready) {
    const nodeReady = kubectl(state, ['get', 'node', 'pando-node', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout.trim();
    lines.push(`node pando-node: ${nodeReady === 'True' ? 'Ready' : 'not Ready'}`);
    const pods = webhookPods(state);
    webhookReady = pods.filter((pod) => pod.ready).length;
    lines.push(`webhook pods: ${webhookReady}/${pods.length} ready${pods.length ? ` (${pods.map((pod) => pod.ip || pod.name).join(', ')})` : ''}`);
  }
  lines.push(`kubeconfig ${state.kubeconfig}`);
  const allUp = ready && isAlive(state.pids.etcd) && isAlive(state.pids.controllerManager) && nodeAlive(state.node) && webhookReady > 0;
  return { up: allUp, lines };
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
