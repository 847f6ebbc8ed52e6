// The local control plane: etcd and kube-apiserver on loopback, the install applied as a user
// applies it, the TLS setup program run with its own ServiceAccount's token, and the webhook
// served by the image's command (node dist/serve.js), reached by the API server through the
// MutatingWebhookConfiguration's service reference (see e2e/tools/cmd/kube-apiserver).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { apiClient, ok, type Api } from './api';
import { containerEnv, envOf, platformOf } from '../../cli/read-install';
import { NETWORK, readJournal, restoreHost } from './host';
import { nodeAlive, nodeStatusLines, prepareNode, startNode, stopNode, type NodeState } from './node';
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
  ports: { etcdClient: number; etcdPeer: number; apiserver: number; webhookHttp: number; webhookHttps: number };
  pids: { etcd?: number; apiserver?: number; controllerManager?: number; webhook?: number };
  /** The node (containerd, kubelet, kube-proxy, scheduler, CoreDNS), if this cluster has one. */
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
  const env = { ...process.env, PANDO_SERVICE_ROUTES: `${SYSTEM_NAMESPACE}/${WEBHOOK_SERVICE}=127.0.0.1:${state.ports.webhookHttps}` };
  state.pids.apiserver = startDaemon(
    join(state.tools, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${state.ports.etcdClient}`,
      `--secure-port=${state.ports.apiserver}`,
      ...(state.node
        ? // On the node's bridge, so pods reach it through the kubernetes Service (10.96.0.1).
          [`--bind-address=${NETWORK.nodeIp}`, `--advertise-address=${NETWORK.nodeIp}`, '--endpoint-reconciler-type=lease']
        : // The endpoint reconciler refuses a loopback address; no pod runs to read the kubernetes Service.
          ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none']),
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
      // Routed to the node's bridge, where kube-proxy serves them (the webhook is still resolved to loopback).
      `--service-cluster-ip-range=${NETWORK.serviceCidr}`,
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
    ],
    join(state.dir, 'logs', 'kube-apiserver.log'),
    env,
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

/**
 * helm upgrade --reuse-values with these --set values, then what the cluster does next: a TLS
 * setup Job of a new name is a new Job, which the Job controller runs (one of the same name does
 * not run again), and the Secret volume follows.
 */
export async function helmUpgrade(state: ClusterState, set: string[]) {
  const before = tlsJobName(state);
  helmOk(state, ['upgrade', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--reuse-values', ...set.flatMap((s) => ['--set', s])]);
  const after = tlsJobName(state);
  if (after === undefined || after === before) return;
  const setup = runTlsSetup(state);
  if (setup.code !== 0) throw new Error(`TLS setup after the upgrade failed:\n${setup.stdout}${setup.stderr}`);
  await reportTlsSetupSucceeded(state);
  await syncTlsFiles(state);
}

/**
 * What the kubelet reports when the TLS setup pod's container exits 0. The harness ran that pod's
 * command itself (runTlsSetup), with the pod's env and account, so it writes the pod's status the
 * way the kubelet would; the real Job controller then completes the Job.
 */
export async function reportTlsSetupSucceeded(state: ClusterState) {
  const job = tlsJobName(state);
  if (!job) return;
  let pod: Obj | undefined;
  const podsOf = () =>
    JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', `batch.kubernetes.io/job-name=${job}`, '-o', 'json'])).items as Obj[];
  await waitFor(`the Job controller's pod of ${job}`, async () => Boolean((pod = podsOf()[0])), 30_000);
  const now = new Date().toISOString();
  const container = pod!.spec.containers[0];
  const status = {
    phase: 'Succeeded',
    startTime: now,
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
      { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ],
    containerStatuses: [
      {
        name: container.name,
        image: container.image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
      },
    ],
  };
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'patch', 'pod', pod!.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  const complete = () =>
    kubectl(state, ['-n', SYSTEM_NAMESPACE, 'get', 'job', job, '-o', 'jsonpath={.status.conditions[?(@.type=="Complete")].status}']).stdout === 'True';
  await waitFor(`Job ${job} complete`, async () => complete(), 30_000);
}

/**
 * What Knative's controller reports on the Service: Ready once the revision serves, not Ready when
 * it does not. Here the revision is the webhook process, so the harness writes the condition
 * from its real state (installs on other platforms have no Knative Service).
 */
export function reportKnativeReadiness(state: ClusterState, ready: boolean) {
  const ksvc = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'get', 'services.serving.knative.dev', RELEASE, '-o', 'json']);
  if (ksvc.code !== 0) return;
  const generation = JSON.parse(ksvc.stdout).metadata.generation;
  const now = new Date().toISOString();
  const condition = (type: string) =>
    ready
      ? { type, status: 'True', lastTransitionTime: now }
      : { type, status: 'False', reason: 'RevisionFailed', message: 'the webhook process is not running', lastTransitionTime: now };
  const status = { observedGeneration: generation, conditions: ['Ready', 'ConfigurationsReady', 'RoutesReady'].map(condition) };
  kubectlOk(state, [
    '-n',
    SYSTEM_NAMESPACE,
    'patch',
    'services.serving.knative.dev',
    RELEASE,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

/** What the release installed, as Helm recorded it. */
export function installedDocuments(state: ClusterState): Obj[] {
  return parseDocuments(helmOk(state, ['get', 'manifest', RELEASE, '-n', SYSTEM_NAMESPACE]));
}

/** The README's install line, with the local license and the state's extra values. */
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
    ...state.helmSet.flatMap((value) => ['--set', value]),
  ]);
}

