// Test support: a loopback HTTPS stand-in for the Kubernetes API, holding the two Secrets and
// the webhook configuration. It checks every request the TLS job makes (route, token, headers,
// body shape, resourceVersion) and records a problem for anything a real API server or the
// job's least-privilege RBAC would refuse. Given a cluster (objects, and what the webhook and
// its Service answer), it serves the plugin instead: get, list, server-side apply, strategic
// merge patch, delete, a pod's dry-run and the Service proxy, with no RBAC of its own; its apps/v1
// workloads roll out as a controller would. Either way the plugin reaches it as it reaches a
// cluster: through a kubeconfig (written at start), over TLS, with a bearer token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { applyPatch } from 'fast-json-patch';
import { createCa, issueServingCert } from '../../function/tls/certs';
import { resourcePath } from '../../cli/kube';
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from '../../function/names';

type Json = Record<string, any>;
export interface Recorded {
  method: string;
  path: string;
  contentType?: string;
  body?: any;
}
export interface Failure {
  method: string;
  path: string;
  status: number;
  message: string;
}

const NS = DEFAULT_RELEASE_NAMESPACE;
const SECRETS: string[] = [OBJECT_NAMES.caSecret, OBJECT_NAMES.servingSecret];
const MWC = OBJECT_NAMES.webhook;
const SECRET_PATH = new RegExp(`^/api/v1/namespaces/${NS}/secrets/([^/?]+)$`);
const MWC_PATH = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${MWC}`;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const emptySecret = (name: string): Json => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS, resourceVersion: '1' },
  type: 'Opaque',
});

export const webhookConfiguration = (webhooks: string[]): Json => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: { name: MWC, resourceVersion: '1' },
  webhooks: webhooks.map((name) => ({ name, clientConfig: { service: { name: OBJECT_NAMES.webhook, namespace: NS, path: '/' } } })),
});

/** The cluster the plugin's tests talk to. */
export interface FakeCluster {
  objects: Json[];
  /** What the API server stores for a dry-run pod (the webhook's patch applied) and the warnings it sends. */
  dryRunPod?: (namespace: string, pod: Json) => { pod: Json; warnings: string[] };
  /** What a Service's pods answer through the Service proxy; undefined: no endpoints. */
  serviceProxy?: (namespace: string, service: string, path: string) => Json | undefined;
  /** The caller's RBAC: a request it refuses is a 403, as the API server answers it. */
  allow?: (method: string, path: string) => boolean;
}

export async function startFakeApi(token = 'test-token', cluster?: FakeCluster) {
  const ca = await createCa('fake API CA');
  const serving = await issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const state = {
    secrets: new Map<string, Json>(SECRETS.map((n) => [n, emptySecret(n)])),
    mwc: webhookConfiguration(['pods.pandocore.xyz', 'pods-reinvoke.pandocore.xyz']) as Json | undefined,
    requests: [] as Recorded[],
    problems: [] as string[],
    fail: undefined as Failure | undefined,
  };
  const store = cluster && clusterStore(cluster, state.problems);

  const handle = (method: string, path: string, headers: Json, body: any): Answer => {
    if (headers.authorization !== `Bearer ${token}`) {
      state.problems.push(`${method} ${path}: bad token`);
      return status(401, 'Unauthorized', 'Unauthorized');
    }
    if (!String(headers.accept ?? '').includes('application/json')) state.problems.push(`${method} ${path}: accept ${headers.accept}`);
    if (state.fail && state.fail.method === method && state.fail.path === path) return status(state.fail.status, state.fail.message, 'Forbidden');
    if (store && cluster?.allow && !cluster.allow(method, path)) return status(403, `${method} ${path} is forbidden`, 'Forbidden');
    if (store) return store.handle(method, path, headers, body);
    const secretName = SECRET_PATH.exec(path)?.[1];
    if (secretName && SECRETS.includes(secretName)) {
      const current = state.secrets.get(secretName)!;
      if (method === 'GET') return { code: 200, body: current };
      if (method === 'PUT') {
        if (headers['content-type'] !== 'application/json') state.problems.push(`PUT ${path}: content-type ${headers['content-type']}`);
        if (body?.apiVersion !== 'v1' || body?.kind !== 'Secret' || body?.metadata?.name !== secretName || body?.metadata?.namespace !== NS) {
          state.problems.push(`PUT ${path}: not this Secret`);
          return status(400, 'bad object', 'BadRequest');
        }
        if (body.type !== current.type) state.problems.push(`PUT ${path}: type changed to ${body.type}`);
        if (!body.data || Object.values(body.data).some((v) => typeof v !== 'string' || !BASE64.test(v))) {
          state.problems.push(`PUT ${path}: data is not base64 strings`);
          return status(422, 'invalid data', 'Invalid');
        }
        if (body.metadata.resourceVersion !== current.metadata.resourceVersion) return status(409, 'the object has been modified', 'Conflict');
        const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(current.metadata.resourceVersion) + 1) } };
        state.secrets.set(secretName, stored);
        return { code: 200, body: stored };
      }
    }
    if (path === MWC_PATH && state.mwc) {
      if (method === 'GET') return { code: 200, body: state.mwc };
      if (method === 'PATCH') {
        if (headers['content-type'] !== 'application/json-patch+json') state.problems.push(`PATCH ${path}: content-type ${headers['content-type']}`);
        const ops = Array.isArray(body) ? body : [];
        const allowed =
          ops.length > 0 &&
          ops.every(
            (op) =>
              (op.op === 'test' && /^\/webhooks\/\d+\/name$/.test(op.path)) ||
              (['add', 'replace'].includes(op.op) && /^\/webhooks\/\d+\/clientConfig\/caBundle$/.test(op.path) && BASE64.test(op.value)),
          );
        if (!allowed) {
          state.problems.push(`PATCH ${path}: unexpected operations`);
          return status(422, 'unexpected patch', 'Invalid');
        }
        try {
          const patched = applyPatch(structuredClone(state.mwc), ops, true, false).newDocument as Json;
          patched.metadata.resourceVersion = String(Number(patched.metadata.resourceVersion) + 1);
          state.mwc = patched;
          return { code: 200, body: patched };
        } catch (error) {
          return status(422, `patch does not apply: ${(error as Error).name}`, 'Invalid');
        }
      }
    }
    if (path === MWC_PATH) return status(404, `mutatingwebhookconfigurations.admissionregistration.k8s.io "${MWC}" not found`, 'NotFound');
    state.problems.push(`${method} ${path}: outside the job's RBAC`);
    return status(403, `${method} ${path} is forbidden`, 'Forbidden');
  };

  const server = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        state.problems.push(`${req.method} ${req.url}: body is not JSON`);
      }
      const method = req.method ?? '';
      const path = req.url ?? '';
      state.requests.push({ method, path, contentType: req.headers['content-type'], body });
      let answer: Answer;
      try {
        answer = handle(method, path, req.headers, body);
      } catch (error) {
        state.problems.push(`${method} ${path}: the fake threw ${(error as Error).message}`);
        answer = status(500, (error as Error).message, 'InternalError');
      }
      const out = JSON.stringify(answer.body);
      res.writeHead(answer.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), ...answer.headers });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = writeKubeconfig(`https://127.0.0.1:${port}`, ca.cert, token);
  return {
    state,
    token,
    caPem: ca.cert,
    host: '127.0.0.1',
    port,
    url: `https://127.0.0.1:${port}`,
    /** Requests since the last call, as "METHOD path". */
    takeRequests() {
      return state.requests.splice(0).map((r) => `${r.method} ${r.path}`);
    },
    secretText(name: string): Record<string, string> {
      return Object.fromEntries(Object.entries(state.secrets.get(name)?.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
    },
    /** A kubeconfig file for this API (its CA, the token), for the plugin's Kube; removed on close. */
    kubeconfig,
    /** An object of the cluster, as stored now. */
    object(apiVersion: string, kind: string, name: string, namespace?: string): Json | undefined {
      return store?.objects.get(resourcePath(apiVersion, kind, namespace, name));
    },
    /** How the next rollout of an apps/v1 workload goes (it completes unless a test says otherwise). */
    setRollout(kind: string, name: string, namespace: string, how: Rollout) {
      store?.rollouts.set(resourcePath('apps/v1', kind, namespace, name), how);
    },
    bundles(): string[] {
      return (state.mwc?.webhooks ?? []).map((w: Json) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        rmSync(dirname(kubeconfig), { recursive: true, force: true });
        server.close(() => resolve());
      }),
  };
}
export type FakeApi = Awaited<ReturnType<typeof startFakeApi>>;

function writeKubeconfig(server: string, caPem: string, token: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pando-fake-api-')), 'kubeconfig');
  const cluster = { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster }],
    users: [{ name: 'fake', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'default' } }],
    'current-context': 'fake',
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

