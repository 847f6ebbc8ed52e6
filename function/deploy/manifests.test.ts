// The committed manifests are exactly what the render command prints, so `kubectl apply -f
// manifests/install.yaml` needs no Node. UPDATE_MANIFESTS=1 npm test rewrites them on purpose.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRender } from './cli';

const ROOT = join(__dirname, '..', '..', '..');
export const COMMITTED: Record<string, string[]> = {
  'manifests/install.yaml': [],
  'manifests/install-cert-manager.yaml': ['--set', 'tls.certManager=true'],
};

for (const [file, argv] of Object.entries(COMMITTED)) {
  test(`${file} equals a fresh render (npm run render -- ${argv.join(' ')})`, () => {
    const fresh = runRender(argv, (p) => readFileSync(p, 'utf8'));
    assert.is(fresh.code, 0, fresh.stderr);
    if (process.env.UPDATE_MANIFESTS === '1') writeFileSync(join(ROOT, file), fresh.stdout);
    const committed = readFileSync(join(ROOT, file), 'utf8');
    assert.ok(committed === fresh.stdout, `${file} is stale: run UPDATE_MANIFESTS=1 npm test (or task manifests) and commit it`);
  });
}

test.run();
