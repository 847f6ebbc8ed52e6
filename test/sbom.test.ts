// The SBOM the image build writes (scripts/sbom.ts), made here from the bundles npm test just built
// (npm run build and bundle write their esbuild metafiles to dist/meta): every bundled package
// with its locked version and license, each bundle with what it holds, no build-only package.
// test/image.test.ts checks the one inside the built image.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSbom, packageDir, purl } from '../scripts/sbom';

const ROOT = join(__dirname, '..', '..');
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
const metafiles = readdirSync(join(ROOT, 'dist', 'meta')).map((f) => join('dist', 'meta', f));
const bom = buildSbom(ROOT, metafiles, { node: '24.22.3' });
const library = (name: string) => bom.components.filter((c) => c.type === 'library' && c.name === name);
const held = (file: string) => bom.dependencies.find((d) => d.ref === `file:${file}`)?.dependsOn;

test('a bundled file belongs to the innermost node_modules package of its path', () => {
  assert.is(packageDir('node_modules/zod/v4/core/core.js'), 'node_modules/zod');
  assert.is(packageDir('node_modules/@kubernetes/client-node/dist/index.js'), 'node_modules/@kubernetes/client-node');
  assert.is(packageDir('node_modules/tsyringe/node_modules/tslib/tslib.es6.js'), 'node_modules/tsyringe/node_modules/tslib');
  assert.is(packageDir('function/main.ts'), undefined);
  assert.is(purl('@peculiar/x509', '2.2.0'), 'pkg:npm/%40peculiar/x509@2.2.0');
});

test('it lists zod, rfc6902 and @kubernetes/client-node at the versions the lockfile pins, with their licenses', () => {
  assert.is(bom.bomFormat, 'CycloneDX');
  for (const name of ['zod', 'rfc6902', '@kubernetes/client-node', '@peculiar/x509']) {
    const [component, ...more] = library(name);
    assert.ok(component, `${name} listed`);
    assert.equal(more, [], `${name} listed once`);
    assert.is(component.version, lock[`node_modules/${name}`].version, name);
    assert.is(component.purl, purl(name, lock[`node_modules/${name}`].version));
    assert.equal(component.licenses, [{ license: { id: lock[`node_modules/${name}`].license } }], name);
  }
  // Both tslib copies (tsyringe keeps its own 1.x), each at its locked version.
  assert.equal(
    library('tslib')
      .map((c) => c.version)
      .sort(),
    [lock['node_modules/tsyringe/node_modules/tslib'].version, lock['node_modules/tslib'].version].sort(),
  );
});

test('each bundle lists what it holds: the server zod, rfc6902 and prom-client (with its own dependencies), the plugin the Kubernetes client', () => {
  const locked = (name: string) => purl(name, lock[`node_modules/${name}`].version);
  assert.equal(held('dist/serve.js'), ['@opentelemetry/api', 'bintrees', 'prom-client', 'rfc6902', 'tdigest', 'zod'].map(locked));
  assert.ok(held('dist/tls-setup.js')!.includes(purl('@peculiar/x509', lock['node_modules/@peculiar/x509'].version)));
  assert.ok(held('dist/bin/kubectl-pando')!.includes(purl('@kubernetes/client-node', lock['node_modules/@kubernetes/client-node'].version)));
  for (const file of ['dist/serve.js', 'dist/tls-setup.js', 'dist/bin/kubectl-pando']) {
    const [hash] = bom.components.find((c) => c.name === file)!.hashes!;
    assert.is(
      hash.content,
      createHash('sha256')
        .update(readFileSync(join(ROOT, file)))
        .digest('hex'),
      file,
    );
  }
});

test('no build-only package is listed, and the dependency graph only names listed components', () => {
  const names = bom.components.map((c) => c.name);
  for (const buildOnly of ['typescript', 'esbuild', 'uvu', 'eslint', '@google-cloud/functions-framework', 'express'])
    assert.not.ok(names.includes(buildOnly), buildOnly);
  const refs = new Set([bom.metadata.component['bom-ref'], ...bom.components.map((c) => c['bom-ref'])]);
  for (const { ref, dependsOn } of bom.dependencies) for (const r of [ref, ...dependsOn]) assert.ok(refs.has(r), r);
  // @kubernetes/client-node's own dependencies resolve to the copies bundled beside it.
  const client = bom.dependencies.find((d) => d.ref === purl('@kubernetes/client-node', lock['node_modules/@kubernetes/client-node'].version))!;
  assert.ok(client.dependsOn.includes(purl('ws', lock['node_modules/ws'].version)), client.dependsOn.join(' '));
});

test('the same bundles give the same SBOM, byte for byte', () => {
  assert.is(JSON.stringify(buildSbom(ROOT, metafiles, { node: '24.22.3' })), JSON.stringify(bom));
  assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test.run();