/** The webhook container's env as the install sets it (Knative Service, Deployment, Function). */
export function webhookEnv(docs: Obj[]): Record<string, string> {
  for (const doc of docs) {
    const platform = platformOf(doc);
    if (platform) return envOf(platform, doc);
  }
  throw new Error('the install has no webhook workload');
}

const tlsJobOf = (docs: Obj[]) => docs.find((d) => d.kind === 'Job' && d.metadata?.name?.startsWith('pando-webhook-tls-setup'));

/** The TLS setup Job's env as the install sets it. */
export function tlsJobEnv(docs: Obj[]): Record<string, string> {
  const job = tlsJobOf(docs);
  if (!job) throw new Error('the install has no TLS setup Job (tls.certManager=true?)');
  return containerEnv(job.spec.template.spec.containers[0]);
}

export async function applyKnativeCrds(state: ClusterState) {
  const crds = spawnSync(join(state.tools, 'knative-serving'), ['crd'], { encoding: 'utf8' });
  if (crds.status !== 0) throw new Error(`knative-serving crd: ${crds.stderr}`);
  kubectlOk(state, ['apply', '--server-side', '-f', '-'], crds.stdout);
  const count = crds.stdout.split('\nkind: CustomResourceDefinition').length - 1;
  // Polled rather than kubectl wait, which fails while a new CRD has no conditions yet.
  const established = () =>
    kubectl(state, [
      'get',
      'crd',
      '-l',
      'serving.knative.dev/release',
      '-o',
      'jsonpath={.items[*].status.conditions[?(@.type=="Established")].status}',
    ]).stdout.split(' ');
  await waitFor('Knative CRDs established', async () => established().filter((s) => s === 'True').length === count, 30_000);
}

/** Runs dist/tls-setup.js (the bundle the image's Job runs) as the Job would, with a TokenRequest token of the Job's account. */
export function runTlsSetup(state: ClusterState) {
  const docs = installedDocuments(state);
  const job = tlsJobOf(docs);
  const account = job?.spec?.template?.spec?.serviceAccountName ?? 'pando-webhook-tls-setup';
  const token = kubectlOk(state, ['create', 'token', account, '-n', SYSTEM_NAMESPACE, '--duration=10m']).trim();
  const tokenFile = join(state.dir, 'tls-setup-token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const run = spawnSync(process.execPath, [join(REPO, 'dist', 'tls-setup.js')], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      ...tlsJobEnv(docs),
      KUBERNETES_SERVICE_HOST: new URL(state.server).hostname,
      KUBERNETES_SERVICE_PORT: String(state.ports.apiserver),
      PANDO_KUBE_TOKEN_FILE: tokenFile,
      PANDO_KUBE_CA_FILE: state.caFile,
    },
  });
  return { code: run.status ?? 1, stdout: run.stdout, stderr: run.stderr, token };
}

