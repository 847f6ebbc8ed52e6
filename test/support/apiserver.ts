// Test support: what the Kubernetes API server does around a mutating webhook, emulated.
// - admittedPod: the pod as the webhook receives it, after defaulting and the ServiceAccount
//   admission plugin (default account, projected kube-api-access volume in every container).
// - reviewFor: the admission.k8s.io/v1 AdmissionReview the API server POSTs.
// - applyReview: the answer's JSON Patch applied by an implementation other than the one that
//   built it (fast-json-patch, validating, like evanphx/json-patch refusing missing parents).
// - podProblems: the patched pod checked against the Kubernetes Pod schema, and its pod-level
//   resources against its containers' as the API server's validation checks them.
import { applyPatch, deepClone, Operation } from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import type { AdmissionReviewResponse } from '../../function/admission';
import { formatQuantity, parseQuantity } from '../../function/quantity';

type Obj = Record<string, any>;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job']);

/**
 * A Pod manifest as is; a workload's pod template as the pod its controller would create. A
 * StatefulSet's controller sets a volume per volumeClaimTemplate (its containers mount them):
 * without them the real API server refuses the pod (e2e found this).
 */
export function podFromManifest(doc: Obj): Obj | undefined {
  if (doc?.kind === 'Pod') return deepClone(doc);
  const template = doc?.kind === 'CronJob' ? doc.spec?.jobTemplate?.spec?.template : WORKLOAD_KINDS.has(doc?.kind) ? doc.spec?.template : undefined;
  if (!template) return undefined;
  const owner = doc.metadata?.name ?? 'workload';
  const metadata = { ...deepClone(template.metadata ?? {}), generateName: `${owner}-${suffix(owner)}-` };
  const spec = deepClone(template.spec ?? {});
  if (doc.kind === 'StatefulSet' && Array.isArray(doc.spec?.volumeClaimTemplates)) {
    const claims = doc.spec.volumeClaimTemplates.map((claim: Obj) => ({
      name: claim.metadata?.name,
      persistentVolumeClaim: { claimName: `${claim.metadata?.name}-${owner}-0` },
    }));
    // The controller's claim volume replaces a template volume of the same name.
    const names = new Set(claims.map((c: Obj) => c.name));
    spec.volumes = [...(spec.volumes ?? []).filter((v: Obj) => !names.has(v.name)), ...claims];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

const suffix = (s: string) =>
  [...s]
    .reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
    .toString(36)
    .slice(0, 5);

/** The pod after API server defaulting and the ServiceAccount admission plugin. */
export function admittedPod(input: Obj, namespace: string): Obj {
  const pod = deepClone(input);
  pod.apiVersion = 'v1';
  pod.kind = 'Pod';
  pod.metadata = { ...pod.metadata, namespace };
  const spec = (pod.spec ??= {});
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  spec.tolerations ??= [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!spec.tolerations.some((t: Obj) => t.key === key)) {
      spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  const account = spec.serviceAccountName || spec.serviceAccount || 'default';
  spec.serviceAccountName = account;
  spec.serviceAccount = account;
  const all = ['initContainers', 'containers'].flatMap((k) => (Array.isArray(spec[k]) ? spec[k] : []));
  for (const c of all) defaultContainer(c);
  if (spec.automountServiceAccountToken !== false && !all.some(mountsToken)) {
    const volume = `kube-api-access-${suffix(JSON.stringify(pod.metadata.name ?? pod.metadata.generateName ?? 'x'))}`.slice(0, 21);
    spec.volumes = [...(spec.volumes ?? []), tokenVolume(volume)];
    for (const c of all) c.volumeMounts = [...(c.volumeMounts ?? []), { name: volume, readOnly: true, mountPath: TOKEN_PATH }];
  }
  pod.status ??= {};
  return pod;
}

const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const mountsToken = (c: Obj) => (c.volumeMounts ?? []).some((m: Obj) => m.mountPath === TOKEN_PATH);

function defaultContainer(c: Obj) {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  const image = String(c.image ?? '');
  c.imagePullPolicy ??= image.endsWith(':latest') || !/:[^/]+$/.test(image) ? 'Always' : 'IfNotPresent';
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
}

function tokenVolume(name: string) {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
      defaultMode: 420,
    },
  };
}

export interface ReviewOptions {
  uid?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  subResource?: string;
  dryRun?: boolean;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  username?: string;
}

/** The AdmissionReview the API server sends for this object. */
export function reviewFor(object: Obj, options: ReviewOptions = {}): Obj {
  const kind = options.kind ?? { group: '', version: 'v1', kind: 'Pod' };
  const resource = options.resource ?? { group: '', version: 'v1', resource: 'pods' };
  const operation = options.operation ?? 'CREATE';
  const name = object?.metadata?.name;
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: options.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind,
      resource,
      ...(options.subResource ? { subResource: options.subResource } : {}),
      requestKind: kind,
      requestResource: resource,
      ...(options.subResource ? { requestSubResource: options.subResource } : {}),
      ...(name ? { name } : {}),
      namespace: object?.metadata?.namespace,
      operation,
      userInfo: {
        username: options.username ?? 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'b8a6a2f4-2f6c-4b8e-9d42-1c4d3e0f5a77',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object,
      oldObject: operation === 'UPDATE' ? object : null,
      dryRun: options.dryRun ?? false,
      options:
        operation === 'CREATE'
          ? { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', ...(options.dryRun ? { dryRun: ['All'] } : {}) }
          : { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

export function decodePatch(review: AdmissionReviewResponse): Operation[] {
  const { patch, patchType } = review.response;
  if (patch === undefined) return [];
  if (patchType !== 'JSONPatch') throw new Error(`patchType is ${patchType}`);
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
}

/** Applies the answer's patch to a copy of the object, refusing any invalid operation. */
export function applyReview(object: Obj, review: AdmissionReviewResponse): Obj {
  const ops = decodePatch(review);
  return ops.length ? applyPatch(deepClone(object), ops, true, false).newDocument : deepClone(object);
}

/** Schema problems of a Pod, or undefined when it is valid. */
export function podProblems(pod: Obj): string | undefined {
  try {
    new Pod(pod as any).validate();
  } catch (error) {
    return (error as Error).message.slice(0, 500);
  }
  return podLevelResourceProblems(pod);
}

type Amounts = Map<string, bigint>;

const amountsOf = (list: Obj | undefined): Amounts => new Map(Object.entries(list ?? {}).map(([name, value]) => [name, parseQuantity(String(value))!]));
const plus = (a: Amounts, b: Amounts): Amounts => new Map([...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (a.get(k) ?? 0n) + (b.get(k) ?? 0n)]));
const max = (a: Amounts, b: Amounts): Amounts =>
  new Map([...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (a.get(k) ?? 0n) > (b.get(k) ?? 0n) ? (a.get(k) ?? 0n) : (b.get(k) ?? 0n)]));
/** A container's requests, defaulted from its limits as the API server defaults them. */
const requestsOf = (c: Obj): Amounts => new Map([...amountsOf(c.resources?.limits), ...amountsOf(c.resources?.requests)]);

/**
 * What the containers of a pod request together, as Kubernetes counts it: the app containers and
 * every native sidecar (restartPolicy Always) run together; an init container runs with the
 * native sidecars started before it.
 */
export function aggregateRequests(spec: Obj): Amounts {
  let sidecars: Amounts = new Map();
  let init: Amounts = new Map();
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      sidecars = plus(sidecars, requestsOf(c));
      init = max(init, sidecars);
    } else init = max(init, plus(requestsOf(c), sidecars));
  }
  const app = (spec.containers ?? []).reduce((sum: Amounts, c: Obj) => plus(sum, requestsOf(c)), new Map());
  return max(plus(app, sidecars), init);
}

/** The API server's checks of spec.resources (pod-level resources), or undefined when they pass. */
export function podLevelResourceProblems(pod: Obj): string | undefined {
  const resources = pod.spec?.resources;
  if (!resources) return undefined;
  const requests = amountsOf(resources.requests);
  const limits = amountsOf(resources.limits);
  const problems: string[] = [];
  for (const [name, total] of aggregateRequests(pod.spec)) {
    const declared = requests.get(name);
    if (declared !== undefined && total > declared) {
      problems.push(`spec.resources.requests[${name}]: must be greater than or equal to aggregate container requests of ${formatQuantity(total)}`);
    }
  }
  for (const c of pod.spec.containers ?? []) {
    for (const [name, limit] of amountsOf(c.resources?.limits)) {
      const declared = limits.get(name);
      if (declared !== undefined && limit > declared) problems.push(`container ${c.name} limits[${name}]: must be less than or equal to pod limits`);
    }
  }
  for (const [name, request] of requests) {
    const limit = limits.get(name);
    if (limit !== undefined && request > limit) problems.push(`spec.resources.requests[${name}]: must be less than or equal to ${name} limit`);
  }
  return problems.length ? problems.join('; ') : undefined;
}
