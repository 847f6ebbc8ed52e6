// kubectl pando status: the protected pods, whether each runs the current sidecar, and the
// workloads to restart after an upgrade. What a pod runs is read from its spec (the sidecar
// container, its image and PANDO_MODE) and its status (the image the kubelet runs), never from
// the status annotation, which anyone who creates the pod can write.
import { hasSidecar, isObject, sidecarContainer, SIDECAR_NAME, STATUS_ANNOTATION } from '../function/pod';
import { Kube, type Obj } from './kube';
import { findInstall } from './read-install';

export interface PodStatus {
  namespace: string;
  pod: string;
  /** The sidecar container's image in the pod's spec; undefined without a sidecar. */
  image?: string;
  /** The image the kubelet reports running for that container, once it has started. */
  running?: string;
  /** PANDO_MODE of the sidecar container. */
  mode?: string;
  /** The spec's image is the configured one, and so is the running one when reported. */
  current: boolean;
  /** What the spec or the status contradicts: a status annotation naming an image the pod does not have, a running image not the spec's. */
  problems?: string[];
  /** kind/name of the workload that owns the pod, if any. */
  workload?: string;
}

export interface StatusReport {
  configuredImage?: string;
  pods: PodStatus[];
  /** One command per workload whose pods run an old or no sidecar. */
  restarts: string[];
  /** Workloads whose template was injected offline: a restart brings the same sidecar back. */
  reinject: string[];
}

const RESTARTABLE = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** A reference as a runtime reports it: registry, repository and tag (or digest) spelled out. */
export function normalizeImage(image: string): string {
  const [name, digest] = image.split('@', 2);
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  let full = hasRegistry ? name : `docker.io/${slash < 0 ? `library/${name}` : name}`;
  if (!digest && !/:[^/]+$/.test(full)) full += ':latest';
  return digest ? `${full}@${digest}` : full;
}

/** The sidecar of a pod as its spec and status say, the annotation only checked against them. */
export function sidecarStatusOf(pod: Obj, configuredImage: string | undefined): Pick<PodStatus, 'image' | 'running' | 'mode' | 'current' | 'problems'> {
  const spec = pod.spec ?? {};
  const sidecar: Obj | undefined = sidecarContainer(spec);
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const running = statuses.find((c: Obj) => c?.name === SIDECAR_NAME)?.image;
  const image = typeof sidecar?.image === 'string' ? sidecar.image : undefined;
  const modeEnv = (sidecar?.env ?? []).find((e: Obj) => e?.name === 'PANDO_MODE');
  const problems: string[] = [];
  const claimed = annotatedImage(pod);
  if (claimed !== undefined && claimed !== image) problems.push(`status annotation names ${claimed}, the spec ${image ?? 'no sidecar'}`);
  const runningOther = typeof running === 'string' && image !== undefined && normalizeImage(running) !== normalizeImage(image);
  if (runningOther) problems.push(`running ${running}, not the spec's ${image}`);
  const current = image !== undefined && configuredImage !== undefined && normalizeImage(image) === normalizeImage(configuredImage) && !runningOther;
  return {
    image,
    running: typeof running === 'string' ? running : undefined,
    mode: typeof modeEnv?.value === 'string' ? modeEnv.value : undefined,
    current,
    ...(problems.length ? { problems } : {}),
  };
}

/** The image the status annotation claims, if it parses. */
function annotatedImage(pod: Obj): string | undefined {
  try {
    const parsed = JSON.parse(pod.metadata?.annotations?.[STATUS_ANNOTATION] ?? 'null');
    return isObject(parsed) && typeof parsed.image === 'string' ? parsed.image : undefined;
  } catch {
    return undefined;
  }
}

