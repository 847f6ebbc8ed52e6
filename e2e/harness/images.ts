// The local node's stand-in images (test support, not the product): each of the static programs
// that `npm run tools` builds from e2e/images, packed as a one-layer image archive in the
// `docker save` layout (manifest.json, a config, layer.tar) for `ctr images import`. Their
// names say they are local stand-ins; no upstream name is ever used.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STANDIN_IMAGES = {
  pause: 'pando.local/pause:dev',
  sidecar: 'pando.local/sidecar-standin:dev',
  // The same program under a second tag: a sidecar upgrade the node can run.
  sidecarNext: 'pando.local/sidecar-standin:next',
  app: 'pando.local/app-standin:dev',
} as const;

const PROGRAMS: Record<keyof typeof STANDIN_IMAGES, string> = {
  pause: 'pause',
  sidecar: 'sidecar-standin',
  sidecarNext: 'sidecar-standin',
  app: 'app-standin',
};

/** One ustar entry: a 512-byte header, then the data padded to 512 bytes. */
function tarEntry(name: string, mode: number, data?: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, data?.length ?? 0);
  octal(136, 12, 0); // mtime: reproducible archives
  field(156, 1, data ? '0' : '5');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(148, 8, '        ');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  if (!data) return header;
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

const tar = (entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * An image archive whose one layer holds the program at /<program> and the empty directories a
 * container's mounts need. Runs as uid 65532 unless the pod says otherwise.
 */
export function imageArchive(name: string, program: string, binary: Buffer): Buffer {
  const layer = tar([...['dev/', 'etc/', 'proc/', 'sys/'].map((dir) => tarEntry(dir, 0o755)), tarEntry('tmp/', 0o1777), tarEntry(program, 0o755, binary)]);
  const layerDigest = sha256(layer);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: [`/${program}`], Env: ['PATH=/'], User: '65532:65532', WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    // The name too: two tags of one program are two images (the kubelet reports each by its own name).
    history: [{ created_by: `pando-webhook e2e/harness/images.ts: ${program} as ${name}` }],
  });
  const configName = `${sha256(config)}.json`;
  const manifest = JSON.stringify([{ Config: configName, RepoTags: [name], Layers: [`${layerDigest}/layer.tar`] }]);
  return tar([
    tarEntry(`${layerDigest}/`, 0o755),
    tarEntry(`${layerDigest}/layer.tar`, 0o644, layer),
    tarEntry(configName, 0o644, Buffer.from(config)),
    tarEntry('manifest.json', 0o644, Buffer.from(manifest)),
  ]);
}

/** Writes every stand-in image archive into dir; returns their paths. */
export function writeStandinArchives(tools: string, dir: string): string[] {
  return (Object.keys(STANDIN_IMAGES) as (keyof typeof STANDIN_IMAGES)[]).map((key) => {
    const path = join(dir, `${key}.tar`);
    writeFileSync(path, imageArchive(STANDIN_IMAGES[key], PROGRAMS[key], readFileSync(join(tools, PROGRAMS[key]))));
    return path;
  });
}
