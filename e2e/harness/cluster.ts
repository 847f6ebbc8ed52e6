// The local cluster: etcd, kube-apiserver and kube-controller-manager as host processes, a node
// (node.ts) that runs every pod, the image `npm run image` built imported into it, and the chart
// installed as a user installs it. The TLS setup Job and the webhook run as pods of that image;
// the API server reaches the webhook through its Service's ClusterIP (kube-proxy's rules).
// This file brings it up and down; each job has its module: control-plane.ts, node.ts,
// webhook-image.ts, release.ts, webhook.ts, namespaces.ts, kubeconfig.ts (the clients), state.ts.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE } from '../../scripts/image';
import { startApiServer, startControllerManager, startEtcd } from './control-plane';
import { applyKnativeCrds, installKnative, localRegistryName, startIngressStandInDaemon } from './knative';
import { NETWORK, readJournal, restoreHost } from './host';
import { adminApi, kubectl, kubectlOk, writeKubeconfig } from './kubeconfig';
import { DEMO_NAMESPACE, enableNamespace } from './namespaces';
import { importImages, nodeAlive, nodeStatusLines, prepareNode, startNode, stopNode } from './node';
import { writePki } from './pki';
import { freePort, isAlive, stopPid } from './processes';
import { helmInstall, localValues, RELEASE, SYSTEM_NAMESPACE } from './release';
import { readState, saveState, type ClusterState, type Platform } from './state';
import { toolsDir } from './tools';
import { waitForWebhook, webhookPods } from './webhook';
import { ensureWebhookImage } from './webhook-image';

type Say = (line: string) => void;

// ---- up, down, status ---------------------------------------------------------------------

export interface UpOptions {
  dir: string;
  helmSet?: string[];
  say?: Say;
  /** More kube-apiserver flags (the cluster bench's audit log). */
  apiServerFlags?: string[];
  /**
   * knative: Knative Serving installed and the chart's default install, as in production (the
   * KIngress stand-in its one stand-in, knative.ts). deployment (the default here): the e2e
   * suites', whose faults act on a Deployment's pods; the Knative suite switches to knative.
   */
  platform?: Platform;
}

/** Brings up a control plane and its node (one per machine) and installs the release on it. */
export async function up(options: UpOptions): Promise<ClusterState> {
  const say = options.say ?? (() => undefined);
  const dir = options.dir;
  const running = readState(dir);
  if (running && isAlive(running.pids.apiserver)) throw new Error(`a cluster is already up in ${dir}: npm run cluster -- down first`);
  // A killed up's stand-in and node: stopped, the host changes undone, before its dir goes.
  await stopPid(running?.pids.ingressStandIn);
  if (running?.node) await stopNode(running.node, say);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });

  say('tools: npm run tools');
  const tools = toolsDir();
  const image = ensureWebhookImage(say);
  const pki = await writePki(join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiserver] = await Promise.all([freePort(), freePort(), freePort()]);
  const state: ClusterState = {
    dir,
    tools,
    kubeconfig: join(dir, 'kubeconfig'),
    server: `https://${NETWORK.nodeIp}:${apiserver}`,
    caFile: pki.caFile,
    adminToken: pki.adminToken,
    platform: options.platform ?? 'deployment',
    helmSet: options.helmSet ?? [],
    ports: { etcdClient, etcdPeer, apiserver },
    pids: {},
  };
  saveState(state);
  try {
    say(`node network: bridge ${NETWORK.bridge} ${NETWORK.nodeIp}, pods ${NETWORK.podCidr}, Services ${NETWORK.serviceCidr}`);
    state.node = await prepareNode(state, say);
    saveState(state);
    say(`etcd on 127.0.0.1:${etcdClient}`);
    await startEtcd(state);
    say(`kube-apiserver on ${state.server}`);
    await startApiServer(state, pki, options.apiServerFlags);
    writeKubeconfig(state);
    say('kube-controller-manager (service accounts, namespaces, workloads, endpoints, node lifecycle)');
    await startControllerManager(state, pki);
    await startNode(
      state,
      state.node,
      (args, input) => kubectlOk(state, args, input),
      () => saveState(state),
      say,
    );
    say('node pando-node Ready');
    say(`image ${IMAGE} (npm run image) imported into the node's containerd`);
    importImages(state, state.node, [image]);
    if (state.platform === 'knative') {
      say('Knative Serving: its controller, webhook, autoscaler and activator as pods (its release YAML, from the Go module)');
      installKnative(state, say);
      localRegistryName(state, IMAGE);
      state.pids.ingressStandIn = await startIngressStandInDaemon(state);
      saveState(state);
      say(`the KIngress stand-in (no networking layer runs here), pid ${state.pids.ingressStandIn}`);
    } else {
      say("Knative Serving's CRDs (its release YAML, from the Go module)");
      applyKnativeCrds(state);
    }
    say(
      `install: helm upgrade --install ${RELEASE} manifests/pando-webhook -n ${SYSTEM_NAMESPACE} --set licenseKey=... ${[...localValues(state), ...state.helmSet].map((v) => `--set ${v}`).join(' ')}`,
    );
    helmInstall(state);
    say('the TLS setup Job runs on the node, then the webhook pods become ready');
    await waitForWebhook(state);
    say(`namespace ${DEMO_NAMESPACE}: enabled`);
    enableNamespace(state, DEMO_NAMESPACE);
    return state;
  } catch (error) {
    const logs = join(dir, 'logs');
    throw new Error(`${(error as Error).message}\n(logs in ${logs}; npm run cluster -- down cleans up)`, { cause: error });
  }
}

