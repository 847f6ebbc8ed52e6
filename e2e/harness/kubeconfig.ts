// The cluster's kubeconfig, and the clients that use it: kubectl, helm and the API client.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { apiClient, type Api } from './api';
import type { ClusterState } from './state';
import { REPO } from './tools';

type Obj = Record<string, any>;

export function adminApi(state: ClusterState): Api {
  return apiClient({ server: state.server, token: state.adminToken, ca: readFileSync(state.caFile, 'utf8') });
}

/** kubectl with the cluster's admin kubeconfig; the tools directory first on the PATH. */
export function kubectl(state: ClusterState, args: string[], input?: string) {
  const run = spawnSync(join(state.tools, 'kubectl'), args, { input, encoding: 'utf8', env: toolEnv(state), maxBuffer: 64 << 20 });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

export function kubectlOk(state: ClusterState, args: string[], input?: string): string {
  const run = kubectl(state, args, input);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${run.stderr.trim() || run.stdout.trim()}`);
  return run.stdout;
}

/** The environment a user of this cluster has: its kubeconfig, and kubectl, helm and task on the PATH. */
export function toolEnv(state: ClusterState): NodeJS.ProcessEnv {
  // dist/bin: kubectl finds the kubectl-pando plugin there, as on a user's PATH.
  return { ...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.tools}:${join(REPO, 'dist', 'bin')}:${process.env.PATH ?? ''}` };
}

export function writeKubeconfig(state: ClusterState) {
  const ca = Buffer.from(readFileSync(state.caFile)).toString('base64');
  writeFileSync(
    state.kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: pando-local',
      `  cluster: {server: "${state.server}", certificate-authority-data: ${ca}}`,
      'users:',
      '- name: pando-admin',
      `  user: {token: ${state.adminToken}}`,
      'contexts:',
      '- name: pando-local',
      '  context: {cluster: pando-local, user: pando-admin}',
      'current-context: pando-local',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

export function parseDocuments(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === 'object');
}

/** helm with the cluster's kubeconfig (and kubectl, task on the PATH). */
export function helm(state: ClusterState, args: string[], input?: string) {
  const run = spawnSync(join(state.tools, 'helm'), args, { input, encoding: 'utf8', env: toolEnv(state), maxBuffer: 64 << 20 });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

export function helmOk(state: ClusterState, args: string[]): string {
  const run = helm(state, args);
  if (run.code !== 0) throw new Error(`helm ${args.join(' ')}: ${run.stderr.trim() || run.stdout.trim()}`);
  return run.stdout;
}
