// uninject(pod): the pod as it was before inject(), from what the status annotation recorded:
// the sidecar removed, each spec field the injection changed given its old value back (or
// removed), the status annotation removed. Pure, like inject(). The "default" account is
// recorded as absent (the API server sets it again), so a pod stored by the API server comes back
// without it. An injection recorded before the restore record existed gets the sidecar, the
// annotation and the pod-level resources back out; the other fields it may have set stay.
import { RESTORABLE_SPEC_FIELDS } from './inject';
import { annotationOf, isObject, JsonObject, SIDECAR_NAME, STATUS_ANNOTATION } from './pod';
import { lowerForSidecar, type ContainerResources } from './pod-resources';

/** The pod without our injection, or undefined when the pod carries no injection of ours. */
export function uninject(pod: JsonObject): JsonObject | undefined {
  const status = parseStatus(annotationOf(pod, STATUS_ANNOTATION));
  const metadata = pod.metadata as JsonObject;
  const spec = isObject(pod.spec) ? pod.spec : undefined;
  if (!status || !spec) return undefined;
  const restore = isObject(status.restore) ? status.restore : {};

  const newSpec: JsonObject = { ...spec };
  for (const list of ['containers', 'initContainers'] as const) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    const ours = containers.find((c) => isObject(c) && c.name === SIDECAR_NAME);
    if (!ours) continue;
    newSpec[list] = containers.filter((c) => c !== ours);
    if (!('resources' in restore) && isObject(ours.resources)) {
      const lowered = lowerForSidecar(spec.resources, ours.resources as ContainerResources);
      if (lowered) newSpec.resources = lowered;
    }
  }
  // Without a record, an init container list the sidecar alone was in was made for it.
  if (
    !('initContainers' in restore) &&
    Array.isArray(newSpec.initContainers) &&
    newSpec.initContainers.length === 0 &&
    spec.initContainers !== newSpec.initContainers
  ) {
    delete newSpec.initContainers;
  }
  for (const field of RESTORABLE_SPEC_FIELDS) {
    if (!(field in restore)) continue;
    if (field === 'initContainers') {
      if (restore.initContainers === null) delete newSpec.initContainers;
      continue;
    }
    if (restore[field] === null) delete newSpec[field];
    else newSpec[field] = restore[field];
  }
  // The deprecated alias mirrors serviceAccountName (inject set both).
  if ('serviceAccountName' in restore && spec.serviceAccount !== undefined) {
    if (newSpec.serviceAccountName === undefined) delete newSpec.serviceAccount;
    else newSpec.serviceAccount = newSpec.serviceAccountName;
  }

  const annotations = { ...(metadata.annotations as JsonObject) };
  delete annotations[STATUS_ANNOTATION];
  const newMetadata: JsonObject = { ...metadata, annotations };
  if (restore.annotations === null && Object.keys(annotations).length === 0) delete newMetadata.annotations;
  return { ...pod, metadata: newMetadata, spec: newSpec };
}

function parseStatus(raw: string | undefined): JsonObject | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObject(parsed) ? parsed : {};
  } catch {
    // Ours, but unreadable: the sidecar and the annotation still come out.
    return {};
  }
}
