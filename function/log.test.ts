// The log line: one JSON object per line, every string field capped, flat or nested.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLogger, LOG_FIELD_MAX } from './log';

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

test.run();
