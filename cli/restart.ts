// kubectl pando restart --outdated | --unprotected: restarts the workloads whose pods run an old
// sidecar (what `status` reports as not current) or none at all, one at a time, with `kubectl
// rollout restart` semantics (a new restartedAt annotation on the pod template), and waits for
// each rollout as `kubectl rollout status` does before the next. It stops at the first failure,
// so a broken sidecar image takes down one workload's rollout, not the cluster's. Bare pods and
// Jobs are only listed: deleting them would lose work nobody re-creates.
import { podCreateRequest } from './inject';
import type { Config } from '../function/config';
import { shouldInject } from '../function/decide';
import { findInstall, enabledNamespaces } from './read-install';
import { type Kube, type Obj } from './kube';
import { protectedPods } from './status';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

export type Selection = 'outdated' | 'unprotected';

export interface Workload {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  name: string;
  namespace: string;
  /** The selected pods it owns. */
  pods: string[];
}

export interface RestartPlan {
  selection: Selection;
  configuredImage?: string;
  /** Restarted in this order, one at a time. */
  restart: Workload[];
  /** Workloads a restart would not fix, each with the reason and what to do instead. */
  skipped: Array<{ workload: string; reason: string }>;
  /** Pods no rolling workload owns (bare pods, Jobs, lone ReplicaSets): listed, never deleted. */
  manual: Array<{ pod: string; owner?: string }>;
}

export interface RestartOptions {
  selection: Selection;
  /** undefined: every namespace (-A). */
  namespace?: string;
  dryRun?: boolean;
  timeoutMs?: number;
  pollMs?: number;
  /** Progress, one line at a time (the command prints them as they come). */
  log?: (line: string) => void;
  now?: () => Date;
}

export class RestartFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestartFailed';
  }
}

const ROLLING = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

const label = (w: { kind: string; name: string; namespace: string }) => `${w.kind.toLowerCase()}/${w.name} -n ${w.namespace}`;

/** What a restart would do: read only. */
export async function planRestart(kube: Kube, selection: Selection, namespace: string | undefined): Promise<RestartPlan> {
  const report = await protectedPods(kube, namespace);
  if (selection === 'outdated' && !report.configuredImage) {
    throw new RestartFailed('no installed webhook found (MutatingWebhookConfiguration pando-webhook and its workload): nothing to compare sidecars with');
  }
  const selected = report.pods.filter((p) => (selection === 'outdated' ? p.image !== undefined && !p.current : p.image === undefined));
  const plan: RestartPlan = { selection, configuredImage: report.configuredImage, restart: [], skipped: [], manual: [] };
  const reinject = new Set(report.reinject);
  const install = selection === 'unprotected' ? await findInstall(kube) : undefined;
  const selects = install ? await selectedNamespaces(kube, install) : undefined;
  const podObjects = new Map<string, Obj>();
  if (install?.config) {
    for (const p of await kube.list('v1', 'Pod', namespace, 'pandocore.xyz/protect=true')) podObjects.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
  }
  const byWorkload = new Map<string, Workload>();
  const refused = new Set<string>();
  for (const pod of selected) {
    const [kind, name] = (pod.workload ?? '/').split('/');
    // A pod the webhook skips on purpose (a Windows pod, an excluded namespace) gets no sidecar
    // from a restart either: say why instead of restarting its workload for nothing.
    const object = podObjects.get(`${pod.namespace}/${pod.pod}`);
    const skipped = install?.config && object ? whyNoSidecar(object, pod.namespace, install.config) : undefined;
    if (skipped) {
      const owner = ROLLING.has(kind) ? label({ kind, name, namespace: pod.namespace }) : `pod ${pod.namespace}/${pod.pod}`;
      if (!refused.has(owner)) plan.skipped.push({ workload: owner, reason: `the webhook would not inject its pods: ${skipped}` });
      refused.add(owner);
      continue;
    }
    if (!ROLLING.has(kind)) {
      plan.manual.push({ pod: `${pod.namespace}/${pod.pod}`, ...(pod.workload ? { owner: pod.workload } : {}) });
      continue;
    }
    const key = `${kind}/${name}/${pod.namespace}`;
    const known = byWorkload.get(key);
    if (known) known.pods.push(pod.pod);
    else byWorkload.set(key, { kind: kind as Workload['kind'], name, namespace: pod.namespace, pods: [pod.pod] });
  }
  for (const workload of [...byWorkload.values()].sort((a, b) => label(a).localeCompare(label(b)))) {
    if (refused.has(label(workload))) continue;
    const reason = await whyNotRestart(kube, workload, reinject, selects);
    if (reason) plan.skipped.push({ workload: label(workload), reason });
    else plan.restart.push(workload);
  }
  return plan;
}