export async function down(dir: string, say: Say = () => undefined): Promise<void> {
  const state = readState(dir);
  if (state) {
    // The control plane stops even when undoing the node's host changes failed; that is reported after.
    let nodeError: unknown;
    if (isAlive(state.registry?.pid)) say(`stopping the registry (pid ${state.registry?.pid})`);
    await stopPid(state.registry?.pid);
    if (isAlive(state.pids.ingressStandIn)) say(`stopping the KIngress stand-in (pid ${state.pids.ingressStandIn})`);
    await stopPid(state.pids.ingressStandIn);
    if (state.node) await stopNode(state.node, say).catch((error) => (nodeError = error));
    for (const name of ['controllerManager', 'apiserver', 'etcd'] as const) {
      if (isAlive(state.pids[name])) say(`stopping ${name} (pid ${state.pids[name]})`);
      await stopPid(state.pids[name]);
    }
    if (nodeError) throw nodeError;
  } else if (readJournal()?.owner === dir) {
    restoreHost(join(dir, 'node'));
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function status(dir: string): Promise<{ up: boolean; lines: string[] }> {
  const state = readState(dir);
  if (!state) return { up: false, lines: [`no cluster in ${dir}: npm run cluster -- up`] };
  const lines = (['etcd', 'apiserver', 'controllerManager'] as const).map(
    (name) => `${name.padEnd(17)} ${isAlive(state.pids[name]) ? `running (pid ${state.pids[name]})` : 'stopped'}`,
  );
  let ready = false;
  if (isAlive(state.pids.apiserver)) {
    const api = adminApi(state);
    try {
      ready = (await api.get('/readyz')).status === 200;
    } catch {
      /* reported below */
    } finally {
      api.close();
    }
  }
  if (state.pids.ingressStandIn) {
    lines.push(`${'KIngress stand-in'.padEnd(17)} ${isAlive(state.pids.ingressStandIn) ? `running (pid ${state.pids.ingressStandIn})` : 'stopped'}`);
  }
  lines.push(...nodeStatusLines(state.node));
  lines.push(`API server ${state.server}: ${ready ? 'ready' : 'not ready'}`);
  let webhookReady = 0;
  if (ready) {
    const nodeReady = kubectl(state, ['get', 'node', 'pando-node', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout.trim();
    lines.push(`node pando-node: ${nodeReady === 'True' ? 'Ready' : 'not Ready'}`);
    const pods = webhookPods(state);
    webhookReady = pods.filter((pod) => pod.ready).length;
    lines.push(`platform: ${state.platform ?? 'deployment'}`);
    lines.push(`webhook pods: ${webhookReady}/${pods.length} ready${pods.length ? ` (${pods.map((pod) => pod.ip || pod.name).join(', ')})` : ''}`);
  }
  lines.push(`kubeconfig ${state.kubeconfig}`);
  const standInUp = state.platform !== 'knative' || isAlive(state.pids.ingressStandIn);
  const allUp = ready && isAlive(state.pids.etcd) && isAlive(state.pids.controllerManager) && nodeAlive(state.node) && standInUp && webhookReady > 0;
  return { up: allUp, lines };
}
