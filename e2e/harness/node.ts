// The local cluster's node: containerd (with runc and the CNI plugins), kubelet, kube-proxy in
// iptables mode, kube-scheduler and CoreDNS, started, checked and stopped here. State, sockets
// and roots live under <cluster dir>/node; the host changes (bridge, route, guard, sysctls) are
// made and undone by host.ts. Pods get addresses on the bridge, reach Services through
// kube-proxy's rules and names through CoreDNS, and have no route off the machine.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CGROUP_ROOT, cgroupPids, NETWORK, prepareHost, readJournal, restoreHost } from './host';
import { STANDIN_IMAGES, writeStandinArchives } from './images';
import { freePort, isAlive, startDaemon, stopPid, waitFor } from './processes';

export const NODE_NAME = 'pando-node';

export interface NodePorts {
  kubelet: number;
  kubeletHealthz: number;
  proxyHealthz: number;
  proxyMetrics: number;
  dnsHealth: number;
  dnsReady: number;
}

export interface NodeState {
  dir: string;
  ports: NodePorts;
  pids: { containerd?: number; kubelet?: number; kubeProxy?: number; scheduler?: number; coredns?: number };
}

/** What the node needs from the control plane that started it. */
export interface ControlPlane {
  dir: string;
  tools: string;
  kubeconfig: string;
  caFile: string;
  node?: NodeState;
  pids: Record<string, number | undefined>;
}

type Say = (line: string) => void;
type Kubectl = (args: string[], input?: string) => string;

export const NODE_PROCESSES = ['scheduler', 'coredns', 'kubeProxy', 'kubelet', 'containerd'] as const;
const containerdSocket = (node: NodeState) => join(node.dir, 'containerd', 'containerd.sock');

/**
 * Before the API server starts (it binds the node IP): cleans what a killed run left, records
 * what the node will change and makes the bridge. Refuses while another cluster's node runs.
 */
export async function prepareNode(cluster: ControlPlane, say: Say): Promise<NodeState> {
  const previous = readJournal();
  if (previous) {
    const owner = readOwnerState(previous.owner);
    if (owner && owner.dir !== cluster.dir && NODE_PROCESSES.some((name) => isAlive(owner.node?.pids[name]))) {
      throw new Error(`a node of the cluster in ${previous.owner} runs on this machine (one at a time): stop it with its down first`);
    }
    say(`cleaning up the node left by a killed run (${previous.owner})`);
    if (owner?.node) for (const name of NODE_PROCESSES) await stopPid(owner.node.pids[name], 5_000);
    restoreHost(owner?.node?.dir ?? join(previous.owner, 'node'));
  }
  const [kubelet, kubeletHealthz, proxyHealthz, proxyMetrics, dnsHealth, dnsReady] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const node: NodeState = { dir: join(cluster.dir, 'node'), ports: { kubelet, kubeletHealthz, proxyHealthz, proxyMetrics, dnsHealth, dnsReady }, pids: {} };
  mkdirSync(node.dir, { recursive: true });
  prepareHost(cluster.dir);
  return node;
}

function readOwnerState(dir: string): ControlPlane | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ControlPlane;
  } catch {
    return undefined;
  }
}