interface Answer {
  code: number;
  body: Json;
  headers?: Record<string, string>;
}

const status = (code: number, message: string, reason: string): Answer => ({
  code,
  body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code },
});

/** A path's parts: /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB...]] or /apis/GROUP/VERSION/... */
export function parsePath(path: string) {
  const [pathname, query = ''] = path.split('?', 2);
  const match = /^\/(api\/v1|apis\/[^/]+\/[^/]+)\/(.*)$/.exec(pathname);
  if (!match) return undefined;
  const parts = match[2].split('/').map(decodeURIComponent);
  const namespaced = parts[0] === 'namespaces' && parts.length >= 3;
  const [plural, name, ...sub] = namespaced ? parts.slice(2) : parts;
  return { group: match[1], namespace: namespaced ? parts[1] : undefined, plural, name, sub, query: new URLSearchParams(query) };
}

const matchesSelector = (object: Json, selector: string | null) =>
  !selector ||
  selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return object.metadata?.labels?.[key] === value;
  });

/** How a workload's next rollout goes: completes, stalls with 1 pod updated, or fails its progress deadline. */
export type Rollout = 'completes' | 'stalls' | 'deadline';

/** RFC 7386: what a strategic merge patch is for the maps the plugin patches (annotations). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Json = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The status a workload's controller writes once it has acted on generation `generation`. */
function rolledOut(object: Json, generation: number, how: Rollout): Json {
  const replicas = Number(object.spec?.replicas ?? 1);
  const done = how === 'completes';
  const s: Json = { ...(object.status ?? {}), observedGeneration: generation };
  if (object.kind === 'Deployment') {
    s.replicas = done ? replicas : replicas + 1;
    s.updatedReplicas = done ? replicas : 1;
    s.availableReplicas = done ? replicas : replicas - 1;
    s.readyReplicas = s.availableReplicas;
    if (how === 'deadline') {
      const message = `ReplicaSet "${object.metadata.name}-2" has timed out progressing.`;
      s.conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message }];
    }
  } else if (object.kind === 'StatefulSet') {
    s.replicas = replicas;
    s.readyReplicas = done ? replicas : replicas - 1;
    s.updatedReplicas = done ? replicas : 1;
    s.updateRevision = `${object.metadata.name}-${generation}`;
    s.currentRevision = done ? s.updateRevision : `${object.metadata.name}-${generation - 1}`;
  } else {
    s.desiredNumberScheduled = s.desiredNumberScheduled ?? 1;
    s.updatedNumberScheduled = done ? s.desiredNumberScheduled : 0;
    s.numberAvailable = done ? s.desiredNumberScheduled : s.desiredNumberScheduled - 1;
  }
  return s;
}

