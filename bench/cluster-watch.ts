// What a turn of bench:cluster leaves to explain a tail: the API server's TCP connections to a
// webhook's Service (each new one a full TLS handshake on the webhook's single thread), and the
// webhook pods' logs (one line per admission, with its time inside the webhook).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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
