// Per-pod sizing of the sidecar: four annotations, each a Kubernetes quantity, validated like the
// mode annotation: a bad value keeps the configured one, with a warning, and never fails the pod.
// A request above its limit keeps the configured pair for that resource. The operator can turn
// the annotations off (PANDO_SIDECAR_RESOURCE_OVERRIDES=false, chart sidecar.resourceOverrides).
import type { Config } from './config';
import { annotationOf } from './pod';
import { formatQuantity, parseQuantity } from './quantity';

export interface SidecarResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export const RESOURCE_ANNOTATIONS = {
  'pandocore.xyz/sidecar-cpu-request': ['requests', 'cpu'],
  'pandocore.xyz/sidecar-cpu-limit': ['limits', 'cpu'],
  'pandocore.xyz/sidecar-memory-request': ['requests', 'memory'],
  'pandocore.xyz/sidecar-memory-limit': ['limits', 'memory'],
} as const;

/** The sidecar's requests and limits as the operator configured them. */
export const configuredResources = (config: Config): SidecarResources => ({
  requests: { cpu: config.resources.cpuRequest, memory: config.resources.memoryRequest },
  limits: { cpu: config.resources.cpuLimit, memory: config.resources.memoryLimit },
});

/** The sidecar's requests and limits for this pod: the configured ones, with the pod's valid overrides. */
export function sidecarResources(pod: unknown, config: Config, warnings: string[]): SidecarResources {
  const configured = configuredResources(config);
  const given = Object.entries(RESOURCE_ANNOTATIONS)
    .map(([annotation, [field, resource]]) => ({ annotation, field, resource, value: annotationOf(pod, annotation) }))
    .filter((o): o is typeof o & { value: string } => o.value !== undefined);
  if (given.length === 0) return configured;
  if (!config.resourceOverrides) {
    warnings.push('pandocore: sidecar resource annotations ignored: overrides are turned off in this cluster');
    return configured;
  }
  const chosen: SidecarResources = { requests: { ...configured.requests }, limits: { ...configured.limits } };
  for (const { annotation, field, resource, value } of given) {
    const amount = parseQuantity(value);
    if (amount === undefined || amount < 0n) {
      warnings.push(`pandocore: ${annotation}=${short(value)} is not a quantity; using ${configured[field][resource]}`);
    } else chosen[field][resource] = value;
  }
  for (const resource of ['cpu', 'memory'] as const) {
    const request = parseQuantity(chosen.requests[resource])!;
    const limit = parseQuantity(chosen.limits[resource])!;
    if (request > limit) {
      warnings.push(
        `pandocore: sidecar ${resource} request ${formatQuantity(request, chosen.requests[resource])} is above its limit; ` +
          `using ${configured.requests[resource]}/${configured.limits[resource]}`,
      );
      chosen.requests[resource] = configured.requests[resource];
      chosen.limits[resource] = configured.limits[resource];
    }
  }
  return chosen;
}

const short = (text: string) => JSON.stringify(text.length > 16 ? `${text.slice(0, 16)}…` : text);
