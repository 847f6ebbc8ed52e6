// The host changes the local node makes, and their undo. Every change is written first to a
// journal in /run (one node per machine: the Service range is routed to its bridge), so `down`,
// or the next `up` after a killed run, can put back exactly what was there: the bridge and its
// route, the guard chain, the chains kubelet, kube-proxy and the CNI plugins add, the sysctls
// they change (old values restored), the mounts and cgroups of its pods, and the directories
// outside the cluster dir that kubelet and containerd create whatever their roots.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NETWORK = {
  bridge: 'pando-br0',
  podCidr: '10.244.0.0/24',
  nodeIp: '10.244.0.1',
  // The API server's --service-cluster-ip-range: its first address is the kubernetes Service.
  serviceCidr: '10.96.0.0/16',
  dnsIp: '10.96.0.10',
} as const;
export const CGROUP_ROOT = 'pando-node';
const GUARD_CHAIN = 'PANDO-NODE-GUARD';
export const JOURNAL = '/run/pando-node.json';

// kubelet (vm.*, kernel.*), the bridge plugin (ip_forward), kube-proxy (conntrack, route_localnet).
export const SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/route_localnet',
  'net/bridge/bridge-nf-call-iptables',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
];
// Written by kubelet and containerd whatever their root dirs (kubelet: logs symlinks and the
// device-plugin socket dir; containerd: shim sockets; libcni: its result cache).
export const FIXED_PATHS = ['/var/log/containers', '/var/lib/kubelet', '/run/containerd', '/var/lib/cni'];
// Chains of kubelet (KUBE-FIREWALL, KUBE-KUBELET-CANARY), kube-proxy (KUBE-*), CNI (CNI-*) and ours.
const OUR_CHAIN = /^(KUBE-|CNI-|PANDO-NODE-)/;
const TABLES = ['filter', 'nat', 'mangle'];

export interface Journal {
  /** The cluster dir that owns the node. */
  owner: string;
  sysctls: Record<string, string>;
  /** FIXED_PATHS that did not exist before, removed on undo. */
  createdPaths: string[];
}

export function readJournal(): Journal | undefined {
  return existsSync(JOURNAL) ? (JSON.parse(readFileSync(JOURNAL, 'utf8')) as Journal) : undefined;
}

function run(command: string, args: string[], input?: string) {
  const result = spawnSync(command, args, { encoding: 'utf8', input });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? (result.error?.message || '') };
}

function must(command: string, args: string[], input?: string): string {
  const result = run(command, args, input);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout;
}

