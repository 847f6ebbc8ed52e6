// What a turn of bench:cluster leaves to explain a tail: the API server's TCP connections to a
// webhook's Service (each new one a full TLS handshake on the webhook's single thread), and the
// webhook pods' logs (one line per admission, with its time inside the webhook).
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../e2e/harness/kubeconfig';
import { SYSTEM_NAMESPACE } from '../e2e/harness/release';
import type { ClusterState } from '../e2e/harness/state';

export interface Connections {
  /** Connections to the Service first seen during the turn. */
  opened: number;
  /** Most connections established at once, of the samples. */
  maxEstablished: number;
}

/** One `ss` listing: established and time-wait sockets towards `ip` (host network: the API server's). */
const listSockets = (ip: string) =>
  new Promise<{ established: string[]; closed: string[] }>((resolve) => {
    execFile('ss', ['-Htn', 'state', 'established', 'state', 'time-wait', 'dst', ip], (error, stdout) => {
      const established: string[] = [];
      const closed: string[] = [];
      // Columns: State Recv-Q Send-Q Local Peer (state shown when more than one is asked for).
      for (const line of error ? [] : stdout.split('\n')) {
        const [state, , , local, peer] = line.trim().split(/\s+/);
        if (!peer) continue;
        (state === 'ESTAB' ? established : closed).push(`${local}>${peer}`);
      }
      resolve({ established, closed });
    });
  });

/**
 * Samples the sockets towards a Service's cluster IP every `everyMs` until stopped. A closed
 * socket stays in time-wait for 60 s, so short-lived connections are counted too. Async (execFile),
 * so the steady client's timers are not held up.
 */
export function watchConnections(ip: string | undefined, everyMs = 500) {
  if (!ip) return { stop: async (): Promise<Connections | undefined> => undefined };
  const before = new Set<string>();
  const seen = new Set<string>();
  let maxEstablished = 0;
  let first = true;
  let running = true;
  const sampled = (async () => {
    while (running) {
      const { established, closed } = await listSockets(ip);
      for (const socket of [...established, ...closed]) (first ? before : seen).add(socket);
      maxEstablished = Math.max(maxEstablished, established.length);
      first = false;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop(): Promise<Connections> {
      running = false;
      await sampled;
      const { established, closed } = await listSockets(ip);
      for (const socket of [...established, ...closed]) seen.add(socket);
      maxEstablished = Math.max(maxEstablished, established.length);
      return { opened: [...seen].filter((socket) => !before.has(socket)).length, maxEstablished };
    },
  };
}

/** A Service's cluster IP in the system namespace, the address the API server dials for a webhook. */
export const clusterIpOf = (state: ClusterState, service: string) =>
  kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'service', service, '-o', 'jsonpath={.spec.clusterIP}']).trim();

/** Every container log of the pods matching `selector`, one file per pod in `dir`; the files written. */
export function saveLogs(state: ClusterState, selector: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const pods = kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', selector, '-o', 'name']).split('\n').filter(Boolean);
  return pods.map((pod) => {
    const file = join(dir, `${pod.replace('pod/', '')}.log`);
    const run = kubectl(state, ['-n', SYSTEM_NAMESPACE, 'logs', pod, '--all-containers', '--timestamps']);
    writeFileSync(file, run.code === 0 ? run.stdout : `kubectl logs failed: ${run.stderr}`);
    return file;
  });
}

/** CPU time so far (clock ticks) of the machine and of every process, read from /proc. */
export interface CpuSnapshot {
  busy: number;
  total: number;
  processes: Map<number, { name: string; ticks: number }>;
}

export function cpuSnapshot(): CpuSnapshot {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  const idle = fields[3] + fields[4]; // idle, iowait
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const processes = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The name is in parentheses and may hold spaces; the counters follow it.
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 3).join(' ');
      processes.set(Number(entry), {
        name: command.slice(0, 80) || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        ticks: Number(after[11]) + Number(after[12]),
      });
    } catch {
      // gone between the listing and the read
    }
  }
  return { busy: total - idle, total, processes };
}

/** What the machine's CPUs did between two snapshots: the busy share of all CPUs and the top processes. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, top = 6) {
  const ticksPerSecond = 100; // USER_HZ, 100 on Linux
  const used = [...after.processes].map(([pid, { name, ticks }]) => ({
    pid,
    name,
    seconds: (ticks - (before.processes.get(pid)?.ticks ?? 0)) / ticksPerSecond,
  }));
  return {
    busyShare: (after.busy - before.busy) / Math.max(1, after.total - before.total),
    top: used
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, top)
      .map((process) => ({ ...process, seconds: Number(process.seconds.toFixed(2)) })),
  };
}
