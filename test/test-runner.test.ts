// scripts/test.ts, the runner behind `npm test` and the e2e, on small test files of its own: the
// closing line counts what uvu alone hides (a before hook that throws, an after hook that throws
// and would end the run, a file that throws while loading) and names the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const RUNNER = join(__dirname, '..', 'scripts', 'test.js');
const UVU = JSON.stringify(require.resolve('uvu'));

/** Runs the runner over test files with these bodies (each after `const { test } = require('uvu')`). */
function runOver(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'pando-runner-'));
  try {
    for (const [name, body] of Object.entries(files)) writeFileSync(join(root, name), `const { test } = require(${UVU});\n${body}\ntest.run();\n`);
    const run = spawnSync(process.execPath, [RUNNER, '--root', root], { encoding: 'utf8', env: { ...process.env, CI: '' } });
    const lines = run.stdout.trim().split('\n');
    return { code: run.status, stdout: run.stdout, last: lines[lines.length - 1] };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const passing = (count: number) => Array.from({ length: count }, (_, i) => `test('passes ${i}', () => {});`).join('\n');

test('all passing: exit 0 and "N passed, 0 failed, N skipped"', () => {
  const run = runOver({ 'a.test.js': `${passing(2)}\ntest.skip('not here', () => {});` });
  assert.is(run.code, 0, run.stdout);
  assert.is(run.last, '2 passed, 0 failed, 1 skipped');
});

test("a before hook that throws: its suite's tests count as failed, the file and the error are named, later files still run", () => {
  const run = runOver({
    'a.test.js': passing(2),
    'b.test.js': `test.before(() => { throw new Error('fixture did not start'); });\n${passing(3)}`,
    'c.test.js': passing(1),
  });
  assert.is(run.code, 1);
  assert.match(run.stdout, /hook failed: b\.test\.js: before hook: Error: fixture did not start/);
  assert.is(run.last, '3 passed, 3 failed, 0 skipped');
});

test('an after hook that throws: one failure, named; the files after it still run', () => {
  const run = runOver({
    'a.test.js': `test.after(() => { throw new Error('cleanup failed'); });\n${passing(2)}`,
    'b.test.js': passing(2),
  });
  assert.is(run.code, 1);
  assert.match(run.stdout, /hook failed: a\.test\.js: after hook: Error: cleanup failed/);
  assert.is(run.last, '4 passed, 1 failed, 0 skipped');
});

test('an after.each hook that throws is a failure too', () => {
  const run = runOver({ 'a.test.js': `test.after.each(() => { throw new Error('reset failed'); });\n${passing(2)}` });
  assert.is(run.code, 1);
  assert.match(run.stdout, /hook failed: a\.test\.js: after\.each hook: Error: reset failed/);
  assert.not.match(run.last, / 0 failed/);
});

test('a file that throws while loading: a failure, with the reason', () => {
  const run = runOver({ 'a.test.js': passing(1), 'b.test.js': `throw new Error('cannot load');` });
  assert.is(run.code, 1);
  assert.match(run.stdout, /uvu stopped before its summary/);
  assert.match(run.last, /^\d+ passed, [1-9]\d* failed, 0 skipped$/);
});

test.run();
