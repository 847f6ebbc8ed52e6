// Pod-level resources (spec.resources): the API server refuses a pod whose containers together
// request more than the pod declares, or one of whose containers may use more than the pod's
// limit. The sidecar's requests and limits are added to what the pod declares, so the app keeps
// the share it had. That is exact for a native sidecar (it counts towards the app containers and
// every init container alike) and enough for a regular one (it can add at most as much).
import { isObject, JsonObject } from './pod';
import { formatQuantity, parseQuantity } from './quantity';

export interface ContainerResources {
  requests?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

type Shifted = { resources: JsonObject; changes: string[] } | { bad: string } | undefined;

/** Adds (sign 1) or takes back (sign -1) the sidecar's amounts of what the pod declares. */
function shift(podResources: unknown, sidecar: ContainerResources, sign: 1n | -1n): Shifted {
  if (!isObject(podResources)) return undefined;
  const shifted: JsonObject = { ...podResources };
  const changes: string[] = [];
  for (const field of ['requests', 'limits'] as const) {
    const declared = podResources[field];
    if (!isObject(declared)) continue;
    const changed: JsonObject = { ...declared };
    const parts: string[] = [];
    for (const [name, amount] of Object.entries(sidecar[field] ?? {})) {
      const value = declared[name];
      if (value === undefined) continue;
      const current = typeof value === 'string' || typeof value === 'number' ? parseQuantity(String(value)) : undefined;
      if (current === undefined) return { bad: `spec.resources.${field}.${name}` };
      const delta = typeof amount === 'string' ? parseQuantity(amount) : undefined;
      if (delta === undefined) continue;
      changed[name] = formatQuantity(current + sign * delta, String(value));
      parts.push(`${name} +${amount}`);
    }
    shifted[field] = changed;
    if (parts.length) changes.push(`${field} ${parts.join(' ')}`);
  }
  return changes.length ? { resources: shifted, changes } : undefined;
}

export type Raised = { resources: JsonObject; warning: string } | { warning: string };

/** The pod's spec.resources raised by the sidecar's, or undefined when the pod declares none of them. */
export function raiseForSidecar(podResources: unknown, sidecar: ContainerResources): Raised | undefined {
  const raised = shift(podResources, sidecar, 1n);
  if (!raised) return undefined;
  if ('bad' in raised) return { warning: `pandocore: ${raised.bad} is not a quantity; left as is` };
  return { resources: raised.resources, warning: `pandocore: spec.resources raised for the sidecar: ${raised.changes.join('; ')}` };
}

/** The pod's spec.resources as they were before an injected sidecar of these resources was counted in. */
export function lowerForSidecar(podResources: unknown, sidecar: ContainerResources): JsonObject | undefined {
  const lowered = shift(podResources, sidecar, -1n);
  return lowered && 'resources' in lowered ? lowered.resources : undefined;
}
