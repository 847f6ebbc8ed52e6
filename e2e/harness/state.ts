// The local cluster's record on disk (state.json in its directory): its ports, processes and
// credentials, read by every later command (status, down, the e2e suites).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeState } from './node';
import type { RegistryState } from './registry';

export type Platform = 'knative' | 'deployment';

export interface ClusterState {
  dir: string;
  tools: string;
  kubeconfig: string;
  server: string;
  caFile: string;
  adminToken: string;
  /** How the release runs the webhook: the chart's default (knative), or deployment (absent: deployment). */
  platform?: Platform;
  /** Extra helm --set arguments of the install (sidecar.image=...). */
  helmSet: string[];
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  /** ingressStandIn: the KIngress stand-in's daemon, on the Knative platform only. */
  pids: { etcd?: number; apiserver?: number; controllerManager?: number; ingressStandIn?: number };
  /** The node (containerd, kubelet, kube-proxy, scheduler, CoreDNS): it runs every pod, the webhook's too. */
  node?: NodeState;
  /** The local registry, when a suite started it (registry.ts). */
  registry?: RegistryState;
}

const statePath = (dir: string) => join(dir, 'state.json');
export const saveState = (state: ClusterState) => writeFileSync(statePath(state.dir), `${JSON.stringify(state, null, 2)}\n`);

export function readState(dir: string): ClusterState | undefined {
  return existsSync(statePath(dir)) ? (JSON.parse(readFileSync(statePath(dir), 'utf8')) as ClusterState) : undefined;
}
