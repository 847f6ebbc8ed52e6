// Images of programs `npm run tools` built (cert-manager's and Knative's components), packed as
// one-layer archives the way images.ts packs the stand-ins and imported into the node's
// containerd, where the kubelet finds them: nothing is pulled.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterState } from './state';
import { imageArchive } from './images';

/** Imports the image `name` whose one layer holds the tools directory's `program`. */
export function importLocalImage(state: ClusterState, name: string, program: string) {
  if (!state.node) throw new Error(`${name} runs in a pod: the cluster needs its node`);
  const dir = join(state.dir, 'local-images');
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, `${program}.tar`);
  writeFileSync(archive, imageArchive(name, program, readFileSync(join(state.tools, program))));
  const socket = join(state.node.dir, 'containerd', 'containerd.sock');
  const imported = spawnSync(join(state.tools, 'ctr'), ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', archive], {
    encoding: 'utf8',
  });
  if (imported.status !== 0) throw new Error(`ctr images import ${archive}: ${imported.stderr}`);
}

/** Where the Go module cache holds a module of a tools module's build list (downloaded if need be). */
export function goModuleDir(toolsModule: string, module: string): string {
  const run = spawnSync('go', ['mod', 'download', '-json', module], { cwd: toolsModule, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`go mod download ${module}: ${run.stderr || run.stdout}`);
  return (JSON.parse(run.stdout) as { Dir: string }).Dir;
}
