// The printed report: tables with ratios to the floor and to the functions-framework no-op,
// and each target of issue 4 with the figure measured against it.
import type { ColdStart } from './coldstart';
import type { CoreRow } from './core';
import type { HttpRow, HTTP_LOAD } from './http';
import type { MemoryResult } from './memory';

export interface Results {
  date: string;
  machine: { nproc: number; cpu: string; node: string; platform: string };
  body: { fixture: string; bytes: number };
  load: object;
  core: CoreRow[];
  http: HttpRow[];
  coldStart: { nodeEmptyScriptMs: number; entries: ColdStart[] };
  memory: MemoryResult;
  benchSeconds: number;
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function table(head: string[], rows: (string | number)[][]) {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log([line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n'));
}

/** Added µs per added container or env var, from the smallest pod on the same axis: about
 * constant down the axis when the cost grows linearly. */
function slope(row: CoreRow, rows: CoreRow[], us: (r: CoreRow) => number) {
  const first = rows.find((r) => r.axis === row.axis);
  if (!row.axis || !first || first === row || row.units === first.units) return '';
  return f((us(row) - us(first)) / (row.units! - first.units!), 2);
}

export function targets(r: Results) {
  const byKey = Object.fromEntries(r.http.map((h) => [h.key, h]));
  const typical = r.core[0];
  const ratio = (a: string, b: string) => byKey[a].saturation.reqPerSec / byKey[b].saturation.reqPerSec;
  return [
    { target: 'core beyond JSON.parse, typical pod', want: '<= 30 us', got: `${f(typical.beyondParseUs)} us`, ok: typical.beyondParseUs <= 30 },
    {
      target: 'webhook HTTP req/s vs FF no-op',
      want: '>= 0.85x',
      got: `${f(ratio('webhook_http', 'ff_noop'), 3)}x`,
      ok: ratio('webhook_http', 'ff_noop') >= 0.85,
    },
    {
      target: 'webhook HTTPS req/s vs FF no-op',
      want: '>= 0.75x',
      got: `${f(ratio('webhook_https', 'ff_noop'), 3)}x`,
      ok: ratio('webhook_https', 'ff_noop') >= 0.75,
    },
    { target: 'webhook HTTPS p99 at 100 req/s', want: '<= 3 ms', got: `${f(byKey.webhook_https.light.p99Ms, 2)} ms`, ok: byKey.webhook_https.light.p99Ms <= 3 },
    ...r.coldStart.entries.map((c) => ({ target: `cold start, ${c.entry}`, want: '<= 200 ms', got: `${f(c.medianMs, 0)} ms`, ok: c.medianMs <= 200 })),
    { target: 'RSS after 100,000 admissions', want: '<= 150 MB', got: `${f(r.memory.rssAt100kMb)} MB`, ok: r.memory.rssAt100kMb <= 150 },
    // "Not growing": allow 10% for the allocator settling, beyond that it counts as growth.
    {
      target: 'RSS 10k -> 100k admissions',
      want: 'not growing',
      got: `${f(r.memory.rssAt10kMb)} -> ${f(r.memory.rssAt100kMb)} MB`,
      ok: r.memory.rssAt100kMb <= r.memory.rssAt10kMb * 1.1,
    },
  ];
}

export function printReport(r: Results) {
  const m = r.machine;
  console.log(`\npando-webhook benchmark, ${r.date}: ${m.nproc} x ${m.cpu}, node ${m.node}, ${m.platform}\n`);
  console.log('In-process core (parse review, decide, inject, patch, serialize answer), us per admission');
  table(
    ['pod', 'body B', 'core us', 'JSON.parse us', 'beyond parse us', 'core us per added unit', 'beyond parse per unit'],
    r.core.map((c) => [
      c.pod,
      c.bodyBytes,
      f(c.coreUs),
      f(c.parseUs),
      f(c.beyondParseUs),
      slope(c, r.core, (x) => x.coreUs),
      slope(c, r.core, (x) => x.beyondParseUs),
    ]),
  );

  const floor = r.http.find((h) => h.key === 'floor')!;
  const ff = r.http.find((h) => h.key === 'ff_noop')!;
  const l = r.load as typeof HTTP_LOAD;
  console.log(
    `\nOver HTTP, ${r.body.fixture} body (${r.body.bytes} B), all four servers up, taking turns for ${l.rounds} rounds: saturation ${l.connections} connections x ${l.saturationSec} s, light ${l.lightRatePerSec} req/s paced x ${l.lightSec} s`,
  );
  table(
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req', '100/s p50', '100/s p99', 'peak RSS MB', 'req/s vs floor', 'req/s vs FF', 'p99 vs FF', 'CPU vs FF'],
    r.http.map((h) => [
      h.label,
      f(h.saturation.reqPerSec, 0),
      f(h.saturation.p50Ms, 2),
      f(h.saturation.p99Ms, 2),
      f(h.serverCpuUsPerReq, 0),
      f(h.light.p50Ms, 2),
      f(h.light.p99Ms, 2),
      f(h.peakRssMb),
      f(h.saturation.reqPerSec / floor.saturation.reqPerSec, 2),
      f(h.saturation.reqPerSec / ff.saturation.reqPerSec, 2),
      f(h.saturation.p99Ms / ff.saturation.p99Ms, 2),
      f(h.serverCpuUsPerReq / ff.serverCpuUsPerReq, 2),
    ]),
  );

  console.log(`\nCold start to first correct admission, ${r.coldStart.entries[0]?.starts} starts (node -e 0 alone: ${f(r.coldStart.nodeEmptyScriptMs, 0)} ms)`);
  table(
    ['entry', 'median ms', 'min ms', 'max ms'],
    r.coldStart.entries.map((c) => [c.entry, f(c.medianMs, 0), f(c.minMs, 0), f(c.maxMs, 0)]),
  );

  console.log(
    `\nMemory (webhook over HTTP): RSS ${f(r.memory.rssAt10kMb)} MB after 10,000 admissions, ${f(r.memory.rssAt100kMb)} MB after ${r.memory.admissions}; peak ${f(r.memory.peakRssMb)} MB`,
  );

  console.log('\nTargets (issue 4)');
  table(
    ['target', 'want', 'measured', ''],
    targets(r).map((t) => [t.target, t.want, t.got, t.ok ? 'ok' : 'MISSED']),
  );
}