export const readSysctl = (key: string) => {
  try {
    return readFileSync(join('/proc/sys', key), 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Records what the node may change, then makes the bridge, its route and the guard. */
export function prepareHost(owner: string) {
  const sysctls: Record<string, string> = {};
  for (const key of SYSCTLS) {
    const value = readSysctl(key);
    if (value !== undefined) sysctls[key] = value;
  }
  const journal: Journal = { owner, sysctls, createdPaths: FIXED_PATHS.filter((path) => !existsSync(path)) };
  writeFileSync(JOURNAL, `${JSON.stringify(journal, null, 2)}\n`);

  const { bridge, nodeIp, podCidr, serviceCidr } = NETWORK;
  must('ip', ['link', 'add', bridge, 'type', 'bridge']);
  must('ip', ['addr', 'add', `${nodeIp}/${podCidr.split('/')[1]}`, 'dev', bridge]);
  must('ip', ['link', 'set', bridge, 'up']);
  // The Service range lives on the bridge: unprogrammed ClusterIPs never leave by eth0.
  must('ip', ['route', 'add', serviceCidr, 'dev', bridge, 'src', nodeIp]);
  // kube-proxy DNATs pod-to-Service traffic that may come back through the same bridge.
  writeSysctl('net/bridge/bridge-nf-call-iptables', '1');
  guard();
  makeCgroups();
}

/**
 * The cluster's ranges stay on the machine: a packet from or to the pod or Service range leaves
 * only through the bridge or loopback. Nothing else is filtered (eth0 keeps the rest of 10/8).
 */
function guard() {
  const { bridge, podCidr, serviceCidr } = NETWORK;
  const rules = [
    `:${GUARD_CHAIN} - [0:0]`,
    `-A ${GUARD_CHAIN} -o ${bridge} -j RETURN`,
    `-A ${GUARD_CHAIN} -o lo -j RETURN`,
    `-A ${GUARD_CHAIN} -j DROP`,
    ...['FORWARD', 'OUTPUT'].flatMap((hook) => [`-s ${podCidr}`, `-d ${podCidr}`, `-d ${serviceCidr}`].map((match) => `-I ${hook} ${match} -j ${GUARD_CHAIN}`)),
  ];
  must('iptables-restore', ['--noflush'], `*filter\n${rules.join('\n')}\nCOMMIT\n`);
}

function writeSysctl(key: string, value: string) {
  try {
    writeFileSync(join('/proc/sys', key), value);
  } catch (error) {
    throw new Error(`sysctl ${key.replaceAll('/', '.')}=${value}: ${(error as Error).message}`, { cause: error });
  }
}

/** PIDs of every process in the node's cgroups (its pods' containers). */
export function cgroupPids(): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs()) {
    for (const sub of walk(dir)) {
      try {
        for (const line of readFileSync(join(sub, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return [...pids];
}

/** Every mounted cgroup hierarchy (the v1 controllers and the unified one). */
const cgroupMounts = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length > 9 && /^cgroup2?$/.test(fields[fields.indexOf('-') + 1]))
    .map((fields) => unescapeMount(fields[4]));

/** The node's cgroup in every hierarchy that has it. */
export function cgroupDirs(): string[] {
  return cgroupMounts()
    .map((mount) => join(mount, CGROUP_ROOT))
    .filter((dir) => existsSync(dir));
}

/** The kubelet's --cgroup-root must exist in every hierarchy; a v1 cpuset needs its CPUs and memory nodes. */
function makeCgroups() {
  for (const mount of cgroupMounts()) {
    const dir = join(mount, CGROUP_ROOT);
    mkdirSync(dir, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(mount, file))) writeFileSync(join(dir, file), readFileSync(join(mount, file)));
    }
  }
}

/** A directory and every directory under it, deepest first. */
function walk(dir: string): string[] {
  const below: string[] = [];
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) below.push(...walk(join(dir, entry.name)));
  } catch {
    return [];
  }
  return [...below, dir];
}

const unescapeMount = (path: string) => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** Mount points under dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMount(line.split(' ')[4]))
    .filter((mount) => mount === dir || mount.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Each table of each iptables backend that answers, with its iptables-save lines. */
function* savedTables(): Generator<{ backend: string; table: string; lines: string[] }> {
  for (const backend of ['iptables', 'iptables-legacy']) {
    for (const table of TABLES) {
      const save = run(`${backend}-save`, ['-t', table]);
      if (save.code === 0) yield { backend, table, lines: save.stdout.split('\n') };
    }
  }
}

const chainsOf = (lines: string[]) =>
  lines.map((line) => /^:(\S+)/.exec(line)?.[1]).filter((chain): chain is string => Boolean(chain && OUR_CHAIN.test(chain)));

/** Chains of ours in each table of each iptables backend ("backend table chain"). */
export function ourChains(): string[] {
  return [...savedTables()].flatMap(({ backend, table, lines }) => chainsOf(lines).map((chain) => `${backend} ${table} ${chain}`));
}

/** Rules of ours left in the built-in chains (jumps to our chains), as iptables-save prints them. */
export function ourRules(): string[] {
  return [...savedTables()].flatMap(({ backend, table, lines }) =>
    lines
      .filter((line) => /^-A /.test(line) && / -j (KUBE-|CNI-|PANDO-NODE-)/.test(line) && !OUR_CHAIN.test(line.split(' ')[1]))
      .map((line) => `${backend} ${table} ${line}`),
  );
}

function removeChains() {
  for (const { backend, table, lines } of savedTables()) {
    const chains = chainsOf(lines);
    if (chains.length === 0) continue;
    // Jumps from the built-in chains first, then every rule of ours, then the chains.
    const jumps = lines.filter((line) => /^-A /.test(line) && !OUR_CHAIN.test(line.split(' ')[1]) && chains.some((c) => line.includes(` -j ${c}`)));
    const restore = [
      `*${table}`,
      ...jumps.map((line) => line.replace(/^-A /, '-D ')),
      ...chains.map((c) => `-F ${c}`),
      ...chains.map((c) => `-X ${c}`),
      'COMMIT',
      '',
    ].join('\n');
    must(`${backend}-restore`, ['--noflush'], restore);
  }
}

const linkExists = (name: string) => run('ip', ['link', 'show', name]).code === 0;

const linkNames = (args: string[]) =>
  run('ip', ['-o', 'link', 'show', ...args])
    .stdout.split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1])
    .filter((name): name is string => Boolean(name));

