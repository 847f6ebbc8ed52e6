// The API server's spans as bench:cluster reads them (bench/spans.ts), without a cluster: the
// lines otlp-spans writes, the creations the bench traced, the webhook call's parts.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CALL_SPAN, readSpans, type SpanLine, spansOffset, summarizeSpans, traceparent, tracingFlags } from '../bench/spans';

const BASE = 1_780_000_000_000_000_000n; // Unix ns, past a double's exact range
const at = (ms: number) => String(BASE + BigInt(Math.round(ms * 1e6)));

/** One traced creation: the API server's root span, the webhook call with its events, and the HTTP client span inside it. */
function creation(
  trace: string,
  webhook: string | undefined,
  call?: { start: number; completed: number; applied?: number; http: [number, number] },
): SpanLine[] {
  const spans: SpanLine[] = [
    { trace, span: `${trace}-root`, parent: 'client-span', name: '/api/v1/namespaces/{:namespace}/pods', startNs: at(0), endNs: at(10) },
  ];
  if (webhook && call) {
    const events = [{ name: 'Request completed', ns: at(call.completed) }, ...(call.applied ? [{ name: 'Patch applied', ns: at(call.applied) }] : [])];
    spans.push({
      trace,
      span: `${trace}-call`,
      parent: `${trace}-root`,
      name: CALL_SPAN,
      startNs: at(call.start),
      endNs: at(9),
      attributes: { webhook },
      events,
    });
    spans.push({ trace, span: `${trace}-http`, parent: `${trace}-call`, name: 'HTTP POST', startNs: at(call.http[0]), endNs: at(call.http[1]) });
  }
  return spans;
}

test('a traced creation: its whole time, the call to the pods, the HTTP exchange and the patch, for its webhook only', () => {
  const spans = [
    ...creation('t1', 'ours.example', { start: 1, completed: 4, applied: 5.5, http: [1.2, 3.8] }),
    ...creation('t2', 'ours.example', { start: 2, completed: 3, applied: 4, http: [2.1, 2.9] }),
    // Another webhook's call in the same creation, and a trace the bench did not send.
    ...creation('t3', 'other.example', { start: 1, completed: 2, http: [1, 2] }),
    ...creation('t9', 'ours.example', { start: 0, completed: 100, applied: 200, http: [0, 100] }),
  ];
  const summary = summarizeSpans(spans, new Set(['t1', 't2', 't3', 't4']), 'ours.example');
  assert.is(summary.traced, 4);
  assert.is(summary.received, 3, 't4 never came back');
  assert.is(summary.calls, 2);
  assert.equal(summary.createMs, { p50: 10, mean: 10, max: 10 });
  assert.equal(summary.callMs, { p50: 1, mean: 2, max: 3 });
  assert.ok(Math.abs((summary.httpMs?.mean ?? 0) - 1.7) < 1e-9, JSON.stringify(summary.httpMs));
  assert.equal(summary.patchMs, { p50: 1, mean: 1.25, max: 1.5 });
});

test('no webhook: the creations are timed, no call is counted; no patch: no patch time', () => {
  const none = summarizeSpans(creation('a', undefined), new Set(['a']), undefined);
  assert.equal(none, { traced: 1, received: 1, calls: 0, createMs: { p50: 10, mean: 10, max: 10 } });
  const noop = summarizeSpans(creation('b', 'noop.example', { start: 1, completed: 2, http: [1, 2] }), new Set(['b']), 'noop.example');
  assert.is(noop.calls, 1);
  assert.is(noop.patchMs, undefined);
});

test("the traced creations' etcd writes: a stall shows in their max; another trace's write does not count", () => {
  const txn = (trace: string, from: number, to: number): SpanLine => ({
    trace,
    span: `${trace}-txn-${from}`,
    parent: `${trace}-root`,
    name: 'etcdserverpb.KV/Txn',
    startNs: at(from),
    endNs: at(to),
  });
  const spans = [...creation('a', undefined), txn('a', 5, 6), ...creation('b', undefined), txn('b', 5, 1205), txn('z', 0, 5000)];
  const summary = summarizeSpans(spans, new Set(['a', 'b']), undefined);
  assert.equal(summary.storeMs, { p50: 1, mean: 600.5, max: 1200 });
  assert.is(summarizeSpans(creation('c', undefined), new Set(['c']), undefined).storeMs, undefined);
});

test('the spans file is read from an offset, a line still being written left for later', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-spans-'));
  try {
    const file = join(dir, 'spans.jsonl');
    assert.equal(readSpans(file, 0), [], 'no file yet');
    const [first, second] = creation('x', undefined).concat(creation('y', undefined));
    appendFileSync(file, `${JSON.stringify(first)}\n`);
    const offset = spansOffset(file);
    const line = JSON.stringify(second);
    appendFileSync(file, line.slice(0, 20));
    assert.equal(readSpans(file, offset), []);
    appendFileSync(file, `${line.slice(20)}\n`);
    assert.equal(readSpans(file, offset), [second]);
    assert.equal(readSpans(file, 0), [first, second]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the API server follows the bench traceparent only, sampling nothing of its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-spans-'));
  try {
    const [flag] = tracingFlags(dir, '127.0.0.1:4317');
    const file = flag.replace('--tracing-config-file=', '');
    const config = readFileSync(file, 'utf8');
    assert.match(config, /^kind: TracingConfiguration$/m);
    assert.match(config, /^endpoint: 127\.0\.0\.1:4317$/m);
    assert.match(config, /^samplingRatePerMillion: 0$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const one = traceparent();
  const two = traceparent();
  assert.match(one.header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'W3C, sampled');
  assert.is(one.header.split('-')[1], one.trace);
  assert.is.not(one.trace, two.trace);
});

test.run();
