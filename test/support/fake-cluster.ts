// Test support: a loopback HTTPS stand-in for the Kubernetes API that holds any objects, for the
// plugin's cluster commands (restart, enable). The plugin reaches it as it reaches a cluster:
// through a kubeconfig, over TLS, with a bearer token. It answers GET (item and list with an
// equality label selector), PATCH (strategic merge and merge patches as JSON merge patches, which
// is what they are for the maps the plugin patches; server-side apply, with label ownership per
// field manager), POST and DELETE, and
// records every call. The apps/v1 workloads it holds roll out as a controller would, in steps
// seen by later reads, or stall or exceed their deadline when a test says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createCa, issueServingCert } from '../../function/tls/certs';

type Json = Record<string, any>;

const PLURAL_KIND: Record<string, string> = {
  namespaces: 'Namespace',
  pods: 'Pod',
  secrets: 'Secret',
  serviceaccounts: 'ServiceAccount',
  services: 'Service',
  rolebindings: 'RoleBinding',
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  replicasets: 'ReplicaSet',
  jobs: 'Job',
  mutatingwebhookconfigurations: 'MutatingWebhookConfiguration',
  functions: 'Function',
  certificates: 'Certificate',
};
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** How a workload's next rollout goes: completes (default), stalls with 1 pod updated, or fails its progress deadline. */
export type Rollout = 'completes' | 'stalls' | 'deadline';

