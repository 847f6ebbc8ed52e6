// The webhook's pods as the suites drive them: waits for the release's TLS Job and rollout, scale
// to zero and back, the TLS renewal run by hand, and the pods' names and IPs.
import { DEMO_NAMESPACE } from './namespaces';
import { adminApi, helmOk, kubectl, kubectlOk } from './kubeconfig';
import { STANDIN_IMAGES } from './images';
import { waitFor } from './processes';
import { ok, type Api } from './api';
import { CHART, installedDocuments, RELEASE, releaseReplicas, SYSTEM_NAMESPACE, tlsJobName, WEBHOOK_DEPLOYMENT } from './release';
import type { ClusterState } from './state';

type Obj = Record<string, any>;

export const WEBHOOK_SERVICE = 'pando-webhook-https';
/** The release's Knative Service, on the Knative platform. */
export const KNATIVE_SERVICE = 'pando-webhook';

/** Both webhook pods, as the node runs them: Deployment pando-webhook of the release. */
const WEBHOOK_PODS = 'app.kubernetes.io/name=pando-webhook,app.kubernetes.io/component=webhook';

/**
 * helm upgrade --reuse-values with these --set values, as an operator runs it, then what the
 * cluster does next on its own: a TLS setup Job of a new name runs, and a changed pod template
 * rolls the webhook's pods.
 */
export async function helmUpgrade(state: ClusterState, set: string[]) {
  helmOk(state, ['upgrade', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--reuse-values', ...set.flatMap((s) => ['--set', s])]);
  await waitForWebhook(state);
}

/**
 * The TLS setup Job of the release complete, and the webhook's rollout done with every pod ready:
 * the Deployment's, or on Knative the Service Ready at its latest Revision.
 */
export async function waitForWebhook(state: ClusterState) {
  const job = tlsJobName(state);
  if (job) await waitForJob(state, job);
  const knative = installedDocuments(state).find(isKnativeService);
  if (knative) {
    await knativeServiceReady(state, Number(knative.spec.template.metadata.annotations['autoscaling.knative.dev/min-scale']));
    return;
  }
  const rollout = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'rollout', 'status', `deployment/${WEBHOOK_DEPLOYMENT}`, '--timeout=180s']);
  if (rollout.code !== 0) throw new Error(`the webhook's rollout: ${rollout.stderr.trim()}\n${webhookLogs(state)}`);
  // Replaced pods keep serving the connections the API server holds to them until they are gone.
  await waitFor('the replaced webhook pods gone', async () => webhookPods(state).every((pod) => !pod.deleting), 120_000);
}

const isKnativeService = (doc: Obj) => doc.apiVersion === 'serving.knative.dev/v1' && doc.kind === 'Service';
const KNATIVE_SERVICE_PATH = `/apis/serving.knative.dev/v1/namespaces/${SYSTEM_NAMESPACE}/services/${KNATIVE_SERVICE}`;
const condition = (obj: Obj, type: string) => obj.status?.conditions?.find((c: Obj) => c.type === type);
/** Ready and not being deleted. */
export const podReady = (pod: Obj) =>
  !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');

/** The pods of a Revision of the release, as the API has them. */
export async function revisionPods(api: Api, revision: string): Promise<Obj[]> {
  const selector = encodeURIComponent(`serving.knative.dev/revision=${revision}`);
  return ok(await api.get(`/api/v1/namespaces/${SYSTEM_NAMESPACE}/pods?labelSelector=${selector}`), `list the pods of ${revision}`).items;
}

/**
 * The release's Knative Service Ready at its latest Revision, with `replicas` ready pods of it;
 * returns the Revision's name. Through the API client, not kubectl: a KIngress stand-in running in
 * the same process keeps its turns.
 */
