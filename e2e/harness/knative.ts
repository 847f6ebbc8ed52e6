// Knative Serving on the local node, for real: its controller, webhook, autoscaler, activator and
// queue-proxy, built from knative.dev/serving's own mains by `npm run tools`, packed as one-layer
// images and installed from the release YAML in the module's config/ folders with each ko://
// reference replaced by the local image, as ko would. No networking layer: every one needs
// Envoy, which neither Debian nor the Go module proxy provides.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminApi, kubectl, kubectlOk, parseDocuments } from './kubeconfig';
import { type ClusterState } from './state';
import { goModuleDir, importLocalImage } from './local-images';
import { isAlive, startDaemon, waitFor } from './processes';
import { REPO } from './tools';

export const KNATIVE_NAMESPACE = 'knative-serving';
export const KNATIVE_COMPONENTS = ['controller', 'webhook', 'autoscaler', 'activator', 'queue'] as const;
export type KnativeComponent = (typeof KNATIVE_COMPONENTS)[number];
/** The Deployments of config/core/deployments (queue is the revision pods' sidecar). */
export const KNATIVE_DEPLOYMENTS = ['controller', 'webhook', 'autoscaler', 'activator'] as const;

const TOOLS_MODULE = join(REPO, 'e2e', 'tools', 'knative-components');
const REGISTRY = 'pando.local';
type Obj = Record<string, any>;

export function knativeVersion(): string {
  const line = /^KNATIVE_SERVING_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'e2e', 'tools', 'versions.env'), 'utf8'));
  if (!line) throw new Error('e2e/tools/versions.env names no KNATIVE_SERVING_VERSION');
  return line[1];
}

export const knativeBinary = (component: KnativeComponent) => `knative-${component}`;
export const knativeImage = (component: KnativeComponent) => `${REGISTRY}/${knativeBinary(component)}:${knativeVersion()}`;
export const missingKnativeTools = (tools: string) => KNATIVE_COMPONENTS.map(knativeBinary).filter((binary) => !existsSync(join(tools, binary)));

/** The module of the build list that holds `module` (its version as the tools module resolved it). */
function moduleDir(module: string): string {
  const goMod = readFileSync(join(TOOLS_MODULE, 'go.mod'), 'utf8');
  const version = new RegExp(`^\\s*(?:require )?${module.replace(/\./g, '\\.')} (\\S+)`, 'm').exec(goMod)?.[1];
  if (!version) throw new Error(`e2e/tools/knative-components/go.mod does not list ${module}`);
  return goModuleDir(TOOLS_MODULE, `${module}@${version}`);
}

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => join(dir, name));

/**
 * Knative Serving's release, as its serving-crds.yaml and serving-core.yaml gather it: the CRDs of
 * serving, networking and caching, then config/core (the autoscaling HPAs left out: no metrics
 * server here), every ko:// reference replaced by a local image.
 */
export function knativeReleaseDocuments(): { crds: Obj[]; core: Obj[] } {
  const serving = join(moduleDir('knative.dev/serving'), 'config', 'core');
  const networking = join(moduleDir('knative.dev/networking'), 'config');
  const caching = join(moduleDir('knative.dev/caching'), 'config');
  const read = (files: string[]) => files.flatMap((file) => parseDocuments(resolveKo(readFileSync(file, 'utf8'))));
  const crds = read([
    ...yamlFiles(join(serving, '300-resources')),
    ...['certificate', 'domain-claim', 'ingress', 'serverlessservice'].map((name) => join(networking, `${name}.yaml`)),
    join(caching, 'image.yaml'),
  ]);
  const core = read([
    join(serving, '100-namespace.yaml'),
    ...yamlFiles(join(serving, '200-roles')),
    join(serving, '200-serviceaccount.yaml'),
    ...yamlFiles(join(serving, 'configmaps')),
    join(networking, 'config-network.yaml'),
    ...yamlFiles(join(serving, 'webhooks')),
    ...KNATIVE_DEPLOYMENTS.map((name) => join(serving, 'deployments', `${name}.yaml`)),
    join(serving, '999-cache.yaml'),
  ]);
  for (const doc of core) {
    if (doc.kind === 'ConfigMap' && doc.metadata.name === 'config-deployment') {
      // Tags of these registries are not resolved to digests: our images live in no registry.
      doc.data = { ...doc.data, 'registries-skipping-tag-resolving': `${REGISTRY},kind.local,ko.local,dev.local` };
    }
  }
  return { crds, core };
}

/** ko://knative.dev/serving/cmd/<component> -> our local image of that component. */
function resolveKo(text: string): string {
  return text.replace(/ko:\/\/knative\.dev\/serving\/cmd\/([a-z-]+)/g, (reference, component: string) => {
    if (!(KNATIVE_COMPONENTS as readonly string[]).includes(component)) throw new Error(`${reference}: not built here`);
    return knativeImage(component as KnativeComponent);
  });
}

const applyDocuments = (state: ClusterState, docs: Obj[]) =>
  kubectlOk(state, ['apply', '--server-side', '--force-conflicts', '-f', '-'], docs.map((doc) => JSON.stringify(doc)).join('\n---\n'));