const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Json = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export async function startFakeCluster(objects: Json[] = [], token = 'fake-cluster-token') {
  const ca = await createCa('fake cluster CA');
  const serving = await issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const store = new Map<string, Json>();
  let version = 1;
  const put = (object: Json) => {
    object.metadata.resourceVersion = String(++version);
    store.set(keyOf(object.kind, object.metadata.namespace, object.metadata.name), object);
  };
  for (const o of objects) put(structuredClone(o));
  const state = {
    requests: [] as string[],
    /** Content types of the PATCH calls, in order. */
    patchTypes: [] as string[],
    rollouts: new Map<string, Rollout>(),
    /** Reads of a workload since its generation changed (the controller acts on the second). */
    reads: new Map<string, number>(),
    /** The labels each field manager applied to each object (server-side apply's ownership, for labels). */
    appliedLabels: new Map<string, string[]>(),
  };

  const status = (code: number, message: string, reason: string) => ({
    code,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code },
  });

  /** The controller's step for a workload whose generation is ahead of what it observed. */
  const reconcile = (key: string, object: Json) => {
    const generation = Number(object.metadata.generation ?? 1);
    if (Number(object.status?.observedGeneration ?? 0) >= generation) return;
    const reads = (state.reads.get(key) ?? 0) + 1;
    state.reads.set(key, reads);
    if (reads < 2) return;
    const replicas = Number(object.spec?.replicas ?? 1);
    const how = state.rollouts.get(key) ?? 'completes';
    const s: Json = { ...(object.status ?? {}), observedGeneration: generation };
    if (object.kind === 'Deployment') {
      s.replicas = how === 'completes' ? replicas : replicas + 1;
      s.updatedReplicas = how === 'completes' ? replicas : 1;
      s.availableReplicas = how === 'completes' ? replicas : replicas - 1;
      s.readyReplicas = s.availableReplicas;
      if (how === 'deadline') {
        s.conditions = [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${object.metadata.name}-2" has timed out progressing.`,
          },
        ];
      }
    } else if (object.kind === 'StatefulSet') {
      s.replicas = replicas;
      s.readyReplicas = how === 'completes' ? replicas : replicas - 1;
      s.updatedReplicas = how === 'completes' ? replicas : 1;
      s.updateRevision = `${object.metadata.name}-${generation}`;
      s.currentRevision = how === 'completes' ? s.updateRevision : `${object.metadata.name}-${generation - 1}`;
    } else {
      s.desiredNumberScheduled = s.desiredNumberScheduled ?? 1;
      s.updatedNumberScheduled = how === 'completes' ? s.desiredNumberScheduled : 0;
      s.numberAvailable = how === 'completes' ? s.desiredNumberScheduled : s.desiredNumberScheduled - 1;
    }
    object.status = s;
  };

  const handle = (method: string, url: URL, headers: Json, body: unknown): { code: number; body: Json } => {
    if (headers.authorization !== `Bearer ${token}`) return status(401, 'Unauthorized', 'Unauthorized');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) [, namespace, plural, name] = rest;
    else [plural, name] = rest;
    const kind = PLURAL_KIND[plural];
    if (!kind) return status(404, `the server could not find the requested resource (${url.pathname})`, 'NotFound');
    if (kind === 'Namespace') namespace = undefined;
    if (!name) {
      if (method === 'POST') {
        const object = structuredClone(body as Json);
        if (store.has(keyOf(kind, namespace, object.metadata.name))) return status(409, `${plural} "${object.metadata.name}" already exists`, 'AlreadyExists');
        object.metadata.namespace = namespace;
        put(object);
        return { code: 201, body: object };
      }
      if (method !== 'GET') return status(405, 'method not allowed', 'MethodNotAllowed');
      const selector = (url.searchParams.get('labelSelector') ?? '')
        .split(',')
        .filter(Boolean)
        .map((term) => term.split('='));
      const items = [...store.values()].filter(
        (o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace) && selector.every(([k, v]) => o.metadata.labels?.[k] === v),
      );
      return { code: 200, body: { kind: `${kind}List`, apiVersion: 'v1', items } };
    }
    const key = keyOf(kind, namespace, name);
    const current = store.get(key);
    const notFound = () => status(404, `${plural} "${name}" not found`, 'NotFound');
    if (method === 'GET') {
      if (!current) return notFound();
      if (WORKLOADS.has(kind)) reconcile(key, current);
      return { code: 200, body: current };
    }
    if (method === 'DELETE') {
      if (!current) return notFound();
      store.delete(key);
      return { code: 200, body: current };
    }
    if (method === 'PATCH') {
      const type = String(headers['content-type'] ?? '');
      state.patchTypes.push(type);
      if (type === 'application/apply-patch+yaml') {
        const applied = mergePatch(current ?? {}, body) as Json;
        // Server-side apply: a label this manager applied before and leaves out now is removed.
        const manager = `${url.searchParams.get('fieldManager')} ${key}`;
        const labels = Object.keys((body as Json)?.metadata?.labels ?? {});
        for (const label of state.appliedLabels.get(manager) ?? []) if (!labels.includes(label)) delete applied.metadata?.labels?.[label];
        state.appliedLabels.set(manager, labels);
        applied.metadata = { ...applied.metadata, name, ...(namespace ? { namespace } : {}) };
        put(applied);
        return { code: current ? 200 : 201, body: applied };
      }
      if (type !== 'application/strategic-merge-patch+json' && type !== 'application/merge-patch+json')
        return status(415, `unsupported patch ${type}`, 'UnsupportedMediaType');
      if (!current) return notFound();
      const patched = mergePatch(current, body) as Json;
      if (JSON.stringify(patched.spec) !== JSON.stringify(current.spec)) {
        patched.metadata.generation = Number(current.metadata.generation ?? 1) + 1;
        state.reads.delete(key);
      }
      put(patched);
      return { code: 200, body: patched };
    }
    return status(405, 'method not allowed', 'MethodNotAllowed');
  };

  const server = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'https://localhost');
      state.requests.push(`${req.method} ${url.pathname}${url.search}`);
      let answer;
      try {
        answer = handle(req.method ?? '', url, req.headers, text ? JSON.parse(text) : undefined);
      } catch (error) {
        answer = status(400, `bad request: ${(error as Error).message}`, 'BadRequest');
      }
      const out = JSON.stringify(answer.body);
      res.writeHead(answer.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pando-fake-cluster-')), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': Buffer.from(ca.cert).toString('base64') } }],
      users: [{ name: 'fake', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'default' } }],
      'current-context': 'fake',
    }),
  );
  return {
    state,
    url,
    /** A kubeconfig file that reaches this server. */
    kubeconfig,
    get: (kind: string, name: string, namespace?: string) => store.get(keyOf(kind, namespace, name)),
    objects: () => [...store.values()],
    /** Calls since the last take, as "METHOD path?query". */
    takeRequests: () => state.requests.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        rmSync(dirname(kubeconfig), { recursive: true, force: true });
        server.close(() => resolve());
      }),
  };
}
export type FakeCluster = Awaited<ReturnType<typeof startFakeCluster>>;
