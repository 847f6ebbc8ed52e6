// inject(pod, config) -> { pod, warnings, mode }: builds the mutated pod on a copy, with no I/O,
// clock or env. Only the path to what changes is copied; everything else is shared with the
// input, which lets the patch builder skip unchanged subtrees by identity.
import type { Config } from './config';
import { annotationOf, isObject, JsonObject, MODE_ANNOTATION, SIDECAR_CLUSTER_ROLE, STATUS_ANNOTATION, TOKEN_MOUNT_PATH } from './pod';
import { sidecarResources } from './overrides';
import { raiseForSidecar } from './pod-resources';
import { Mode, MODES, ModeSchema } from './schemas';
import { sidecarContainer, VolumeMount } from './sidecar';

/** The spec fields an injection may change besides adding the sidecar (function/uninject.ts restores them). */
export const RESTORABLE_SPEC_FIELDS = ['initContainers', 'shareProcessNamespace', 'serviceAccountName', 'resources', 'imagePullSecrets'] as const;

export interface Injection {
  pod: JsonObject;
  warnings: string[];
  mode: Mode;
}

export interface InjectOptions {
  /** A manifest injected before it reaches the API server (kubectl pando inject), not an admitted pod. */
  offline?: boolean;
}

/** Expects a pod that shouldInject accepted (metadata and spec objects, containers a list). */
export function inject(pod: JsonObject, config: Config, options: InjectOptions = {}): Injection {
  const warnings: string[] = [];
  const metadata = pod.metadata as JsonObject;
  const spec = pod.spec as JsonObject;
  const containers = spec.containers as JsonObject[];

  const mode = modeOf(pod, config, warnings);
  const tokenMount = findTokenMount(containers);
  const sidecar = sidecarContainer(config, mode, tokenMount, sidecarResources(pod, config, warnings));
  const newSpec: JsonObject = { ...spec };
  // A native sidecar goes first among the init containers, so it also watches the others.
  if (config.nativeSidecar) newSpec.initContainers = [sidecar, ...((spec.initContainers as JsonObject[] | undefined) ?? [])];
  else newSpec.containers = [...containers, sidecar];

  const podResources = raiseForSidecar(spec.resources, sidecar.resources);
  if (podResources) {
    if ('resources' in podResources) newSpec.resources = podResources.resources;
    warnings.push(podResources.warning);
  }

  const pullSecrets = withPullSecrets(spec.imagePullSecrets, config.imagePullSecrets);
  if (pullSecrets) newSpec.imagePullSecrets = pullSecrets;

  if (spec.hostPID === true) {
    warnings.push('pandocore: hostPID pod: shareProcessNamespace not set (the API server rejects both)');
  } else {
    if (spec.shareProcessNamespace === false) warnings.push('pandocore: shareProcessNamespace was false; set to true for the sidecar');
    newSpec.shareProcessNamespace = true;
  }

  const account = typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : '';
  if (account === '' || account === 'default') {
    newSpec.serviceAccountName = config.serviceAccount;
    // The deprecated alias mirrors serviceAccountName; keep them equal.
    if (spec.serviceAccount !== undefined) newSpec.serviceAccount = config.serviceAccount;
  } else if (account !== config.serviceAccount) {
    warnings.push(`pandocore: service account ${short(account, 40)} kept: bind ClusterRole ${SIDECAR_CLUSTER_ROLE} to it`);
  }
  // Offline, the API server has not mounted the token yet; it will unless the pod opts out.
  if (spec.automountServiceAccountToken === false || (!tokenMount && !options.offline)) {
    warnings.push('pandocore: no service account token is mounted: the sidecar runs without API access');
  }
  if (spec.hostNetwork === true) {
    warnings.push(`pandocore: hostNetwork pod: the sidecar health port ${config.probe.port} binds on the node`);
  }
  if (!config.nativeSidecar && (spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure')) {
    warnings.push(`pandocore: restartPolicy ${spec.restartPolicy}: the sidecar keeps the pod running (sidecar.native=true lets it end)`);
  }

  // What the injection changed besides adding the sidecar, as it was before (null: absent), so
  // that kubectl pando uninject can give the pod back exactly.
  // The same record whether the API server defaulted the pod or not (offline), so the two paths
  // give equal pods: the default account counts as absent, and serviceAccount follows
  // serviceAccountName. The init containers themselves are all still there: only whether the
  // list existed counts.
  const restore: JsonObject = {};
  for (const field of RESTORABLE_SPEC_FIELDS) if (newSpec[field] !== spec[field]) restore[field] = spec[field] ?? null;
  if ('serviceAccountName' in restore) restore.serviceAccountName = null;
  if (restore.initContainers !== null) delete restore.initContainers;
  if (!isObject(metadata.annotations)) restore.annotations = null;
  const status = JSON.stringify({
    image: config.sidecarImage,
    mode,
    version: config.webhookVersion,
    ...(Object.keys(restore).length ? { restore } : {}),
  });
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const newMetadata = { ...metadata, annotations: { ...annotations, [STATUS_ANNOTATION]: status } };
  return { pod: { ...pod, metadata: newMetadata, spec: newSpec }, warnings, mode };
}

function modeOf(pod: JsonObject, config: Config, warnings: string[]): Mode {
  const requested = annotationOf(pod, MODE_ANNOTATION);
  if (requested === undefined) return config.defaultMode;
  const parsed = ModeSchema.safeParse(requested);
  if (parsed.success) return parsed.data;
  warnings.push(`pandocore: ${MODE_ANNOTATION}=${short(requested, 24)} is not ${MODES.join('|')}; using ${config.defaultMode}`);
  return config.defaultMode;
}

/** The API token volume that the ServiceAccount admission plugin mounted in the app containers. */
function findTokenMount(containers: JsonObject[]): VolumeMount | undefined {
  for (const container of containers) {
    const mounts = container.volumeMounts;
    if (!Array.isArray(mounts)) continue;
    const mount = mounts.find((m) => isObject(m) && m.mountPath === TOKEN_MOUNT_PATH && typeof m.name === 'string');
    if (mount) return { name: mount.name as string, mountPath: TOKEN_MOUNT_PATH, readOnly: true };
  }
  return undefined;
}

const short = (text: string, max: number) => JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);

/** The pod's imagePullSecrets with the sidecar's added, each once; undefined when none is missing. */
function withPullSecrets(current: unknown, names: readonly string[]): JsonObject[] | undefined {
  const list = Array.isArray(current) ? (current as unknown[]) : [];
  const present = new Set(list.map((s) => (isObject(s) ? s.name : undefined)));
  const missing = names.filter((name) => !present.has(name));
  return missing.length ? [...(list as JsonObject[]), ...missing.map((name) => ({ name }))] : undefined;
}
