// cert-manager on the local node, for real: its controller, cainjector and webhook (our mains over
// cert-manager's packages, e2e/tools/cert-manager, built by `npm run tools`) packed as one-layer
// images, imported into the node's containerd, and installed with cert-manager's own Helm chart
// from the same Go module. Nothing is pulled: the chart's images point at pando.local names.
import { cpSync, chmodSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helmOk, kubectl, kubectlOk } from './kubeconfig';
import { type ClusterState } from './state';
import { NODE_NAME } from './node';
import { goModuleDir, importLocalImage } from './local-images';
import { waitFor } from './processes';
import { REPO } from './tools';

export const CERT_MANAGER_NAMESPACE = 'cert-manager';
export const CERT_MANAGER_RELEASE = 'cert-manager';
export const CERT_MANAGER_COMPONENTS = ['controller', 'cainjector', 'webhook'] as const;
export type CertManagerComponent = (typeof CERT_MANAGER_COMPONENTS)[number];

const TOOLS_MODULE = join(REPO, 'e2e', 'tools', 'cert-manager');
const REGISTRY = 'pando.local';

/** The pinned version (e2e/tools/versions.env): the module, the chart and the images' tag. */
export function certManagerVersion(): string {
  const line = /^CERT_MANAGER_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'e2e', 'tools', 'versions.env'), 'utf8'));
  if (!line) throw new Error('e2e/tools/versions.env names no CERT_MANAGER_VERSION');
  return line[1];
}

export const certManagerBinary = (component: CertManagerComponent) => `cert-manager-${component}`;
/** The chart's own naming (imageRegistry/<name>:<appVersion>) with our registry name. */
export const certManagerImage = (component: CertManagerComponent) => `${REGISTRY}/${certManagerBinary(component)}:${certManagerVersion()}`;

/** The binaries `npm run tools` has not built into this tools directory. */
export const missingCertManagerTools = (tools: string) => CERT_MANAGER_COMPONENTS.map(certManagerBinary).filter((binary) => !existsSync(join(tools, binary)));

/**
 * The module's chart, made installable: the module ships Chart.yaml with version and appVersion
 * v0.0.0 (cert-manager's release tool stamps them), and appVersion is the images' tag.
 */
export function certManagerChart(dir: string): string {
  const chart = join(dir, 'cert-manager-chart');
  rmSync(chart, { recursive: true, force: true });
  cpSync(join(goModuleDir(TOOLS_MODULE, `github.com/cert-manager/cert-manager@${certManagerVersion()}`), 'deploy', 'charts', 'cert-manager'), chart, {
    recursive: true,
  });
  makeWritable(chart); // the module cache is read-only
  const chartYaml = join(chart, 'Chart.yaml');
  const text = readFileSync(chartYaml, 'utf8');
  const version = certManagerVersion();
  const stamped = text.replace(/^version: v0\.0\.0$/m, `version: ${version}`).replace(/^appVersion: v0\.0\.0$/m, `appVersion: ${version}`);
  if (!stamped.includes(`appVersion: ${version}`)) throw new Error(`${chartYaml}: no appVersion v0.0.0 to stamp`);
  writeFileSync(chartYaml, stamped);
  return chart;
}

function makeWritable(path: string) {
  chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) makeWritable(join(path, entry));
}

/** One-layer images of the three binaries, in the node's containerd. */
export function importCertManagerImages(state: ClusterState) {
  for (const component of CERT_MANAGER_COMPONENTS) importLocalImage(state, certManagerImage(component), certManagerBinary(component));
}

/** The chart's values: the CRDs, our images, no startupapicheck (its module is not served). */
export const CERT_MANAGER_VALUES = [
  'crds.enabled=true',
  `imageRegistry=${REGISTRY}`,
  'imageNamespace=',
  // cert-manager's ctl check; the e2e checks the webhook itself with a server-side dry run.
  'startupapicheck.enabled=false',
];

