// Read-only views of a raw pod. The pod arrives as untrusted JSON, so every accessor checks
// the shape it reads instead of casting.
import { OBJECT_NAMES } from './names';

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export const SIDECAR_NAME = 'pando-sidecar';
/** The ClusterRole the chart grants the sidecar (templates/sidecar-clusterrole.yaml), whatever its account is called. */
export const SIDECAR_CLUSTER_ROLE = OBJECT_NAMES.sidecarClusterRole;
export const PROTECT_LABEL = 'pandocore.xyz/protect';
export const MODE_ANNOTATION = 'pandocore.xyz/mode';
export const STATUS_ANNOTATION = 'pandocore.xyz/status';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export const objectAt = (parent: unknown, key: string): JsonObject | undefined => {
  const v = isObject(parent) ? parent[key] : undefined;
  return isObject(v) ? v : undefined;
};

export const stringAt = (parent: unknown, key: string): string | undefined => {
  const v = isObject(parent) ? parent[key] : undefined;
  return typeof v === 'string' ? v : undefined;
};

export const labelOf = (pod: unknown, key: string) => stringAt(objectAt(objectAt(pod, 'metadata'), 'labels'), key);
export const annotationOf = (pod: unknown, key: string) => stringAt(objectAt(objectAt(pod, 'metadata'), 'annotations'), key);

/** The pod's name, or its generateName prefix for pods made by controllers. */
export function podDisplayName(pod: unknown): string | undefined {
  const meta = objectAt(pod, 'metadata');
  return stringAt(meta, 'name') || (stringAt(meta, 'generateName') ? `${stringAt(meta, 'generateName')}*` : undefined);
}

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** The container named pando-sidecar in any container list of the pod's spec, if there is one. */
export function sidecarContainer(spec: JsonObject): JsonObject | undefined {
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    const found = Array.isArray(containers) ? containers.find((c) => isObject(c) && c.name === SIDECAR_NAME) : undefined;
    if (found) return found as JsonObject;
  }
  return undefined;
}

/** True when any container list of the pod already holds the sidecar. */
export const hasSidecar = (spec: JsonObject): boolean => sidecarContainer(spec) !== undefined;