/** Why restarting this workload would not give its pods the configured sidecar, if so. */
async function whyNotRestart(kube: Kube, workload: Workload, reinject: Set<string>, selects: ((ns: string) => boolean) | undefined) {
  if (reinject.has(`${workload.kind.toLowerCase()}/${workload.name} -n ${workload.namespace}`)) {
    return 'its template was injected offline, so a restart brings the same sidecar back: kubectl pando inject --from-cluster on its manifest, then apply it';
  }
  if (selects && !selects(workload.namespace))
    return `the webhook does not select namespace ${workload.namespace}: kubectl pando enable ${workload.namespace} first`;
  const object = await kube.get('apps/v1', workload.kind, workload.name, workload.namespace);
  if (!object) return 'gone since its pods were listed';
  if (workload.kind === 'Deployment' && object.spec?.paused) return `paused: kubectl rollout resume ${label(workload)} first`;
  if (workload.kind !== 'Deployment' && object.spec?.updateStrategy?.type === 'OnDelete') {
    return 'updateStrategy OnDelete: a restart replaces no pod; delete its pods one at a time yourself';
  }
  return undefined;
}

/** The webhook's own decision for this pod as if it were created now; undefined when it would inject. */
function whyNoSidecar(pod: Obj, namespace: string, config: Config): string | undefined {
  const decision = shouldInject(podCreateRequest(namespace, 'kubectl-pando-restart'), pod, config);
  return decision.inject ? undefined : decision.message;
}

/** The namespaces the webhook injects into: labelled or listed, minus the excluded ones. */
async function selectedNamespaces(kube: Kube, install: Awaited<ReturnType<typeof findInstall>>): Promise<(namespace: string) => boolean> {
  const { labelled, listed } = await enabledNamespaces(kube, install);
  const selected = new Set([...labelled, ...listed]);
  return (namespace) => selected.has(namespace) && namespace !== install.namespace && !install.config?.excludedNamespaces.has(namespace);
}

/** The plan as lines, for --dry-run and before a real run. */
export function renderPlan(plan: RestartPlan, dryRun: boolean): string[] {
  const what = plan.selection === 'outdated' ? `an old sidecar (not ${plan.configuredImage})` : 'no sidecar';
  const lines: string[] = [];
  if (plan.restart.length + plan.skipped.length + plan.manual.length === 0) return [`no pod labelled pandocore.xyz/protect=true runs ${what}`];
  if (plan.restart.length) {
    lines.push(`${dryRun ? 'Would restart' : 'Restarting'}, one at a time (pods running ${what}):`);
    for (const w of plan.restart) lines.push(`  ${label(w)} (${w.pods.length} pod(s): ${w.pods.join(', ')})`);
  }
  if (plan.skipped.length) {
    lines.push('Not restarted:');
    for (const s of plan.skipped) lines.push(`  ${s.workload}: ${s.reason}`);
  }
  if (plan.manual.length) {
    lines.push('Re-create by hand (no rolling workload owns them; never deleted by kubectl pando):');
    for (const m of plan.manual) lines.push(`  ${m.pod}${m.owner ? ` (${m.owner})` : ''}`);
  }
  return lines;
}