/** Where the webhook reads its serving certificate, as from a mounted Secret. */
export const tlsDir = (dir: string) => join(dir, 'webhook-tls');

/**
 * What the kubelet does for a Secret volume: the serving Secret's keys written into a new
 * directory, swapped in at once through the ..data symlink (tls.crt -> ..data/tls.crt).
 */
export async function syncTlsFiles(state: ClusterState, secretName = 'pando-webhook-tls') {
  const api = adminApi(state);
  try {
    const secret = ok(await api.get(`/api/v1/namespaces/${SYSTEM_NAMESPACE}/secrets/${secretName}`), `read Secret ${secretName}`);
    const dir = tlsDir(state.dir);
    const version = `..${Date.now()}-${process.hrtime.bigint()}`;
    mkdirSync(join(dir, version), { recursive: true });
    for (const [key, value] of Object.entries<string>(secret.data ?? {})) {
      writeFileSync(join(dir, version, key), Buffer.from(value, 'base64'), { mode: 0o600 });
    }
    rmSync(join(dir, '..data_tmp'), { force: true });
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    for (const key of Object.keys(secret.data ?? {})) {
      if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key));
    }
  } finally {
    api.close();
  }
}

export async function startWebhook(state: ClusterState) {
  if (isAlive(state.pids.webhook)) return;
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    ...webhookEnv(installedDocuments(state)),
    PORT: String(state.ports.webhookHttp),
    PANDO_TLS_PORT: String(state.ports.webhookHttps),
    PANDO_TLS_CERT_FILE: join(tlsDir(state.dir), 'tls.crt'),
    PANDO_TLS_KEY_FILE: join(tlsDir(state.dir), 'tls.key'),
  };
  // The image's command.
  state.pids.webhook = startDaemon(process.execPath, [join(REPO, 'dist', 'serve.js')], join(state.dir, 'logs', 'webhook.log'), env);
  saveState(state);
  await waitFor(
    'pando-webhook',
    async () => (await httpGet(`http://127.0.0.1:${state.ports.webhookHttp}/readyz`)).status === 200,
    30_000,
    () => isAlive(state.pids.webhook),
  );
  reportKnativeReadiness(state, true);
}

export async function stopWebhook(state: ClusterState) {
  await stopPid(state.pids.webhook);
  state.pids.webhook = undefined;
  saveState(state);
  reportKnativeReadiness(state, false);
}

