// The release: the chart installed as a user installs it (helm upgrade --install), and what Helm
// recorded of it.
import { join } from 'node:path';
import { envOf, platformOf } from '../../cli/read-install';
import { IMAGE } from '../../scripts/image';
import { helmOk, parseDocuments } from './kubeconfig';
import { knativeImageName } from './knative';
import type { ClusterState } from './state';
import { REPO } from './tools';

type Obj = Record<string, any>;

export const SYSTEM_NAMESPACE = 'pando-system';
export const LOCAL_LICENSE = 'local-cluster-license-not-for-production';
export const RELEASE = 'pando-webhook';
export const CHART = join(REPO, 'manifests', 'pando-webhook');
/** The release's Deployment: the webhook's pods. */
export const WEBHOOK_DEPLOYMENT = 'pando-webhook';

/** What the release installed, as Helm recorded it. */
export function installedDocuments(state: ClusterState): Obj[] {
  return parseDocuments(helmOk(state, ['get', 'manifest', RELEASE, '-n', SYSTEM_NAMESPACE]));
}

/**
 * The README's install line, with the local license, the image built here (the node has it;
 * nothing is pulled) on the cluster's platform, and the state's extra values.
 */
export function helmInstall(state: ClusterState) {
  helmOk(state, [
    'upgrade',
    '--install',
    RELEASE,
    CHART,
    '--namespace',
    SYSTEM_NAMESPACE,
    '--create-namespace',
    '--set',
    `licenseKey=${LOCAL_LICENSE}`,
    ...localValues(state).flatMap((value) => ['--set', value]),
    ...state.helmSet.flatMap((value) => ['--set', value]),
  ]);
}

/** How the local cluster installs as a Deployment: the image `npm run image` built. */
export const LOCAL_VALUES = ['platform=deployment', `image=${IMAGE}`];

/**
 * The values of the cluster's platform: on Knative no platform (the chart's default) and the
 * image under the name Knative does not resolve against a registry (knative.ts).
 */
export const localValues = (state: Pick<ClusterState, 'platform'>): string[] =>
  state.platform === 'knative' ? [`image=${knativeImageName(IMAGE)}`] : LOCAL_VALUES;

/** The webhook container's env as the install sets it (Knative Service, Deployment, Function). */
export function webhookEnv(docs: Obj[]): Record<string, string> {
  for (const doc of docs) {
    const platform = platformOf(doc);
    if (platform) return envOf(platform, doc);
  }
  throw new Error('the install has no webhook workload');
}

const tlsJobOf = (docs: Obj[]) => docs.find((d) => d.kind === 'Job' && d.metadata?.name?.startsWith('pando-webhook-tls-setup'));

export const tlsJobName = (state: ClusterState): string | undefined => tlsJobOf(installedDocuments(state))?.metadata.name;

/** The replicas the release asks for. */
export const releaseReplicas = (state: ClusterState): number => {
  const deployment = installedDocuments(state).find((d) => d.kind === 'Deployment' && d.metadata?.name === WEBHOOK_DEPLOYMENT);
  return deployment?.spec?.replicas ?? 2;
};