/**
 * The objects of a cluster by their API path. Server-side apply is modelled for what the plugin
 * relies on: labels belong to the field manager that set them, and a manager's apply without one
 * of its labels removes it (others' stay); the other fields it sends replace the stored ones. A
 * strategic merge patch that changes a workload's spec starts a rollout: the controller has
 * observed it at the second read after, in the way the test set (setRollout).
 */
function clusterStore(cluster: FakeCluster, problems: string[]) {
  const objects = new Map<string, Json>();
  const rollouts = new Map<string, Rollout>();
  /** Workloads whose new generation the controller has not observed, with the reads since. */
  const rolling = new Map<string, number>();
  const labelOwners = new Map<string, Map<string, string>>();
  const keep = (object: Json, manager: string) => {
    const path = resourcePath(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    objects.set(path, object);
    labelOwners.set(path, new Map(Object.keys(object.metadata.labels ?? {}).map((label) => [label, manager])));
  };
  for (const object of cluster.objects) keep(structuredClone(object), 'seed');

  const handle = (method: string, path: string, headers: Json, body: any): Answer => {
    const at = parsePath(path);
    if (!at) return status(404, `no route ${path}`, 'NotFound');
    const [pathname] = path.split('?', 1);
    if (at.plural === 'services' && at.sub[0] === 'proxy' && method === 'GET') {
      const [service] = (at.name ?? '').replace(/^https?:/, '').split(':');
      const answer = cluster.serviceProxy?.(at.namespace ?? '', service, `/${at.sub.slice(1).join('/')}`);
      return answer ? { code: 200, body: answer } : status(503, `no endpoints available for service "${service}"`, 'ServiceUnavailable');
    }
    if (at.plural === 'pods' && method === 'POST') {
      if (at.query.get('dryRun') !== 'All') problems.push(`POST ${path}: a pod created for real`);
      if (!cluster.dryRunPod) return status(500, 'no webhook in this fake cluster', 'InternalError');
      const { pod, warnings } = cluster.dryRunPod(at.namespace ?? '', structuredClone(body));
      return { code: 201, body: pod, headers: warnings.length ? { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') } : {} };
    }
    const stored = objects.get(pathname);
    if (method === 'GET' && at.name === undefined) {
      const items = [...objects.entries()]
        .filter(([key, object]) => {
          const of = parsePath(key)!;
          return (
            of.group === at.group &&
            of.plural === at.plural &&
            (at.namespace === undefined || of.namespace === at.namespace) &&
            matchesSelector(object, at.query.get('labelSelector'))
          );
        })
        .map(([, object]) => object);
      return { code: 200, body: { kind: 'List', items } };
    }
    if (method === 'GET' && stored && rolling.has(pathname)) {
      const reads = rolling.get(pathname)! + 1;
      rolling.set(pathname, reads);
      if (reads >= 2) {
        stored.status = rolledOut(stored, Number(stored.metadata.generation), rollouts.get(pathname) ?? 'completes');
        rolling.delete(pathname);
      }
    }
    if (method === 'GET') return stored ? { code: 200, body: stored } : status(404, `${at.plural} "${at.name}" not found`, 'NotFound');
    if (method === 'DELETE') {
      if (!stored) return status(404, `${at.plural} "${at.name}" not found`, 'NotFound');
      objects.delete(pathname);
      return { code: 200, body: { kind: 'Status', status: 'Success' } };
    }
    if (method === 'PATCH' && headers['content-type'] === 'application/apply-patch+yaml') {
      const manager = at.query.get('fieldManager');
      if (!manager) return status(422, 'fieldManager is required for apply', 'Invalid');
      if (body?.metadata?.name !== at.name || (body?.metadata?.namespace ?? undefined) !== at.namespace)
        return status(400, 'the object is not the one at the path', 'BadRequest');
      const owners = labelOwners.get(pathname) ?? new Map<string, string>();
      const labels: Record<string, string> = { ...(stored?.metadata?.labels ?? {}) };
      for (const [label, owner] of owners) if (owner === manager && !(label in (body.metadata.labels ?? {}))) delete labels[label];
      for (const [label, value] of Object.entries(body.metadata.labels ?? {})) {
        labels[label] = value as string;
        owners.set(label, manager);
      }
      for (const label of [...owners.keys()]) if (!(label in labels)) owners.delete(label);
      const merged = { ...stored, ...body, metadata: { ...stored?.metadata, ...body.metadata, labels } };
      if (Object.keys(labels).length === 0) delete merged.metadata.labels;
      objects.set(pathname, merged);
      labelOwners.set(pathname, owners);
      return { code: stored ? 200 : 201, body: merged };
    }
    if (method === 'PATCH' && headers['content-type'] === 'application/strategic-merge-patch+json') {
      if (!stored) return status(404, `${at.plural} "${at.name}" not found`, 'NotFound');
      const patched = mergePatch(stored, body) as Json;
      if (JSON.stringify(patched.spec) !== JSON.stringify(stored.spec)) {
        patched.metadata.generation = Number(stored.metadata.generation ?? 1) + 1;
        if (at.group === 'apis/apps/v1') rolling.set(pathname, 0);
      }
      objects.set(pathname, patched);
      return { code: 200, body: patched };
    }
    problems.push(`${method} ${path}: not a request the plugin makes`);
    return status(405, `${method} ${path} is not served here`, 'MethodNotAllowed');
  };
  return { objects, rollouts, handle };
}
