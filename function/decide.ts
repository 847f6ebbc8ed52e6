// Whether a request gets the sidecar. Skip decisions are data: a reason code and a sentence,
// so logs and tests can say why a pod was left alone.
//
// Checked in this order; the first that applies wins:
//   not_pod          the request is not for core/v1 pods          -> skip
//   subresource      e.g. pods/ephemeralcontainers, pods/binding  -> skip
//   not_create       UPDATE, DELETE, CONNECT                      -> skip
//   not_labelled     label pandocore.xyz/protect is not "true"    -> skip
//   system_namespace the webhook's own namespace                  -> skip
//   excluded_namespace listed in excludedNamespaces               -> skip
//   malformed_pod    spec or containers of the wrong shape        -> skip, with a warning
//   already_injected a pando-sidecar container and our status annotation (reinvocation,
//                    injected offline)                            -> skip
//   foreign_sidecar  a pando-sidecar container we did not inject  -> skip, with a warning
//   windows_pod      spec.os.name is windows: the sidecar is Linux -> skip, with a warning
//   (none)                                                        -> inject
import type { AdmissionRequest } from './admission';
import type { Config } from './config';
import { annotationOf, hasSidecar, isObject, labelOf, objectAt, PROTECT_LABEL, SIDECAR_NAME, STATUS_ANNOTATION, stringAt } from './pod';

export const SKIP_REASONS = {
  not_pod: 'the request is not for a core/v1 Pod',
  subresource: 'the request is for a pod subresource',
  not_create: 'only CREATE is mutated',
  not_labelled: `the pod is not labelled ${PROTECT_LABEL}: "true"`,
  system_namespace: "the pod is in the webhook's own namespace",
  excluded_namespace: 'the namespace is excluded by configuration',
  malformed_pod: 'the pod spec does not have the shape of a Pod',
  already_injected: 'the pod already has the pando-sidecar container',
  foreign_sidecar: 'the pod has a container named pando-sidecar that the webhook did not inject',
  windows_pod: 'the sidecar runs on Linux only and the pod is a Windows pod',
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;

export type Decision = { inject: true } | { inject: false; reason: SkipReason; message: string; warning?: string };

const skip = (reason: SkipReason, warning?: string): Decision => ({ inject: false, reason, message: SKIP_REASONS[reason], warning });

export function shouldInject(request: AdmissionRequest, pod: unknown, config: Config): Decision {
  const { kind, resource } = request;
  if (kind.group !== '' || kind.kind !== 'Pod' || resource.group !== '' || resource.resource !== 'pods') return skip('not_pod');
  if (request.subResource) return skip('subresource');
  if (request.operation !== 'CREATE') return skip('not_create');
  if (labelOf(pod, PROTECT_LABEL) !== 'true') return skip('not_labelled');

  const namespace = request.namespace || stringAt(objectAt(pod, 'metadata'), 'namespace') || 'default';
  if (namespace === config.systemNamespace) return skip('system_namespace');
  if (config.excludedNamespaces.has(namespace)) return skip('excluded_namespace');

  const problem = shapeProblem(pod);
  if (problem) return skip('malformed_pod', `pandocore: sidecar not injected: ${problem}`);
  const spec = objectAt(pod, 'spec') as Record<string, unknown>;
  if (hasSidecar(spec)) {
    if (annotationOf(pod, STATUS_ANNOTATION) !== undefined) return skip('already_injected');
    return skip('foreign_sidecar', `pandocore: sidecar not injected: the pod has its own container named ${SIDECAR_NAME}; rename it`);
  }
  if (stringAt(objectAt(spec, 'os'), 'name') === 'windows') {
    return skip('windows_pod', 'pandocore: sidecar not injected: Windows pods are not supported');
  }
  return { inject: true };
}

/** What injection reads and extends must have the shape of a Pod; anything else is left alone. */
function shapeProblem(pod: unknown): string | undefined {
  const metadata = isObject(pod) ? pod.metadata : undefined;
  if (!isObject(metadata)) return 'metadata is not an object';
  if (metadata.annotations !== undefined && !isObject(metadata.annotations)) return 'metadata.annotations is not an object';
  const spec = (pod as Record<string, unknown>).spec;
  if (!isObject(spec)) return 'spec is not an object';
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    const containers = spec[list];
    if (containers === undefined && list !== 'containers') continue;
    if (!Array.isArray(containers)) return `spec.${list} is not a list`;
    if (!containers.every((c) => isObject(c) && typeof c.name === 'string')) return `spec.${list} has an entry without a name`;
  }
  if ((spec.containers as unknown[]).length === 0) return 'spec.containers is empty';
  return undefined;
}
