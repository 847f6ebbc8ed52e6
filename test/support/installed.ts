// Test support: a cluster with pando-webhook installed as the chart leaves it (platform
// deployment, TLS from the chart's Job, team-a enabled by kubectl pando), for the plugin's tests
// against the fake API. Each test breaks what it checks.
import { loadConfig } from '../../function/config';
import { inject } from '../../function/inject';
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from '../../function/names';
import { hasSidecar, type JsonObject } from '../../function/pod';
import { createCa, issueServingCert } from '../../function/tls/certs';
import { serviceDnsNames } from '../../function/tls/config';
import { startFakeApi, type FakeApi, type FakeCluster } from './fake-api';

type Json = Record<string, any>;
export const RELEASE_NAMESPACE = DEFAULT_RELEASE_NAMESPACE;
const N = OBJECT_NAMES;
const OURS = { 'app.kubernetes.io/managed-by': 'kubectl-pando', 'app.kubernetes.io/part-of': 'pandocore' };
export const LICENSE = 'the-license-key';

const b64 = (text: string) => Buffer.from(text).toString('base64');
export const namespaceObject = (name: string, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, ...(labels ? { labels } : {}) },
});
export const licenseSecret = (namespace: string, key = LICENSE, labels: Record<string, string> | undefined = OURS) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: N.licenseSecret, namespace, ...(labels ? { labels } : {}) },
  type: 'Opaque',
  data: { 'license-key': b64(key) },
});

const envList = (env: Record<string, string>) => Object.entries(env).map(([name, value]) => ({ name, value }));

/** The webhook configuration and Deployment alone, the webhook's env as given: what the plugin reads of an install. */
export const webhookObjects = (env: Record<string, string>): Json[] => [
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: N.webhook },
    webhooks: [{ name: 'pods.pandocore.xyz', clientConfig: { service: { name: N.httpsService, namespace: RELEASE_NAMESPACE } } }],
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: N.webhook, namespace: RELEASE_NAMESPACE },
    spec: { template: { spec: { containers: [{ name: N.webhook, env: envList(env) }] } } },
  },
];

/** What kubectl pando enable leaves in a namespace. */
export const enabledNamespace = (name: string): Json[] => [
  namespaceObject(name, { 'pandocore.xyz/enabled': 'true' }),
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: N.sidecarServiceAccount, namespace: name, labels: OURS } },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: N.sidecarServiceAccount, namespace: name, labels: OURS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: N.sidecarClusterRole },
    subjects: [{ kind: 'ServiceAccount', name: N.sidecarServiceAccount, namespace: name }],
  },
  licenseSecret(name),
];

export interface Installed {
  objects: Json[];
  /** The certificate the webhook's pods serve. */
  servingCert: string;
  /** The fake cluster: the webhook answers dry-runs in enabled namespaces, its pods serve the certificate. */
  cluster: (objects?: Json[], options?: { webhookServing?: boolean }) => FakeCluster;
}

const startsWith = (env: Record<string, string>) => {
  try {
    return Boolean(loadConfig(env));
  } catch {
    return false;
  }
};

/** A healthy install; env adds to the webhook's environment. */
export async function installed(env: Record<string, string> = {}): Promise<Installed> {
  const ca = await createCa(N.caSecret);
  const serving = await issueServingCert(ca, { dnsNames: serviceDnsNames(N.httpsService, RELEASE_NAMESPACE) });
  const webhookEnv = { PANDO_SYSTEM_NAMESPACE: RELEASE_NAMESPACE, ...env };
  const hook = (name: string) => ({
    name,
    failurePolicy: 'Ignore',
    clientConfig: { service: { namespace: RELEASE_NAMESPACE, name: N.httpsService, port: 443, path: '/' }, caBundle: b64(ca.cert) },
    namespaceSelector: { matchLabels: { 'pandocore.xyz/enabled': 'true' } },
  });
  const objects: Json[] = [
    namespaceObject(RELEASE_NAMESPACE),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: N.webhook },
      webhooks: [hook('pods.pandocore.xyz'), hook('pods-reinvoke.pandocore.xyz')],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: N.webhook, namespace: RELEASE_NAMESPACE },
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ name: N.webhook, env: envList(webhookEnv) }] } },
      },
      status: { availableReplicas: 2 },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: N.tlsSetup,
        namespace: RELEASE_NAMESPACE,
        labels: { 'app.kubernetes.io/component': 'tls' },
        creationTimestamp: '2026-12-01T00:00:00Z',
      },
      status: { conditions: [{ type: 'Complete', status: 'True' }] },
    },
    licenseSecret(RELEASE_NAMESPACE, LICENSE, undefined),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: N.servingSecret, namespace: RELEASE_NAMESPACE },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(serving.cert), 'tls.key': b64(serving.key) },
    },
    ...enabledNamespace('team-a'),
  ];
  const cluster = (objectsNow: Json[] = objects, { webhookServing = true } = {}): FakeCluster => ({
    objects: objectsNow,
    // The API server calls the webhook for a protected pod in a namespace it selects; a webhook
    // that does not answer leaves the pod as it came (failurePolicy Ignore), with a warning.
    dryRunPod: (namespace, pod) => {
      const selected = objectsNow.some(
        (o) => o.kind === 'Namespace' && o.metadata.name === namespace && o.metadata.labels?.['pandocore.xyz/enabled'] === 'true',
      );
      if (!selected) return { pod, warnings: [] };
      // A webhook whose settings its config parser refuses never starts.
      if (!webhookServing || !startsWith(webhookEnv)) return { pod, warnings: ['failed calling webhook "pods.pandocore.xyz": no endpoints available'] };
      const injected = inject(structuredClone(pod) as JsonObject, loadConfig(webhookEnv));
      if (!hasSidecar(injected.pod.spec as JsonObject)) throw new Error('the test webhook injected nothing');
      return { pod: injected.pod, warnings: injected.warnings };
    },
    serviceProxy: (namespace, service, path) =>
      webhookServing && namespace === RELEASE_NAMESPACE && service === N.httpsService && path === '/tls/certificate'
        ? { certificate: serving.cert }
        : undefined,
  });
  return { objects, servingCert: serving.cert, cluster };
}

/** Runs body with a kubeconfig for the fake API serving this cluster; closes it after. */
export async function onFakeApi<T>(cluster: FakeCluster, body: (kubeconfig: string, fake: FakeApi) => Promise<T>): Promise<T> {
  const fake = await startFakeApi('plugin-token', cluster);
  try {
    return await body(fake.kubeconfig, fake);
  } finally {
    await fake.close();
  }
}
