// The committed manifests are exactly `helm template` of the chart, so `kubectl apply -f
// manifests/install.yaml` needs neither Helm nor Node. UPDATE_MANIFESTS=1 npm test (or task
// manifests) rewrites them on purpose; the same for values.schema.json from the zod schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, helm, helmAvailable, ROOT } from '../support/chart';
import { SCHEMA_FILE, schemaText } from '../../scripts/chart-schema';

/** The committed installs and the helm template arguments that make them (Taskfile manifests). */
export const COMMITTED: Record<string, string[]> = {
  'manifests/install.yaml': [],
  'manifests/install-cert-manager.yaml': ['--set', 'tls.certManager=true'],
};
const BASE = [
  'template',
  '--skip-tests',
  'pando-webhook',
  CHART,
  '--namespace',
  'pando-system',
  '--kube-version',
  '1.37.2',
  '--set',
  'namespace.create=true',
  '--set',
  'license.create=false',
];

test('values.schema.json is generated from the zod values schema (npm run chart:schema)', () => {
  // Rewritten first, so an update run compares what it wrote (not the file it replaced).
  if (process.env.UPDATE_MANIFESTS === '1') writeFileSync(SCHEMA_FILE, schemaText());
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  assert.ok(committed === schemaText(), 'values.schema.json is stale: run npm run chart:schema and commit it');
});

if (helmAvailable(test, 'the rendered installs against the chart')) {
  for (const [file, argv] of Object.entries(COMMITTED)) {
    test(`${file} equals a fresh helm template ${argv.join(' ')}`, () => {
      const fresh = helm([...BASE, ...argv]);
      assert.is(fresh.code, 0, fresh.stderr);
      if (process.env.UPDATE_MANIFESTS === '1') writeFileSync(join(ROOT, file), fresh.stdout);
      const committed = readFileSync(join(ROOT, file), 'utf8');
      assert.ok(committed === fresh.stdout, `${file} is stale: run task manifests (or UPDATE_MANIFESTS=1 npm test) and commit it`);
    });
  }
}

test.run();
