// The log line: one JSON object per line, every string field capped, flat or nested; stdout's
// lines batched per turn of the event loop, and written on exit.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchedWriter, jsonLogger, LOG_BATCH_MAX_CHARS, LOG_FIELD_MAX } from './log';

const lines: string[] = [];
const log = jsonLogger((line) => void lines.push(line));

test('one JSON line with time, level, msg and the fields, undefined fields left out', () => {
  lines.length = 0;
  log('info', 'admission', { uid: 'u1', decision: 'skip', mode: undefined, patchOps: 3 });
  assert.is(lines.length, 1);
  assert.ok(lines[0].endsWith('}\n'));
  const { time, ...rest } = JSON.parse(lines[0]);
  assert.equal(rest, { level: 'info', msg: 'admission', uid: 'u1', decision: 'skip', patchOps: 3 });
  assert.ok(!Number.isNaN(Date.parse(time)));
});

test('long strings are capped, at the top level and nested', () => {
  lines.length = 0;
  const huge = 'h'.repeat(100_000);
  log('warn', 'x', { uid: huge });
  log('warn', 'x', { nested: { deeper: [huge] } });
  assert.is(JSON.parse(lines[0]).uid, `${'h'.repeat(LOG_FIELD_MAX)}…`);
  assert.is(JSON.parse(lines[1]).nested.deeper[0], `${'h'.repeat(LOG_FIELD_MAX)}…`);
  assert.ok(lines.every((l) => l.length < 1000));
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('lines of one turn go out in one write, in order, at the end of the turn', async () => {
  const writes: string[] = [];
  const write = batchedWriter(
    (text) => void writes.push(text),
    () => {},
  );
  write('a\n');
  write('b\n');
  assert.equal(writes, [], 'nothing is written inside the turn');
  await nextTurn();
  assert.equal(writes, ['a\nb\n']);
  write('c\n');
  await nextTurn();
  assert.equal(writes, ['a\nb\n', 'c\n'], 'the next turn is its own write');
});

test('a turn that logs more than the batch holds writes at once', async () => {
  const writes: string[] = [];
  const write = batchedWriter(
    (text) => void writes.push(text),
    () => {},
  );
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < LOG_BATCH_MAX_CHARS / 1024; i++) write(line);
  assert.is(writes.length, 1, 'written when the batch is full, inside the turn');
  write('tail\n');
  await nextTurn();
  assert.equal(writes.slice(1), ['tail\n']);
});

test('lines held at process.exit, or at an uncaught error, are written', () => {
  const logModule = join(__dirname, 'log.js');
  /** The messages a child process logs before it ends with `end`, whatever its exit code. */
  const loggedBefore = (end: string) => {
    const script = `const { jsonLogger } = require(${JSON.stringify(logModule)}); const log = jsonLogger(); log('info', 'first'); log('info', 'last'); ${end}`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).msg);
  };
  assert.equal(loggedBefore('process.exit(0)'), ['first', 'last']);
  assert.equal(loggedBefore("throw new Error('boom')"), ['first', 'last']);
});

test.run();
