// `npm test`: runs every *.test.js of the unit and integration tests (build/function, build/cli and
// build/test; or under --root DIR) with uvu, then prints one closing line "N passed, N failed,
// N skipped", with the reasons for the skipped suites and the hooks that failed above it.
// Fails when a test fails, when a before or after hook throws (uvu alone would show nothing, or
// stop before its summary), when no test ran, or when a test file never calls .run() (uvu would
// skip it silently).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_LINE } from '../test/support/skip';
import { HOOK_FAILED } from './uvu-hooks';

const args = process.argv.slice(2);
const rootFlag = args.indexOf('--root');
const custom = rootFlag >= 0;
const root = custom ? args.splice(rootFlag, 2)[1] : join(__dirname, '..');
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  );
const files = custom ? walk(root) : ['function', 'cli', 'test'].flatMap((dir) => walk(join(root, dir)));

const silent = files.filter((f) => !/\.run\(\)/.test(readFileSync(f, 'utf8')));
if (silent.length) {
  console.error(`these test files never call .run(), so uvu would skip them:\n${silent.join('\n')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const uvu = join(require.resolve('uvu'), '..', '..', 'bin.js');
const filter = args[0] ?? (custom ? String.raw`\.test\.js$` : String.raw`^(function|cli|test)/.*\.test\.js$`);
// Plain output for the counts below. --no-color: otherwise uvu sets FORCE_COLOR, and every node
// process a test starts warns that it ignores NO_COLOR.
const run = spawnSync(process.execPath, [uvu, root, filter, '--no-color', '-r', join(__dirname, 'uvu-hooks.js')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NO_COLOR: '1' },
});
process.stdout.write(run.stdout);
const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(run.stdout)?.[1] ?? 0);
// uvu's Total counts the tests that ran; Skipped counts those registered with test.skip apart.
const total = count('Total');
const passed = count('Passed');
const skipped = count('Skipped');
const linesAfter = (prefix: string) =>
  run.stdout
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
const hookFailures = linesAfter(HOOK_FAILED);
// A before hook's tests count as failed already (they did not pass); an after hook's error is one more.
const failed = total - passed + hookFailures.filter((hook) => / after(\.each)? hook: /.test(hook)).length;
const summarised = /\n\s*Total:\s+\d+/.test(run.stdout);
const ok = run.status === 0 && summarised && total > 0 && failed === 0 && hookFailures.length === 0;
const reasons = linesAfter(SKIP_LINE);
if (reasons.length) console.log(`\nskipped here (CI runs them):\n${reasons.map((r) => `  - ${r}`).join('\n')}`);
if (hookFailures.length)
  console.log(`\nhooks that threw (a before hook's suite did not run; an after hook's ran):\n${hookFailures.map((h) => `  - ${h}`).join('\n')}`);
if (!summarised) console.log('\nuvu stopped before its summary: a test file threw while loading (its error is above)');
console.log(`${passed} passed, ${ok ? failed : Math.max(failed, 1)} failed, ${skipped} skipped`);
if (total === 0) console.error('no test ran');
process.exit(ok ? 0 : 1);
