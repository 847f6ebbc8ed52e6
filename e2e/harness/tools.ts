// Where `npm run tools` keeps the Go-built binaries: PANDO_TOOLS_DIR, or the last line that the
// build script prints (it builds only what is missing, so a second call takes seconds).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..', '..');
export const TOOL_NAMES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
  'helm',
  'helm3',
  'task',
  // The node: its processes, the CNI plugins' directory and the stand-in images' programs.
  'kubelet',
  'kube-proxy',
  'kube-scheduler',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'runc',
  'cni',
  'coredns',
  'pause',
  'sidecar-standin',
  'app-standin',
  // The local registry (registry.ts) and crane, which pushes image archives to it.
  'registry',
  'crane',
  // bench:cluster's receiver of the API server's spans (bench/spans.ts).
  'otlp-spans',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export function toolsDir(): string {
  const dir = process.env.PANDO_TOOLS_DIR ?? buildTools();
  const missing = TOOL_NAMES.filter((name) => !existsSync(join(dir, name)));
  if (missing.length) throw new Error(`${dir} lacks ${missing.join(', ')}: run npm run tools`);
  return dir;
}

function buildTools(): string {
  const run = spawnSync('bash', [join(REPO, 'scripts', 'tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error('npm run tools failed (see above)');
  return run.stdout.trim().split('\n').at(-1) as string;
}