/**
 * Knative's own CRDs (serving's, networking's, caching's), from its release YAML, Established.
 * up() applies them on every cluster, Knative running or not, so the chart's default install
 * (a Knative Service) can be stored and dry-run there.
 */
export function applyKnativeCrds(state: ClusterState, crds = knativeReleaseDocuments().crds) {
  applyDocuments(state, crds);
  kubectlOk(state, ['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((crd) => `crd/${crd.metadata.name}`)]);
}

/**
 * An image the node has, under the local registry's name as well (a second tag in the node's
 * containerd, same content): Knative resolves every other tag to a digest, and reads a bare
 * `localhost/...` as Docker Hub's, so `npm run image`'s name would send it to index.docker.io.
 */
export function localRegistryName(state: ClusterState, image: string): string {
  if (!state.node) throw new Error(`${image}: the cluster needs its node`);
  const name = knativeImageName(image);
  const socket = join(state.node.dir, 'containerd', 'containerd.sock');
  const tagged = spawnSync(join(state.tools, 'ctr'), ['--address', socket, '--namespace', 'k8s.io', 'images', 'tag', '--force', image, name], {
    encoding: 'utf8',
  });
  if (tagged.status !== 0) throw new Error(`ctr images tag ${image} ${name}: ${tagged.stderr}`);
  return name;
}

/** The name localRegistryName tags an image with. */
export const knativeImageName = (image: string) => `${REGISTRY}/${image.replace(/^[^/]+\//, '')}`;

/** Images imported, the release applied (server-side), every Deployment rolled out. Returns seconds. */
export function installKnative(state: ClusterState, say: (line: string) => void = () => undefined): number {
  const started = Date.now();
  // A suite before this one uninstalled Knative: its namespace must be gone before it is made again.
  const gone = Date.now() + 180_000;
  while (namespaceDeleting(state)) {
    if (Date.now() > gone) throw new Error(`namespace ${KNATIVE_NAMESPACE} still terminating after 180 s`);
    spawnSync('sleep', ['1']);
  }
  for (const component of KNATIVE_COMPONENTS) importLocalImage(state, knativeImage(component), knativeBinary(component));
  const { crds, core } = knativeReleaseDocuments();
  say(`Knative Serving ${knativeVersion()}: ${crds.length} CRDs, ${core.length} objects of config/core`);
  applyKnativeCrds(state, crds);
  applyDocuments(state, core);
  // knative-serving-admin, the controller's role, is an aggregated ClusterRole: empty until
  // kube-controller-manager's clusterrole-aggregation-controller fills it.
  const aggregated = () => (JSON.parse(kubectlOk(state, ['get', 'clusterrole', 'knative-serving-admin', '-o', 'json'])).rules ?? []).length > 0;
  const deadline = Date.now() + 30_000;
  while (!aggregated()) {
    if (Date.now() > deadline) throw new Error('ClusterRole knative-serving-admin has no rules: the cluster must run clusterrole-aggregation-controller');
    spawnSync('sleep', ['1']);
  }
  for (const deployment of KNATIVE_DEPLOYMENTS) {
    kubectlOk(state, ['-n', KNATIVE_NAMESPACE, 'rollout', 'status', `deployment/${deployment}`, '--timeout=240s']);
  }
  return (Date.now() - started) / 1000;
}

/**
 * Knative's pods stopped and its webhook configurations gone, so later suites send nothing to a
 * webhook that no longer runs and `down` finds no pod running; the CRDs stay (objects of them may
 * remain elsewhere).
 */
export function uninstallKnative(state: ClusterState) {
  const { core } = knativeReleaseDocuments();
  for (const doc of core.filter((d) => /^(Mutating|Validating)WebhookConfiguration$/.test(d.kind))) {
    kubectlOk(state, ['delete', doc.kind.toLowerCase(), doc.metadata.name, '--ignore-not-found']);
  }
  // The activator's and webhook's grace periods (600 s, 300 s) are for draining live traffic.
  kubectlOk(state, ['-n', KNATIVE_NAMESPACE, 'delete', 'deployment', '--all']);
  kubectlOk(state, ['-n', KNATIVE_NAMESPACE, 'delete', 'pod', '--all', '--grace-period=1', '--timeout=90s']);
  kubectlOk(state, ['delete', 'namespace', KNATIVE_NAMESPACE, '--wait=false']);
}

/** The namespace exists and is being deleted (a missing one reads as ''). */
const namespaceDeleting = (state: ClusterState) =>
  kubectl(state, ['get', 'namespace', KNATIVE_NAMESPACE, '-o', 'jsonpath={.metadata.deletionTimestamp}']).stdout.trim() !== '';

const KINGRESS_API = '/apis/networking.internal.knative.dev/v1alpha1';

/** The status a networking layer writes on a KIngress it serves, or on one it cannot (reason given). */
/** The load balancer the stand-in names (no gateway answers there): what marks its writes. */
const STANDIN_GATEWAY = `no-gateway.${KNATIVE_NAMESPACE}.svc.cluster.local`;

export function ingressStatus(ingress: Obj, failure?: { reason: string; message: string }): Obj {
  const balancer = { ingress: [{ domainInternal: STANDIN_GATEWAY }] };
  const now = new Date().toISOString();
  const condition = (type: string) =>
    failure && type !== 'NetworkConfigured'
      ? { type, status: 'False', reason: failure.reason, message: failure.message, lastTransitionTime: now }
      : { type, status: 'True', lastTransitionTime: now };
  return {
    observedGeneration: ingress.metadata.generation,
    conditions: ['LoadBalancerReady', 'NetworkConfigured', 'Ready'].map(condition),
    ...(failure ? {} : { privateLoadBalancer: balancer, publicLoadBalancer: balancer }),
  };
}

/** Whether this KIngress, as stored, is ready for its generation by the stand-in's write. */
export function markedReadyByStandIn(ingress: Obj): boolean {
  const status = ingress.status ?? {};
  return (
    status.observedGeneration === ingress.metadata?.generation &&
    (status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True') &&
    status.publicLoadBalancer?.ingress?.[0]?.domainInternal === STANDIN_GATEWAY
  );
}

export interface IngressStandIn {
  /** Leaves this KIngress alone (a test writes its status), until released. */
  hold(namespace: string, name: string): void;
  release(namespace: string, name: string): void;
  /** KIngresses marked ready so far (namespace/name@generation), as their answers said. */
  marked: string[];
  /**
   * Calls that got no 200 (a write whose answer was lost may still have landed: the next look
   * finds the KIngress ready and leaves it, so judge by the stored status, markedReadyByStandIn).
   */
  errors: string[];
  stop(): void;
}

/**
 * THE STAND-IN (docs/local-cluster.md): every networking layer needs Envoy, which nothing here
 * provides, so this loop does the one thing Knative needs from one: it marks each KIngress of
 * the cluster ready for its generation, as the layer would once its proxies serve it. No proxy
 * runs: traffic to a Route's host still reaches nothing. Polls once a second, through the API.
 */
export function startIngressStandIn(state: ClusterState): IngressStandIn {
  const api = adminApi(state);
  const held = new Set<string>();
  const marked: string[] = [];
  const errors: string[] = [];
  const failed = (what: string, status: number, body: any) => errors.push(`${what}: HTTP ${status} ${body?.message ?? ''}`.trim());
  let busy = false;
  const reconcile = async () => {
    const list = await api.get(`${KINGRESS_API}/ingresses`);
    if (list.status !== 200) return void failed('list', list.status, list.body);
    for (const ingress of list.body.items as Obj[]) {
      const { namespace, name, generation } = ingress.metadata;
      const ready = (ingress.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready')?.status === 'True';
      if (held.has(`${namespace}/${name}`) || (ready && ingress.status?.observedGeneration === generation)) continue;
      const path = `${KINGRESS_API}/namespaces/${namespace}/ingresses/${name}/status`;
      const answer = await api.mergePatch(path, { status: ingressStatus(ingress) });
      if (answer.status === 200) marked.push(`${namespace}/${name}@${generation}`);
      else failed(`${namespace}/${name}`, answer.status, answer.body);
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    reconcile()
      .catch((error: Error) => errors.push(error.message)) // the next tick tries again, as a controller's requeue does
      .finally(() => (busy = false));
  }, 1000);
  return {
    hold: (namespace, name) => held.add(`${namespace}/${name}`),
    release: (namespace, name) => held.delete(`${namespace}/${name}`),
    marked,
    errors,
    stop: () => {
      clearInterval(timer);
      api.close();
    },
  };
}

/**
 * The stand-in as a daemon of its own (ingress-standin.ts), for a cluster that outlives the
 * command that made it; its log in the cluster's logs. Returns its pid, for `down`.
 */
export async function startIngressStandInDaemon(state: ClusterState): Promise<number> {
  const log = join(state.dir, 'logs', 'ingress-standin.log');
  const pid = startDaemon(process.execPath, [join(__dirname, 'ingress-standin.js'), state.dir], log);
  await waitFor(
    'the KIngress stand-in started',
    async () => readFileSync(log, 'utf8').includes('marking the KIngresses'),
    10_000,
    () => isAlive(pid),
  );
  return pid;
}

/** Each pod's memory in a namespace (RSS and working set, MiB), from the kubelet's summary: for the docs' figures. */
export function podMemory(state: ClusterState, namespace: string): string {
  const run = kubectl(state, ['get', '--raw', '/api/v1/nodes/pando-node/proxy/stats/summary']);
  if (run.code !== 0) return `unknown (${run.stderr.trim()})`;
  const mib = (bytes: number | undefined) => Math.round((bytes ?? 0) / 2 ** 20);
  return (JSON.parse(run.stdout).pods as Obj[])
    .filter((pod) => pod.podRef.namespace === namespace)
    .map((pod) => {
      const containers = (pod.containers as Obj[]).map((c) => `${c.name} ${mib(c.memory?.rssBytes)}/${mib(c.memory?.workingSetBytes)}`);
      return `${pod.podRef.name} (${containers.join(', ')})`;
    })
    .join('; ');
}
