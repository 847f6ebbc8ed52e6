// The README's promises: the two commands first, and every setting documented.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENV } from '../function/config';
import { VALUE_OF_ENV } from '../scripts/chart-values';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('the README opens with the two commands', () => {
  const opening = readme.split('\n').slice(0, 6).join('\n');
  assert.match(opening, /npm ci && npm start/);
  assert.match(opening, /npm ci && npm test/);
});

test('every environment variable is in the configuration table with its Helm value and default', () => {
  for (const [name, spec] of Object.entries(ENV)) {
    const row = readme.split('\n').find((line) => line.includes(`\`${name}\``) && line.startsWith('|'));
    assert.ok(row, `${name} is not in the README's table`);
    const value = VALUE_OF_ENV[name as keyof typeof ENV];
    if (value === null) assert.match(row!, /release namespace/, `${name}: set from the release namespace`);
    else assert.ok(row!.includes(`\`${value}\``), `${name}: Helm value ${value} missing`);
    const shown = spec.default === '' ? '(empty)' : `\`${spec.default}\``;
    assert.ok(row!.includes(shown), `${name}: default ${shown} missing`);
  }
});

test("a short user guide (250 lines at most), whose Install section runs the chart's own test", () => {
  assert.ok(readme.split('\n').length <= 251, `${readme.split('\n').length - 1} lines`);
  const install = readme.slice(readme.indexOf('\n## Install'), readme.indexOf('\n## Configure'));
  assert.match(install, /^helm test pando-webhook -n pando-system/m);
});

test('.ci/run runs the README test command', () => {
  assert.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /^npm test$/m);
});

test.run();
