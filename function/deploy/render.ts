// values -> the objects of the install, in apply order, and their multi-document YAML.
import { stringify } from 'yaml';
import { Values, ValuesError } from './values';
import { httpsService, knativeService, namespace, webhookServiceAccount } from './workload';
import { mutatingWebhookConfiguration, sidecarPolicy, sidecarPolicyBinding } from './webhooks';
import { certManagerObjects, tlsJobObjects } from './tls';
import { namespaceSetup, sidecarClusterRole } from './rbac';
import { NamespaceSchema } from '../settings';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

function tlsObjects(v: Values): object[] {
  if (v.webhook.route !== 'direct') return [];
  return v.tls.certManager ? certManagerObjects(v) : tlsJobObjects(v);
}

/** The whole install. Never a Secret with data: licenses are set up per namespace. */
export function renderInstall(v: Values): K8sObject[] {
  return [
    namespace(v),
    sidecarClusterRole(),
    webhookServiceAccount(v),
    ...tlsObjects(v),
    knativeService(v),
    ...(v.webhook.route === 'direct' ? [httpsService(v)] : []),
    mutatingWebhookConfiguration(v),
    sidecarPolicy(v),
    sidecarPolicyBinding(v),
  ] as K8sObject[];
}

/** The per-namespace objects, for GitOps or `task namespace:enable`. */
export function renderNamespaceSetup(v: Values, target: string): K8sObject[] {
  const problems: string[] = [];
  const ns = NamespaceSchema.safeParse(target);
  if (!ns.success) problems.push(`--namespace-setup ${JSON.stringify(target)}: ${ns.error.issues[0].message}`);
  if (target === v.namespace || v.excludedNamespaces.includes(target)) {
    problems.push(`--namespace-setup ${target}: the webhook never injects there (namespace or excludedNamespaces)`);
  }
  if (!v.licenseKey) problems.push('licenseKey: required by --namespace-setup (e.g. --set-file licenseKey=license.txt)');
  if (problems.length) throw new ValuesError(problems);
  return namespaceSetup(v, target, v.licenseKey as string) as unknown as K8sObject[];
}

export function toYaml(objects: object[], header: string): string {
  const docs = objects.map((o) => stringify(o, { lineWidth: 0 }));
  return `${header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n')}\n---\n${docs.join('---\n')}`;
}
