// kubectl pando status: the protected pods, whether each runs the current sidecar (its status
// annotation against the configured image), and the workloads to restart after an upgrade.
import { isObject, SIDECAR_NAME, STATUS_ANNOTATION } from '../function/pod';
import { Kube, type Obj } from './kube';
import { findInstall } from './install';

export interface PodStatus {
  namespace: string;
  pod: string;
  /** The sidecar image the pod runs, from its status annotation (or the container). */
  image?: string;
  mode?: string;
  current: boolean;
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

function statusOf(pod: Obj): { image?: string; mode?: string } {
  const raw = pod.metadata?.annotations?.[STATUS_ANNOTATION];
  try {
    const parsed = raw ? JSON.parse(raw) : undefined;
    if (isObject(parsed)) return { image: String(parsed.image), mode: String(parsed.mode) };
  } catch {
    // fall through to the container
  }
  const sidecar = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c: Obj) => c.name === SIDECAR_NAME);
  return { image: sidecar?.image };
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
      const spec = object?.spec?.template?.spec ?? {};
      injectedOffline.set(
        key,
        [...(spec.initContainers ?? []), ...(spec.containers ?? [])].some((c: Obj) => c.name === SIDECAR_NAME),
      );
    }
    return injectedOffline.get(key)!;
  };
  for (const pod of pods) {
    const { image, mode } = statusOf(pod);
    const workload = await ownerOf(pod);
    const current = image !== undefined && image === configuredImage;
    report.pods.push({ namespace: pod.metadata.namespace, pod: pod.metadata.name, image, mode, current, workload });
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