/** After the API server and controllers: the node's processes, until the node is Ready. */
export async function startNode(cluster: ControlPlane, node: NodeState, kubectl: Kubectl, save: () => void, say: Say) {
  const log = (name: string) => join(cluster.dir, 'logs', `${name}.log`);
  const env = { ...process.env, PATH: `${cluster.tools}:${process.env.PATH ?? ''}` };

  say('containerd (runc, CNI bridge; registries point at a dead local address: nothing is pulled)');
  writeContainerdConfig(cluster, node);
  node.pids.containerd = startDaemon(join(cluster.tools, 'containerd'), ['--config', join(node.dir, 'containerd.toml')], log('containerd'), env);
  save();
  await waitFor(
    'containerd',
    async () => ctr(cluster, node, ['version']).status === 0,
    30_000,
    () => isAlive(node.pids.containerd),
  );

  say(`stand-in images: ${Object.values(STANDIN_IMAGES).join(', ')}`);
  const archives = join(node.dir, 'images');
  mkdirSync(archives, { recursive: true });
  importImages(cluster, node, writeStandinArchives(cluster.tools, archives));

  say(`kubelet (node ${NODE_NAME}, ${NETWORK.nodeIp}, cgroupfs under /${CGROUP_ROOT})`);
  writeKubeletConfig(cluster, node);
  node.pids.kubelet = startDaemon(
    join(cluster.tools, 'kubelet'),
    [
      `--config=${join(node.dir, 'kubelet.yaml')}`,
      `--kubeconfig=${cluster.kubeconfig}`,
      `--root-dir=${join(node.dir, 'kubelet')}`,
      `--cert-dir=${join(node.dir, 'kubelet', 'pki')}`,
      `--node-ip=${NETWORK.nodeIp}`,
      `--hostname-override=${NODE_NAME}`,
      '--v=1',
    ],
    log('kubelet'),
    env,
  );
  save();

  say('kube-proxy (iptables), kube-scheduler, CoreDNS (cluster.local only)');
  writeKubeProxyConfig(cluster, node);
  node.pids.kubeProxy = startDaemon(join(cluster.tools, 'kube-proxy'), [`--config=${join(node.dir, 'kube-proxy.yaml')}`, '--v=1'], log('kube-proxy'), env);
  node.pids.scheduler = startDaemon(
    join(cluster.tools, 'kube-scheduler'),
    [`--kubeconfig=${cluster.kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1'],
    log('kube-scheduler'),
    env,
  );
  kubectl(['apply', '-f', '-'], dnsService());
  writeCorefile(cluster, node);
  node.pids.coredns = startDaemon(join(cluster.tools, 'coredns'), ['-conf', join(node.dir, 'Corefile')], log('coredns'), env);
  save();

  const ready = () => kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], undefined).trim() === 'True';
  await waitFor(
    `node ${NODE_NAME} Ready`,
    async () => ready(),
    60_000,
    () => isAlive(node.pids.kubelet) && isAlive(node.pids.containerd),
  );
  await waitFor(
    'CoreDNS ready',
    async () => (await fetch(`http://127.0.0.1:${node.ports.dnsReady}/ready`)).status === 200,
    30_000,
    () => isAlive(node.pids.coredns),
  );
  await waitFor(
    'kube-proxy healthy',
    async () => (await fetch(`http://127.0.0.1:${node.ports.proxyHealthz}/healthz`)).status === 200,
    30_000,
    () => isAlive(node.pids.kubeProxy),
  );
}

const ctr = (cluster: ControlPlane, node: NodeState, args: string[]) =>
  spawnSync(join(cluster.tools, 'ctr'), ['--address', containerdSocket(node), '--namespace', 'k8s.io', ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });

/** Image archives (docker-archive) into the node's containerd, where the kubelet finds them: nothing is pulled. */
export function importImages(cluster: ControlPlane, node: NodeState, archives: string[]) {
  for (const archive of archives) {
    const imported = ctr(cluster, node, ['images', 'import', archive]);
    if (imported.status !== 0) throw new Error(`ctr images import ${archive}: ${imported.stderr}`);
  }
}

/** Stops the node's processes (kubelet first, so it restarts nothing), then undoes the host changes. */
export async function stopNode(node: NodeState | undefined, say: Say) {
  if (node) {
    for (const name of ['kubelet', 'scheduler', 'kubeProxy', 'coredns'] as const) {
      if (isAlive(node.pids[name])) say(`stopping ${name} (pid ${node.pids[name]})`);
      await stopPid(node.pids[name]);
    }
    // Its pods' processes (by cgroup), the shims that served them (by our containerd's socket),
    // then containerd.
    for (const pid of cgroupPids()) killQuietly(pid);
    for (const pid of shimPids(containerdSocket(node))) await stopPid(pid, 2_000);
    if (isAlive(node.pids.containerd)) say(`stopping containerd (pid ${node.pids.containerd})`);
    await stopPid(node.pids.containerd);
  }
  // Only this cluster's: a control plane without a node must not undo another cluster's node.
  if (node && readJournal()?.owner === dirname(node.dir)) {
    say('undoing the host changes (bridge, route, iptables, mounts, cgroups, sysctls)');
    restoreHost(node.dir);
  }
}

function killQuietly(pid: number) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** containerd-shim-runc-v2 processes serving our containerd (their -address argument). */
export function shimPids(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of spawnSync('ls', ['/proc'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0].endsWith('containerd-shim-runc-v2') && args.includes(socket)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

export function nodeStatusLines(node: NodeState | undefined): string[] {
  if (!node) return ['node              none (a control plane only)'];
  return NODE_PROCESSES.map((name) => `${name.padEnd(17)} ${isAlive(node.pids[name]) ? `running (pid ${node.pids[name]})` : 'stopped'}`);
}

export const nodeAlive = (node: NodeState | undefined) => Boolean(node) && NODE_PROCESSES.every((name) => isAlive(node?.pids[name]));

// ---- configuration ------------------------------------------------------------------------

export function writeContainerdConfig(cluster: ControlPlane, node: NodeState) {
  const dir = join(node.dir, 'containerd');
  const cniConf = join(node.dir, 'cni', 'net.d');
  const hosts = join(node.dir, 'certs.d', '_default');
  mkdirSync(cniConf, { recursive: true });
  mkdirSync(hosts, { recursive: true });
  // Every registry: a closed port on loopback, so a pull fails at once and never leaves the machine.
  writeFileSync(
    join(hosts, 'hosts.toml'),
    ['server = "https://127.0.0.1:9"', '', '[host."https://127.0.0.1:9"]', '  capabilities = ["pull", "resolve"]', ''].join('\n'),
  );
  writeFileSync(
    join(cniConf, '10-pando-local.conflist'),
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'pando-local',
        plugins: [
          {
            type: 'bridge',
            bridge: NETWORK.bridge,
            isGateway: true,
            // No default route and no masquerade: pods reach the bridge and the Service range only.
            isDefaultGateway: false,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: NETWORK.podCidr, gateway: NETWORK.nodeIp }]],
              routes: [{ dst: NETWORK.serviceCidr, gw: NETWORK.nodeIp }],
              dataDir: join(node.dir, 'cni', 'ipam'),
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ),
  );
  const toml = `version = 3
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
# Nothing here uses them, and NRI would open a socket under /var/run.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${containerdSocket(node)}"

[ttrpc]
  address = "${containerdSocket(node)}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "${STANDIN_IMAGES.pause}"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "${join(node.dir, 'certs.d')}"

[plugins."io.containerd.cri.v1.runtime"]
  # The machine's root lacks CAP_SYS_RESOURCE: without it every sandbox fails in runc create.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "${join(cluster.tools, 'runc')}"
        Root = "${join(dir, 'runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["${join(cluster.tools, 'cni')}"]
    conf_dir = "${cniConf}"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
  writeFileSync(join(node.dir, 'containerd.toml'), toml);
}

function writeKubeletConfig(cluster: ControlPlane, node: NodeState) {
  // No nameserver: host-network pods resolve nothing off the machine; other pods use CoreDNS.
  writeFileSync(join(node.dir, 'resolv.conf'), '# the local node: cluster DNS only\n');
  mkdirSync(join(node.dir, 'pod-logs'), { recursive: true });
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NETWORK.nodeIp,
    port: node.ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: node.ports.kubeletHealthz,
    // The API server's kubelet client certificate (system:masters) for logs and exec.
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: cluster.caFile } },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${containerdSocket(node)}`,
    // The host is cgroup v1 (cgroup2 only at /sys/fs/cgroup/unified).
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${CGROUP_ROOT}`,
    failSwapOn: false,
    clusterDNS: [NETWORK.dnsIp],
    clusterDomain: 'cluster.local',
    resolvConf: join(node.dir, 'resolv.conf'),
    podLogsDir: join(node.dir, 'pod-logs'),
    // The stand-in images cannot be pulled again: never collect them, never evict for disk.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    serializeImagePulls: false,
    rotateCertificates: false,
    protectKernelDefaults: false,
    staticPodPath: '',
    shutdownGracePeriod: '0s',
    nodeStatusReportFrequency: '10s',
    // How often mounted Secrets are brought up to date (1m by default): a renewed certificate
    // reaches the webhook's files within seconds, so the e2e need not wait minutes.
    syncFrequency: '10s',
    maxPods: 110,
  };
  writeFileSync(join(node.dir, 'kubelet.yaml'), JSON.stringify(config, null, 2));
}

function writeKubeProxyConfig(cluster: ControlPlane, node: NodeState) {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: cluster.kubeconfig },
    mode: 'iptables',
    hostnameOverride: NODE_NAME,
    clusterCIDR: NETWORK.podCidr,
    detectLocalMode: 'ClusterCIDR',
    healthzBindAddress: `127.0.0.1:${node.ports.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${node.ports.proxyMetrics}`,
    // NodePorts on the node IP only: on loopback they would need route_localnet.
    nodePortAddresses: [`${NETWORK.nodeIp}/32`],
    // Zero: leave the host's conntrack settings alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s', udpTimeout: '0s', udpStreamTimeout: '0s' },
    iptables: { masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
  };
  writeFileSync(join(node.dir, 'kube-proxy.yaml'), JSON.stringify(config, null, 2));
}

/** kube-dns: the Service pods' resolv.conf names, sent to CoreDNS on the node IP. */
function dnsService(): string {
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: { clusterIP: NETWORK.dnsIp, ports: ports.map((p) => ({ ...p, targetPort: 53 })) },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kube-dns-node', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [NETWORK.nodeIp], conditions: { ready: true }, nodeName: NODE_NAME }],
      ports,
    },
  ]
    .map((doc) => JSON.stringify(doc))
    .join('\n---\n');
}

function writeCorefile(cluster: ControlPlane, node: NodeState) {
  // cluster.local only: any other name gets REFUSED (no forward plugin is even compiled in).
  const corefile = `cluster.local:53 {
    bind ${NETWORK.nodeIp}
    errors
    health 127.0.0.1:${node.ports.dnsHealth}
    ready 127.0.0.1:${node.ports.dnsReady}
    kubernetes cluster.local {
        kubeconfig ${cluster.kubeconfig} pando-local
        pods insecure
    }
    cache 5
}
`;
  writeFileSync(join(node.dir, 'Corefile'), corefile);
}
