// What is installed: the webhook configuration, the workload that serves it, and the
// configuration that workload runs with. Read from the cluster; nothing is assumed but the names
// the chart fixes (templates/_helpers.tpl).
import { ConfigError, loadConfig, type Config } from '../function/config';
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from '../function/names';
import { KubeError } from '../function/kube/client';
import { Kube, type Obj } from './kube';

export const ENABLED_LABEL = 'pandocore.xyz/enabled';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kubectl-pando', 'app.kubernetes.io/part-of': 'pandocore' };

export type Platform = 'knative' | 'deployment' | 'openfaas';

export interface Install {
  webhookConfiguration?: Obj;
  /** The release namespace, as the webhook configuration names it. */
  namespace: string;
  workload?: { platform: Platform; object: Obj };
  env?: Record<string, string>;
  config?: Config;
  configProblems?: string[];
  /** Workload kinds the user may not read (so one of them may be the webhook). */
  forbidden?: string[];
}

const WORKLOADS: Array<{ platform: Platform; apiVersion: string; kind: string }> = [
  { platform: 'knative', apiVersion: 'serving.knative.dev/v1', kind: 'Service' },
  { platform: 'deployment', apiVersion: 'apps/v1', kind: 'Deployment' },
  { platform: 'openfaas', apiVersion: 'openfaas.com/v1', kind: 'Function' },
];

export async function findInstall(kube: Kube, namespaceOverride?: string): Promise<Install> {
  const webhookConfiguration = await kube.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', OBJECT_NAMES.webhook);
  const namespace = namespaceOverride ?? webhookConfiguration?.webhooks?.[0]?.clientConfig?.service?.namespace ?? DEFAULT_RELEASE_NAMESPACE;
  const install: Install = { webhookConfiguration, namespace };
  for (const { platform, apiVersion, kind } of WORKLOADS) {
    let object: Obj | undefined;
    try {
      object = await kube.get(apiVersion, kind, OBJECT_NAMES.webhook, namespace);
    } catch (error) {
      // A user may read Deployments but not Knative Services: look on, and say so if nothing is found.
      if (!(error instanceof KubeError && error.status === 403)) throw error;
      install.forbidden = [...(install.forbidden ?? []), `${kind} (${apiVersion})`];
      continue;
    }
    if (!object) continue;
    install.workload = { platform, object };
    install.env = envOf(platform, object);
    try {
      install.config = loadConfig(install.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      install.configProblems = error.problems;
    }
    break;
  }
  return install;
}

/** The settings the installed webhook runs with; the function's defaults when they cannot be read. */
export function configOf(install: Install): Config {
  return install.config ?? loadConfig({});
}

/** The webhook's environment as the workload declares it (plain values only, as the chart writes them). */
export function envOf(platform: Platform, object: Obj): Record<string, string> {
  if (platform === 'openfaas') return { ...(object.spec?.environment ?? {}) };
  const containers: Obj[] = object.spec?.template?.spec?.containers ?? [];
  return containerEnv(containers.find((c) => c.name === OBJECT_NAMES.webhook) ?? containers[0]);
}

/** A container's plain env values (not valueFrom). */
export function containerEnv(container: Obj | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container?.env ?? []) if (typeof e?.value === 'string') env[e.name] = e.value;
  return env;
}

/** The platform whose workload this object is, if it is one. */
export const platformOf = (object: Obj): Platform | undefined => WORKLOADS.find((w) => w.apiVersion === object.apiVersion && w.kind === object.kind)?.platform;

/** Whether the workload reports itself ready, in its platform's terms. */
export function workloadReadiness(platform: Platform, object: Obj): { ready: boolean; detail: string } {
  const conditions: Obj[] = object.status?.conditions ?? [];
  const condition = (type: string) => conditions.find((c) => c.type === type);
  if (platform === 'knative') {
    const ready = condition('Ready');
    if (!ready) return { ready: false, detail: 'Knative Service has no Ready condition yet (is Knative Serving running?)' };
    if (ready.status === 'True') return { ready: true, detail: 'Ready=True' };
    // Which of Knative's steps holds it back: the Revision (ConfigurationsReady) or the Route (RoutesReady).
    const steps = ['ConfigurationsReady', 'RoutesReady']
      .map(condition)
      .filter((step): step is Obj => step !== undefined && step.status !== 'True')
      .map((step) => `${step.type}=${step.status}${step.reason ? ` ${step.reason}` : ''}${step.message ? `: ${step.message}` : ''}`);
    return { ready: false, detail: `Ready=${ready.status}${steps.length ? `; ${steps.join('; ')}` : ready.message ? `: ${ready.message}` : ''}` };
  }
  if (platform === 'deployment') {
    const wanted = object.spec?.replicas ?? 1;
    const available = object.status?.availableReplicas ?? 0;
    return { ready: available >= 1, detail: `${available}/${wanted} replicas available` };
  }
  const available = object.status?.availableReplicas ?? object.status?.replicas;
  const ready = condition('Ready') ?? condition('Healthy');
  if (ready) return { ready: ready.status === 'True', detail: `${ready.type}=${ready.status}` };
  return { ready: typeof available === 'number' && available > 0, detail: `${available ?? 0} replicas available` };
}

/** Namespaces the webhook selects: labelled for it, or listed by the release (by name). */
export async function enabledNamespaces(kube: Kube, install: Install): Promise<{ labelled: string[]; listed: string[] }> {
  // A namespace being deleted takes no new pods: nothing there to check.
  const labelled = (await kube.list('v1', 'Namespace', undefined, `${ENABLED_LABEL}=true`))
    .filter((n) => n.status?.phase !== 'Terminating')
    .map((n) => n.metadata.name as string);
  const listed: string[] = [];
  for (const hook of install.webhookConfiguration?.webhooks ?? []) {
    for (const expression of hook.namespaceSelector?.matchExpressions ?? []) {
      if (expression.key === 'kubernetes.io/metadata.name' && expression.operator === 'In') listed.push(...expression.values);
    }
  }
  return { labelled, listed: [...new Set(listed)] };
}