/** What a rollout does after helm upgrade: the webhook runs again with the release's new env. */
export async function restartWebhook(state: ClusterState) {
  await stopWebhook(state);
  await startWebhook(state);
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
  /** Run a node (one per machine): pods are scheduled and run. Without it they are only stored. */
  node?: boolean;
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

export async function up(options: UpOptions): Promise<ClusterState> {
  const say = options.say ?? (() => undefined);
  const dir = options.dir;
  const running = readState(dir);
  if (running && isAlive(running.pids.apiserver)) throw new Error(`a cluster is already up in ${dir}: npm run cluster -- down first`);
  // A killed up's node: stopped and its host changes undone before its dir goes.
  if (running?.node) await stopNode(running.node, say);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(tlsDir(dir), { recursive: true });

  say('tools: npm run tools');
  const tools = toolsDir();
  const pki = await writePki(join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiserver, webhookHttp, webhookHttps] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const state: ClusterState = {
    dir,
    tools,
    kubeconfig: join(dir, 'kubeconfig'),
    server: `https://${options.node ? NETWORK.nodeIp : '127.0.0.1'}:${apiserver}`,
    caFile: pki.caFile,
    adminToken: pki.adminToken,
    helmSet: options.helmSet ?? [],
    ports: { etcdClient, etcdPeer, apiserver, webhookHttp, webhookHttps },
    pids: {},
  };
  saveState(state);
  try {
    if (options.node) {
      say(`node network: bridge ${NETWORK.bridge} ${NETWORK.nodeIp}, pods ${NETWORK.podCidr}, Services ${NETWORK.serviceCidr}`);
      state.node = await prepareNode(state, say);
      saveState(state);
    }
    say(`etcd on 127.0.0.1:${etcdClient}`);
    await startEtcd(state);
    say(`kube-apiserver on ${state.server}`);
    await startApiServer(state, pki);
    writeKubeconfig(state);
    say('kube-controller-manager (service accounts, namespaces, garbage collection, policy type checks)');
    await startControllerManager(state, pki);
    if (state.node) {
      await startNode(
        state,
        state.node,
        (args, input) => kubectlOk(state, args, input),
        () => saveState(state),
        say,
      );
      say('node pando-node Ready');
    }
    say('Knative Serving CRDs (from the knative.dev/serving API types)');
    await applyKnativeCrds(state);
    say(
      `install: helm upgrade --install ${RELEASE} manifests/pando-webhook -n ${SYSTEM_NAMESPACE} --set licenseKey=... ${state.helmSet.map((v) => `--set ${v}`).join(' ')}`,
    );
    if (state.node) {
      // The harness runs the TLS Job's command itself (the webhook's image is not on the node
      // yet), so the Job's pod must not also start there.
      ensureNamespace(state, SYSTEM_NAMESPACE);
      keepOffNode(state, SYSTEM_NAMESPACE);
    }
    helmInstall(state);
    say('TLS setup, with a token of its own ServiceAccount');
    const setup = runTlsSetup(state);
    if (setup.code !== 0) throw new Error(`TLS setup failed:\n${setup.stdout}${setup.stderr}`);
    await reportTlsSetupSucceeded(state);
    await syncTlsFiles(state);
    say(`pando-webhook: node dist/serve.js, HTTPS on 127.0.0.1:${webhookHttps}`);
    await startWebhook(state);
    say(`namespace ${DEMO_NAMESPACE}: enabled`);
    enableNamespace(state, DEMO_NAMESPACE);
    return state;
  } catch (error) {
    const logs = join(dir, 'logs');
    throw new Error(`${(error as Error).message}\n(logs in ${logs}; npm run cluster -- down cleans up)`, { cause: error });
  }
}

export async function down(dir: string, say: Say = () => undefined): Promise<void> {
  const state = readState(dir);
  if (state) {
    await stopPid(state.pids.webhook);
    if (state.node) await stopNode(state.node, say);
    for (const name of ['controllerManager', 'apiserver', 'etcd'] as const) {
      if (isAlive(state.pids[name])) say(`stopping ${name} (pid ${state.pids[name]})`);
      await stopPid(state.pids[name]);
    }
  } else if (readJournal()?.owner === dir) {
    restoreHost(join(dir, 'node'));
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function status(dir: string): Promise<{ up: boolean; lines: string[] }> {
  const state = readState(dir);
  if (!state) return { up: false, lines: [`no cluster in ${dir}: npm run cluster -- up`] };
  const lines = (['etcd', 'apiserver', 'controllerManager', 'webhook'] as const).map(
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
  if (state.node && ready) {
    const nodeReady = kubectl(state, ['get', 'node', 'pando-node', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout.trim();
    lines.push(`node pando-node: ${nodeReady === 'True' ? 'Ready' : 'not Ready'}`);
  }
  lines.push(`kubeconfig ${state.kubeconfig}`);
  const allUp =
    ready && isAlive(state.pids.etcd) && isAlive(state.pids.controllerManager) && isAlive(state.pids.webhook) && (!state.node || nodeAlive(state.node));
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
