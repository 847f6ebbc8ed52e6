// What every e2e suite shares: the running cluster (npm run e2e brought it up and named its state
// directory in PANDO_E2E_DIR), an admin API client, and pod helpers.
import { spawnSync } from 'node:child_process';
import type { Test } from 'uvu';
import { join } from 'node:path';
import { adminApi, toolEnv } from '../harness/kubeconfig';
import { STANDIN_IMAGES } from '../harness/images';
import { kubectl } from '../harness/kubeconfig';
import { ensureNamespace, enableNamespace, keepOffNode } from '../harness/namespaces';
import { installedDocuments, webhookEnv } from '../harness/release';
import { helmUpgrade } from '../harness/webhook';
import { readState, type ClusterState } from '../harness/state';
import { ok } from '../harness/api';
import { simplePod, unique, type Obj } from './pods';

export * from './pods';

const dir = process.env.PANDO_E2E_DIR;
if (!dir) throw new Error('PANDO_E2E_DIR is not set: run the suites with npm run e2e');
const found = readState(dir);
if (!found) throw new Error(`no cluster state in ${dir}`);
export const cluster: ClusterState = found;
export const api = adminApi(cluster);

// The suites that check admission alone keep their pods off the node (stored, never run):
// node.test.ts runs pods in namespaces of its own.
keepOffNode(cluster, 'pando-demo');

const prepared = new Set<string>();
/** An enabled namespace (setup objects and label), made once per name; its pods stay off the node. */
export function enabledNamespace(name: string, labels: Record<string, string> = {}): string {
  if (!prepared.has(name)) {
    enableNamespace(cluster, name, labels);
    keepOffNode(cluster, name);
    prepared.add(name);
  }
  return name;
}

/** A namespace that is not enabled for the webhook (it still has its default account); its pods stay off the node. */
export function plainNamespace(name: string, labels: Record<string, string> = {}): string {
  if (!prepared.has(name)) {
    ensureNamespace(cluster, name, labels);
    keepOffNode(cluster, name);
    prepared.add(name);
  }
  return name;
}

export const podsPath = (namespace: string) => `/api/v1/namespaces/${namespace}/pods`;

export async function createPod(namespace: string, pod: Obj) {
  return api.post(podsPath(namespace), pod);
}

export async function storedPod(namespace: string, name: string): Promise<Obj> {
  return ok(await api.get(`${podsPath(namespace)}/${name}`), `read pod ${namespace}/${name}`);
}

/** kubectl pando ARGS, through kubectl's plugin lookup, as users run it. */
export function pando(args: string[], input?: string) {
  const run = spawnSync(join(cluster.tools, 'kubectl'), ['pando', ...args], { input, encoding: 'utf8', env: toolEnv(cluster) });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

/**
 * Creates protected pods in `namespace`, one every 250 ms, while `during` runs: the API server's
 * answers, in order. A failed admission call does not refuse the pod (failurePolicy Ignore): it
 * comes back uninjected, so callers check every answer for the sidecar.
 */
export async function createPodsWhile<T>(namespace: string, during: () => Promise<T>): Promise<{ result: T; answers: Array<{ status: number; body: Obj }> }> {
  const answers: Array<{ status: number; body: Obj }> = [];
  let running = true;
  const creating = (async () => {
    while (running) {
      answers.push(await createPod(namespace, simplePod(unique('during'))));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  try {
    return { result: await during(), answers };
  } finally {
    running = false;
    await creating;
  }
}

/**
 * A suite whose pods run on the node, in `namespace`: before its tests the release injects the
 * stand-in sidecar (an image the node has) and the namespace is enabled; after them it is no longer
 * enabled at once (a later suite's kubectl pando check picks an enabled namespace), deleted in the
 * background, and the release's sidecar image is put back for the suites after.
 */
export function runsOnNode(suite: Test, namespace: string, labels: Record<string, string> = {}): void {
  let defaultSidecarImage = '';
  suite.before(async () => {
    defaultSidecarImage = webhookEnv(installedDocuments(cluster)).PANDO_SIDECAR_IMAGE;
    await helmUpgrade(cluster, [`sidecar.image=${STANDIN_IMAGES.sidecar}`]);
    enableNamespace(cluster, namespace, labels);
  });
  suite.after(async () => {
    kubectl(cluster, ['label', 'namespace', namespace, 'pandocore.xyz/enabled-']);
    kubectl(cluster, ['delete', 'namespace', namespace, '--wait=false']);
    await helmUpgrade(cluster, [`sidecar.image=${defaultSidecarImage}`]);
  });
}