/** Plans, then restarts each workload and waits for its rollout; throws RestartFailed at the first failure. */
export async function restartWorkloads(kube: Kube, options: RestartOptions): Promise<RestartPlan> {
  const log = options.log ?? (() => undefined);
  const plan = await planRestart(kube, options.selection, options.namespace);
  for (const line of renderPlan(plan, options.dryRun === true)) log(line);
  if (options.dryRun) return plan;
  const now = options.now ?? (() => new Date());
  for (const [index, workload] of plan.restart.entries()) {
    const started = Date.now();
    const left = () => plan.restart.slice(index + 1).map(label);
    const stop = (why: string) =>
      new RestartFailed(`${label(workload)}: ${why}. Stopped there${left().length ? `; not restarted: ${left().join(', ')}` : ''}.`);
    let patched: Obj;
    try {
      // What kubectl rollout restart sends: a changed template annotation makes a new rollout.
      patched = await kube.patch('apps/v1', workload.kind, workload.name, workload.namespace, {
        spec: {
          template: {
            metadata: {
              annotations: {
                [RESTARTED_AT]: now()
                  .toISOString()
                  .replace(/\.\d{3}Z$/, 'Z'),
              },
            },
          },
        },
      });
    } catch (error) {
      throw stop(`the restart was refused: ${String((error as Error).message).split('\n')[0]}`);
    }
    log(`${label(workload)} restarted; waiting for its rollout`);
    const generation = Number(patched.metadata?.generation ?? 0);
    await waitForRollout(kube, workload, generation, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.pollMs ?? 2000, stop);
    log(`${label(workload)} rolled out in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  if (plan.restart.length) log(`${plan.restart.length} workload(s) restarted`);
  return plan;
}

async function waitForRollout(
  kube: Kube,
  workload: Workload,
  generation: number,
  timeoutMs: number,
  pollMs: number,
  stop: (why: string) => Error,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const object = await kube.get('apps/v1', workload.kind, workload.name, workload.namespace);
    if (!object) throw stop('deleted during its rollout');
    const state = rolloutState(workload.kind, object, generation);
    if (state.failed) throw stop(state.failed);
    if (state.done) return;
    if (Date.now() >= deadline) throw stop(`rollout not finished after ${Math.round(timeoutMs / 1000)} s (${state.progress})`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
  }
}

export interface RolloutState {
  done: boolean;
  failed?: string;
  progress: string;
}

/** kubectl rollout status's verdicts, per kind, for the generation our patch made. */
export function rolloutState(kind: Workload['kind'], object: Obj, generation: number): RolloutState {
  const status = object.status ?? {};
  const observed = Number(status.observedGeneration ?? 0);
  if (observed < generation) return { done: false, progress: `generation ${generation} not observed yet (at ${observed})` };
  const desired = Number(object.spec?.replicas ?? 1);
  const updated = Number(status.updatedReplicas ?? 0);
  if (kind === 'Deployment') {
    const progressing = (status.conditions ?? []).find((c: Obj) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded')
      return { done: false, failed: `rollout exceeded its progress deadline: ${progressing.message ?? ''}`.trim().replace(/\.$/, ''), progress: '' };
    if (updated < desired) return { done: false, progress: `${updated} of ${desired} updated replicas` };
    if (Number(status.replicas ?? 0) > updated) return { done: false, progress: `${Number(status.replicas) - updated} old replica(s) pending termination` };
    const available = Number(status.availableReplicas ?? 0);
    if (available < updated) return { done: false, progress: `${available} of ${updated} updated replicas available` };
    return { done: true, progress: 'done' };
  }
  if (kind === 'StatefulSet') {
    const ready = Number(status.readyReplicas ?? 0);
    if (ready < desired) return { done: false, progress: `${ready} of ${desired} pods ready` };
    const partition = Number(object.spec?.updateStrategy?.rollingUpdate?.partition ?? 0);
    if (partition > 0) {
      return updated < desired - partition
        ? { done: false, progress: `${updated} of ${desired - partition} pods updated (partition ${partition})` }
        : { done: true, progress: 'done' };
    }
    if (status.updateRevision !== status.currentRevision) return { done: false, progress: `${updated} of ${desired} pods updated` };
    return { done: true, progress: 'done' };
  }
  const scheduled = Number(status.desiredNumberScheduled ?? 0);
  const updatedScheduled = Number(status.updatedNumberScheduled ?? 0);
  if (updatedScheduled < scheduled) return { done: false, progress: `${updatedScheduled} of ${scheduled} updated pods scheduled` };
  const available = Number(status.numberAvailable ?? 0);
  if (available < scheduled) return { done: false, progress: `${available} of ${scheduled} updated pods available` };
  return { done: true, progress: 'done' };
}
