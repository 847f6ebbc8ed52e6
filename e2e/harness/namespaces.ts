// Namespaces as the suites need them: created as a real cluster gives them, enabled the way a user
// enables one, or kept off the node.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { kubectl, kubectlOk, toolEnv } from './kubeconfig';
import type { ClusterState } from './state';
import { REPO } from './tools';

export const DEMO_NAMESPACE = 'pando-demo';

/** The imperative path a user takes: task namespace:enable, run by the real task. */
export function enableNamespace(state: ClusterState, namespace: string, labels: Record<string, string> = {}) {
  ensureNamespace(state, namespace, labels);
  const run = spawnSync(join(state.tools, 'task'), ['--dir', REPO, 'namespace:enable', `NS=${namespace}`], { encoding: 'utf8', env: toolEnv(state) });
  if (run.status !== 0) throw new Error(`task namespace:enable NS=${namespace}: ${run.stdout}${run.stderr}`);
}

/**
 * A namespace as a real cluster gives it: with its `default` ServiceAccount (the controller
 * manager's job; the ServiceAccount admission plugin refuses pods without it).
 */
export function ensureNamespace(state: ClusterState, namespace: string, labels: Record<string, string> = {}) {
  const create = (args: string[]) => {
    const run = kubectl(state, ['create', ...args]);
    if (run.code !== 0 && !/AlreadyExists|already exists/.test(run.stderr)) throw new Error(`kubectl create ${args.join(' ')}: ${run.stderr.trim()}`);
  };
  create(['namespace', namespace]);
  create(['serviceaccount', 'default', '-n', namespace]);
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  if (pairs.length) kubectlOk(state, ['label', 'namespace', namespace, ...pairs, '--overwrite']);
}

/** The annotation PodNodeSelector reads: a namespace's pods wait for a node that never comes. */
export const STORED_ONLY = { 'scheduler.alpha.kubernetes.io/node-selector': 'pando.local/stored-only=true' };

/**
 * Keeps a namespace's pods off the node: they are admitted and stored, never scheduled. The
 * suites that check admission alone create ~200 pods; running them would only slow the e2e.
 */
export function keepOffNode(state: ClusterState, namespace: string) {
  const [key, value] = Object.entries(STORED_ONLY)[0];
  kubectlOk(state, ['annotate', 'namespace', namespace, `${key}=${value}`, '--overwrite']);
}