export async function knativeServiceReady(state: ClusterState, replicas = 2): Promise<string> {
  const api = adminApi(state);
  let revision = '';
  let seen = '';
  try {
    await waitFor(
      `Knative Service ${KNATIVE_SERVICE} Ready with ${replicas} ready pods`,
      async () => {
        const service = ok(await api.get(KNATIVE_SERVICE_PATH), `get ksvc ${KNATIVE_SERVICE}`);
        const ready = condition(service, 'Ready');
        revision = service.status?.latestReadyRevisionName ?? '';
        seen = `Ready=${ready?.status} ${ready?.reason ?? ''} ${ready?.message ?? ''}; latest ${service.status?.latestCreatedRevisionName}`;
        if (ready?.status !== 'True' || service.status?.observedGeneration !== service.metadata.generation) return false;
        if (revision !== service.status?.latestCreatedRevisionName) return false;
        return (await revisionPods(api, revision)).filter(podReady).length === replicas;
      },
      240_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${seen}\n${webhookLogs(state)}`, { cause: error });
  } finally {
    api.close();
  }
  return revision;
}

/** A Job of the release namespace Complete (the kubelet ran its pod); its pod's log when it failed. */
export async function waitForJob(state: ClusterState, job: string, timeoutMs = 180_000) {
  const condition = (type: string) =>
    kubectl(state, ['-n', SYSTEM_NAMESPACE, 'get', 'job', job, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].status}`]).stdout === 'True';
  try {
    await waitFor(
      `Job ${job} complete`,
      async () => condition('Complete'),
      timeoutMs,
      () => !condition('Failed'),
    );
  } catch (error) {
    const logs = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'logs', `job/${job}`, '--tail=20']);
    throw new Error(`${(error as Error).message}\n${logs.stdout}${logs.stderr}`, { cause: error });
  }
}

const webhookLogs = (state: ClusterState) => {
  const run = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'logs', '-l', WEBHOOK_PODS, '--tail=10', '--prefix']);
  return run.stdout + run.stderr;
};

/** The webhook's pods (name, IP, ready) as the node runs them. */
export function webhookPods(state: ClusterState): { name: string; ip: string; ready: boolean; deleting: boolean }[] {
  const pods = JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', WEBHOOK_PODS, '-o', 'json'])).items as Obj[];
  return pods.map((pod) => ({
    name: pod.metadata.name,
    ip: pod.status?.podIP ?? '',
    ready: (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'),
    deleting: Boolean(pod.metadata.deletionTimestamp),
  }));
}

/** The webhook's ready pods' IPs: the node's pod network is reachable from the host (the bridge). */
export function webhookPodIps(state: ClusterState): string[] {
  return webhookPods(state)
    .filter((pod) => pod.ready && !pod.deleting && pod.ip)
    .map((pod) => pod.ip);
}

/**
 * The renewal a CronJob run does, started by hand as an operator would:
 * kubectl create job --from=cronjob/pando-webhook-tls-renew. Returns the Job's name once Complete.
 */
export async function runTlsRenewal(state: ClusterState, name: string): Promise<string> {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'create', 'job', name, '--from=cronjob/pando-webhook-tls-renew']);
  await waitForJob(state, name);
  return name;
}

/**
 * The webhook's pods back, as many as the release asks for, all ready, and the API server's calls
 * reaching them: ready pods are not yet endpoints in kube-proxy's rules, and a call that meets no
 * endpoint is ignored (failurePolicy Ignore), so a server-side dry run must come back injected.
 */
export async function startWebhook(state: ClusterState) {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'scale', `deployment/${WEBHOOK_DEPLOYMENT}`, `--replicas=${releaseReplicas(state)}`]);
  await waitForWebhook(state);
  const probe = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'webhook-probe', labels: { 'pandocore.xyz/protect': 'true' } },
    spec: { containers: [{ name: 'app', image: STANDIN_IMAGES.app }] },
  });
  const injected = () => {
    const run = kubectl(state, ['-n', DEMO_NAMESPACE, 'create', '--dry-run=server', '-o', 'json', '-f', '-'], probe);
    return run.code === 0 && run.stdout.includes('"pando-sidecar"');
  };
  await waitFor('an admission reaching the webhook through its Service', async () => injected(), 60_000);
}

/** No webhook pod left (scaled to zero, each drained as on any deletion), and no endpoint either. */
export async function stopWebhook(state: ClusterState) {
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'scale', `deployment/${WEBHOOK_DEPLOYMENT}`, '--replicas=0']);
  const endpoints = () =>
    kubectl(state, [
      '-n',
      SYSTEM_NAMESPACE,
      'get',
      'endpointslices',
      '-l',
      `kubernetes.io/service-name=${WEBHOOK_SERVICE}`,
      '-o',
      'jsonpath={.items[*].endpoints[*].addresses[*]}',
    ]).stdout.trim();
  await waitFor('the webhook pods gone', async () => webhookPods(state).length === 0 && endpoints() === '', 120_000);
}