/** Every link on the host, by name (the leftover check compares before and after). */
export const hostLinks = () => linkNames([]);

/** Routes to the cluster's ranges. */
export function ourRoutes(): string[] {
  return run('ip', ['route', 'show'])
    .stdout.split('\n')
    .filter((line) => line.startsWith(`${NETWORK.serviceCidr} `) || line.startsWith(`${NETWORK.podCidr} `) || line.includes(`dev ${NETWORK.bridge}`));
}

/** What the journal recorded as changed and is changed still (sysctls, paths). */
export function changedSysctls(journal: Journal): string[] {
  return Object.entries(journal.sysctls)
    .filter(([key, value]) => readSysctl(key) !== value)
    .map(([key, value]) => `${key.replaceAll('/', '.')}=${readSysctl(key)} (was ${value})`);
}

function killCgroupPids() {
  for (const pid of cgroupPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** rmdir of the node's cgroups, deepest first, waiting out EBUSY while killed processes exit. */
function removeCgroups(deadline: number) {
  for (const dir of cgroupDirs()) {
    for (const sub of walk(dir)) {
      for (;;) {
        try {
          rmdirSync(sub);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) throw error;
          spawnSync('sleep', ['0.1']);
        }
      }
    }
  }
}

/**
 * Undoes everything: the caller has stopped the node's own processes; the containers still in
 * its cgroups are killed here. Safe to run twice, and after a killed run.
 */
export function restoreHost(nodeDir: string | undefined) {
  const problems: string[] = [];
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
    }
  };
  killCgroupPids();
  if (nodeDir) {
    for (const mount of mountsUnder(nodeDir)) {
      attempt(`umount ${mount}`, () => {
        // A shim that exits meanwhile unmounts its rootfs itself: gone is as good as unmounted.
        if (run('umount', [mount]).code !== 0 && mountsUnder(mount).includes(mount)) must('umount', ['-l', mount]);
      });
    }
  }
  attempt('cgroups', () => {
    removeCgroups(Date.now() + 10_000);
    // Seen once: the node's cgroup back right after down, with no error. Something still exiting
    // (a shim, a runc of a pod being killed) may make it again: a second look, a second pass.
    spawnSync('sleep', ['0.5']);
    if (cgroupDirs().length) {
      killCgroupPids();
      removeCgroups(Date.now() + 10_000);
    }
    if (cgroupDirs().length) throw new Error(`still there: ${cgroupDirs().join(', ')}`);
  });
  // Deleting the bridge takes its address and routes with it; pods' veths go with their netns.
  if (linkExists(NETWORK.bridge)) attempt('bridge', () => must('ip', ['link', 'delete', NETWORK.bridge]));
  attempt('iptables', removeChains);
  const journal = readJournal();
  if (journal) {
    for (const [key, value] of Object.entries(journal.sysctls)) {
      if (readSysctl(key) !== value) attempt(`sysctl ${key}`, () => writeSysctl(key, value));
    }
    for (const path of journal.createdPaths) attempt(`rm ${path}`, () => rmSync(path, { recursive: true, force: true }));
  }
  if (problems.length) throw new Error(`the node's host changes were not all undone:\n  ${problems.join('\n  ')}`);
  rmSync(JOURNAL, { force: true });
}
