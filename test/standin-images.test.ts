// The local node's stand-in image archives (e2e/harness/images.ts): what `ctr images import`
// reads, checked with the system's tar and by digest.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imageArchive, STANDIN_IMAGES } from '../e2e/harness/images';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function untar(archive: Buffer, dir: string) {
  const path = join(dir, 'archive.tar');
  writeFileSync(path, archive);
  const run = spawnSync('tar', ['-xf', path, '-C', dir], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  return spawnSync('tar', ['-tvf', path], { encoding: 'utf8' }).stdout;
}

test('one layer holding the program, a config whose diff_id is the layer, a manifest naming the image', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-image-test-'));
  try {
    const binary = Buffer.from('#!/bin/true\n'.repeat(100));
    untar(imageArchive(STANDIN_IMAGES.sidecar, 'sidecar-standin', binary), dir);
    const [manifest] = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.RepoTags, ['pando.local/sidecar-standin:dev']);
    assert.is(manifest.Layers.length, 1);
    const layer = readFileSync(join(dir, manifest.Layers[0]));
    const configBytes = readFileSync(join(dir, manifest.Config));
    assert.is(manifest.Config, `${sha256(configBytes)}.json`);
    const config = JSON.parse(configBytes.toString());
    assert.equal(config.rootfs.diff_ids, [`sha256:${sha256(layer)}`]);
    assert.equal(config.config.Entrypoint, ['/sidecar-standin']);
    assert.is(config.config.User, '65532:65532');

    const layerDir = join(dir, 'layer');
    spawnSync('mkdir', [layerDir]);
    const listing = untar(layer, layerDir);
    assert.match(listing, /^-rwxr-xr-x 0\/0 +1200 .* sidecar-standin$/m);
    assert.match(listing, /^drwxrwxrwt .* tmp\/$/m);
    assert.ok(readFileSync(join(layerDir, 'sidecar-standin')).equals(binary));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same program gives the same archive (no timestamps), and image names say they are local', () => {
  const binary = Buffer.from('program');
  assert.ok(imageArchive('pando.local/x:dev', 'x', binary).equals(imageArchive('pando.local/x:dev', 'x', binary)));
  for (const name of Object.values(STANDIN_IMAGES)) assert.match(name, /^pando\.local\/[a-z-]+:(dev|next)$/);
});

test('two tags of one program are two images: the node reports each by its own name', () => {
  const binary = Buffer.from('program');
  const config = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'pando-standin-'));
    try {
      untar(imageArchive(name, 'x', binary), dir);
      return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))[0].Config;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  assert.is.not(config(STANDIN_IMAGES.sidecar), config(STANDIN_IMAGES.sidecarNext));
});

test.run();