/**
 * helm install of the module's chart, then until cert-manager answers: each Deployment rolled
 * out and its webhook admitting a cert-manager.io object (a server-side dry run, the check
 * cert-manager's own startupapicheck makes). Returns the seconds it took.
 */
export async function installCertManager(state: ClusterState, say: (line: string) => void = () => undefined): Promise<number> {
  const started = Date.now();
  importCertManagerImages(state);
  const chart = certManagerChart(state.dir);
  say(`helm install ${CERT_MANAGER_RELEASE} (cert-manager ${certManagerVersion()}, images ${CERT_MANAGER_COMPONENTS.map(certManagerImage).join(', ')})`);
  helmOk(state, [
    'install',
    CERT_MANAGER_RELEASE,
    chart,
    '-n',
    CERT_MANAGER_NAMESPACE,
    '--create-namespace',
    ...CERT_MANAGER_VALUES.flatMap((value) => ['--set', value]),
  ]);
  for (const deployment of certManagerDeployments()) {
    kubectlOk(state, ['-n', CERT_MANAGER_NAMESPACE, 'rollout', 'status', `deployment/${deployment}`, '--timeout=180s']);
  }
  const probe = JSON.stringify({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: { name: 'pando-e2e-webhook-probe', namespace: CERT_MANAGER_NAMESPACE },
    spec: { selfSigned: {} },
  });
  await waitFor(
    "cert-manager's webhook admitting an Issuer",
    async () => {
      const run = kubectl(state, ['create', '--dry-run=server', '-f', '-'], probe);
      if (run.code !== 0) throw new Error(run.stderr.trim());
      return true;
    },
    120_000,
  );
  return (Date.now() - started) / 1000;
}

/** The chart's Deployments: the controller's is named for the release alone. */
export const certManagerDeployments = () => [CERT_MANAGER_RELEASE, `${CERT_MANAGER_RELEASE}-cainjector`, `${CERT_MANAGER_RELEASE}-webhook`];

/** helm uninstall, then the CRDs the chart keeps on purpose (helm.sh/resource-policy: keep). */
export function uninstallCertManager(state: ClusterState) {
  helmOk(state, ['uninstall', CERT_MANAGER_RELEASE, '-n', CERT_MANAGER_NAMESPACE, '--wait']);
  kubectl(state, ['delete', 'crd', '-l', 'app.kubernetes.io/instance=cert-manager', '--wait=false']);
  kubectl(state, ['delete', 'namespace', CERT_MANAGER_NAMESPACE, '--wait=false']);
}

/**
 * uninstallCertManager, then until its namespace and CRDs are gone: a later helm install of
 * cert-manager (another suite's) fails on a namespace still terminating or a CRD still deleting.
 */
export async function uninstallCertManagerAndWait(state: ClusterState) {
  uninstallCertManager(state);
  const left = () =>
    [
      kubectl(state, ['get', 'namespace', CERT_MANAGER_NAMESPACE, '-o', 'name']).stdout.trim(),
      kubectl(state, ['get', 'crd', '-l', 'app.kubernetes.io/instance=cert-manager', '-o', 'name']).stdout.trim(),
    ].filter(Boolean);
  await waitFor('cert-manager gone (its namespace and CRDs)', async () => left().length === 0, 180_000);
}

/** Each pod's memory working set in a namespace, from the kubelet's summary (for the docs' figures). */
export function podMemory(state: ClusterState, namespace: string): string {
  const run = kubectl(state, ['get', '--raw', `/api/v1/nodes/${NODE_NAME}/proxy/stats/summary`]);
  if (run.code !== 0) return `unknown (${run.stderr.trim()})`;
  const pods = (JSON.parse(run.stdout).pods as Array<Record<string, any>>).filter((pod) => pod.podRef.namespace === namespace);
  return pods.map((pod) => `${pod.podRef.name} ${Math.round((pod.memory?.workingSetBytes ?? 0) / 2 ** 20)} MiB`).join(', ');
}