export async function protectedPods(kube: Kube, namespace: string | undefined): Promise<StatusReport> {
  const install = await findInstall(kube);
  const configuredImage = install.config?.sidecarImage;
  const pods = await kube.list('v1', 'Pod', namespace, 'pandocore.xyz/protect=true');
  const owners = new Map<string, string | undefined>();
  const ownerOf = async (pod: Obj): Promise<string | undefined> => {
    const ref = (pod.metadata?.ownerReferences ?? []).find((r: Obj) => r.controller);
    if (!ref) return undefined;
    if (ref.kind !== 'ReplicaSet') return `${ref.kind}/${ref.name}`;
    const key = `${pod.metadata.namespace}/${ref.name}`;
    if (!owners.has(key)) {
      const rs = await kube.get('apps/v1', 'ReplicaSet', ref.name, pod.metadata.namespace);
      const up = (rs?.metadata?.ownerReferences ?? []).find((r: Obj) => r.controller);
      owners.set(key, up ? `${up.kind}/${up.name}` : `ReplicaSet/${ref.name}`);
    }
    return owners.get(key);
  };
  const report: StatusReport = { configuredImage, pods: [], restarts: [], reinject: [] };
  const restarts = new Set<string>();
  const reinject = new Set<string>();
  const injectedOffline = new Map<string, boolean>();
  const templateHasSidecar = async (workload: string, namespace: string) => {
    const key = `${namespace}/${workload}`;
    if (!injectedOffline.has(key)) {
      const [kind, name] = workload.split('/');
      const object = await kube.get('apps/v1', kind, name, namespace);
      injectedOffline.set(key, hasSidecar(object?.spec?.template?.spec ?? {}));
    }
    return injectedOffline.get(key)!;
  };
  for (const pod of pods) {
    const sidecar = sidecarStatusOf(pod, configuredImage);
    const workload = await ownerOf(pod);
    const current = sidecar.current;
    report.pods.push({ namespace: pod.metadata.namespace, pod: pod.metadata.name, ...sidecar, workload });
    if (!current && workload && RESTARTABLE.has(workload.split('/')[0])) {
      if (await templateHasSidecar(workload, pod.metadata.namespace)) reinject.add(`${workload.toLowerCase()} -n ${pod.metadata.namespace}`);
      else restarts.add(`kubectl rollout restart ${workload.toLowerCase()} -n ${pod.metadata.namespace}`);
    }
  }
  report.pods.sort((a, b) => `${a.namespace}/${a.pod}`.localeCompare(`${b.namespace}/${b.pod}`));
  report.restarts = [...restarts].sort();
  report.reinject = [...reinject].sort();
  return report;
}

export function renderStatus(report: StatusReport): string {
  const rows = [['NAMESPACE', 'POD', 'SIDECAR', 'MODE', 'CURRENT', 'WORKLOAD']];
  for (const p of report.pods) rows.push([p.namespace, p.pod, p.image ?? '(none)', p.mode ?? '-', p.current ? 'yes' : 'no', p.workload ?? '-']);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  lines.unshift(`configured sidecar image: ${report.configuredImage ?? '(webhook not found)'}`, '');
  if (report.pods.length === 0) lines.push('(no pod labelled pandocore.xyz/protect=true)');
  const contradicted = report.pods.filter((p) => p.problems?.length);
  if (contradicted.length) lines.push('', 'Not what they claim:', ...contradicted.map((p) => `  ${p.namespace}/${p.pod}: ${p.problems!.join('; ')}`));
  const stale = report.pods.filter((p) => !p.current);
  if (stale.length > 0) {
    lines.push('', `${stale.length} pod(s) do not run ${report.configuredImage ?? 'the configured sidecar'}.`);
    if (report.restarts.length) lines.push('Restart their workloads when convenient, one at a time:', ...report.restarts.map((r) => `  ${r}`));
    if (report.reinject.length) {
      lines.push(
        'Injected offline (a restart brings the same sidecar back): run kubectl pando inject --from-cluster on their manifests and apply them:',
        ...report.reinject.map((r) => `  ${r}`),
      );
    }
    const bare = stale.filter((p) => !p.workload || !RESTARTABLE.has(p.workload.split('/')[0]));
    if (bare.length)
      lines.push('Re-create by hand (no rolling workload owns them):', ...bare.map((p) => `  ${p.namespace}/${p.pod}${p.workload ? ` (${p.workload})` : ''}`));
  }
  return `${lines.join('\n')}\n`;
}
