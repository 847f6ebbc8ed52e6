// The printed report: tables with ratios to the floors and to the functions-framework no-op,
// and each target of issue 12 with the figure measured against it, met or not.
import type { ColdStart } from './coldstart';
import type { CoreRow } from './core';
import type { HttpRow, HTTP_LOAD } from './http';
import type { MemoryResult } from './memory';
import type { MetricsCost, METRICS_COST_LOAD } from './metrics-cost';

export interface Results {
  date: string;
  machine: { nproc: number; cpu: string; node: string; platform: string; node20?: string };
  body: { fixture: string; bytes: number };
  load: object;
  core: CoreRow[];
  http: HttpRow[];
  metricsCost?: MetricsCost & { load: typeof METRICS_COST_LOAD };
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

/** The linearity check of the core: per KB of body, the largest pod of an axis costs at most
 * 1.5x what the middle one does (a cost growing faster than the pod would show as a rising ratio). */
function linearity(rows: CoreRow[]) {
  const perKb = (row: CoreRow) => row.coreUs / (row.bodyBytes / 1024);
  return (['containers', 'env'] as const).map((axis) => {
    const onAxis = rows.filter((row) => row.axis === axis);
    const [middle, largest] = onAxis.slice(-2);
    return { axis, ratio: perKb(largest) / perKb(middle), largest };
  });
}

/** The targets of issue 12, each measured in this run against the floor it is relative to. */
export function targets(r: Results) {
  const byKey = Object.fromEntries(r.http.map((h) => [h.key, h]));
  const typical = r.core[0];
  const throughput = byKey.webhook_http.saturation.reqPerSec / byKey.floor.saturation.reqPerSec;
  const p99Http = byKey.webhook_http.light.p99Ms / byKey.floor.light.p99Ms;
  const p99Https = byKey.webhook_https.light.p99Ms / byKey.floor_https.light.p99Ms;
  const [image, hello] = r.coldStart.entries;
  const lines = linearity(r.core);
  const cost = r.metricsCost;
  return [
    ...(cost
      ? [
          {
            target: `webhook CPU per admission, metrics on vs off (bench-only build), median of ${cost.ratioByRound.length} A/B rounds`,
            want: '<= 1.05x',
            got: `${f(cost.medianRatio, 3)}x (rounds ${cost.ratioByRound.map((x) => f(x, 2)).join(' ')})`,
            ok: cost.medianRatio <= 1.05,
          },
        ]
      : []),
    {
      target: 'req/s, typical review, 10 connections, HTTP, vs node:http floor',
      want: '>= 0.35x',
      got: `${f(throughput, 2)}x (${f(byKey.webhook_http.saturation.reqPerSec, 0)} vs ${f(byKey.floor.saturation.reqPerSec, 0)})`,
      ok: throughput >= 0.35,
    },
    {
      target: 'p99 at 100 req/s, 1 connection, HTTP, vs node:http floor',
      want: '<= 1.3x',
      got: `${f(p99Http, 2)}x (${f(byKey.webhook_http.light.p99Ms, 2)} vs ${f(byKey.floor.light.p99Ms, 2)} ms)`,
      ok: p99Http <= 1.3,
    },
    {
      target: 'p99 at 100 req/s, 1 connection, HTTPS, vs node:https floor',
      want: '<= 1.3x',
      got: `${f(p99Https, 2)}x (${f(byKey.webhook_https.light.p99Ms, 2)} vs ${f(byKey.floor_https.light.p99Ms, 2)} ms)`,
      ok: p99Https <= 1.3,
    },
    { target: `cold start to first admission, ${image.entry}`, want: '<= 150 ms', got: `${f(image.medianMs, 0)} ms`, ok: image.medianMs <= 150 },
    {
      target: `cold start, ${image.entry} vs node:http hello world`,
      want: '<= 2.5x',
      got: `${f(image.medianMs / hello.medianMs, 2)}x (${f(image.medianMs, 0)} vs ${f(hello.medianMs, 0)} ms)`,
      ok: image.medianMs <= 2.5 * hello.medianMs,
    },
    { target: 'RSS after 100,000 admissions', want: '<= 100 MB', got: `${f(r.memory.rssAt100kMb)} MB`, ok: r.memory.rssAt100kMb <= 100 },
    // "Flat": allow 10% for the allocator settling, beyond that it counts as growth.
    {
      target: 'RSS 10k -> 100k admissions',
      want: 'flat (<= +10%)',
      got: `${f(r.memory.rssAt10kMb)} -> ${f(r.memory.rssAt100kMb)} MB`,
      ok: r.memory.rssAt100kMb <= r.memory.rssAt10kMb * 1.1,
    },
    { target: 'core beyond JSON.parse, typical pod', want: '<= 30 us', got: `${f(typical.beyondParseUs)} us`, ok: typical.beyondParseUs <= 30 },
    ...lines.map((l) => ({
      target: `core linear in pod size (${l.axis}): us per KB, largest vs middle pod`,
      want: '<= 1.5x',
      got: `${f(l.ratio, 2)}x`,
      ok: l.ratio <= 1.5,
    })),
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

  const floorOf = (h: HttpRow) =>
    r.http.find((x) => x.key === (h.key.endsWith('https') ? 'floor_https' : h.key.endsWith('node20') ? 'floor_node20' : 'floor'))!;
  const ff = r.http.find((h) => h.key === 'ff_noop')!;
  const l = r.load as typeof HTTP_LOAD;
  console.log(
    `\n${r.body.fixture} body (${r.body.bytes} B), all ${r.http.length} servers up, taking turns for ${l.rounds} rounds: saturation ${l.connections} connections x ${l.saturationSec} s, light ${l.lightRatePerSec} req/s paced on ${l.lightConnections} kept-alive connection(s) x ${l.lightSec} s, to all servers side by side. "vs floor": node:https floor for HTTPS rows, node:http floor otherwise`,
  );
  table(
    [
      'server',
      'req/s',
      'req/s by round',
      'p50 ms',
      'p99 ms',
      'CPU us/req',
      '100/s p50',
      '100/s p99',
      '100/s CPU us/req',
      'idle CPU ms/s',
      'peak RSS MB',
      'req/s vs floor',
      '100/s p99 vs floor',
      'req/s vs FF',
    ],
    r.http.map((h) => [
      h.label,
      f(h.saturation.reqPerSec, 0),
      h.saturation.roundsReqPerSec.join(' '),
      f(h.saturation.p50Ms, 2),
      f(h.saturation.p99Ms, 2),
      f(h.serverCpuUsPerReq, 0),
      f(h.light.p50Ms, 2),
      f(h.light.p99Ms, 2),
      f(h.lightCpuUsPerReq ?? NaN, 0),
      f(h.idleCpuMsPerSec ?? NaN, 1),
      f(h.peakRssMb),
      f(h.saturation.reqPerSec / floorOf(h).saturation.reqPerSec, 2),
      f(h.light.p99Ms / floorOf(h).light.p99Ms, 2),
      f(h.saturation.reqPerSec / ff.saturation.reqPerSec, 2),
    ]),
  );

  const scraped = r.http.filter((h) => h.scrapedAdmissions !== undefined);
  for (const h of scraped) console.log(`${h.label}: its /metrics counted ${h.scrapedAdmissions} admissions; the clients saw ${h.answered} 2xx answers`);
  if (r.metricsCost) {
    const c = r.metricsCost;
    console.log(
      `\nprom-client's cost: the webhook with metrics and the bench-only build without, ${c.ratioByRound.length} rounds of ${c.load.admissionsPerRound} admissions each (${c.load.connections} connections), order alternating`,
    );
    table(
      ['round', 'metrics on CPU us/adm', 'metrics off CPU us/adm', 'on / off'],
      c.ratioByRound.map((ratio, i) => [i + 1, f(c.onUsByRound[i]), f(c.offUsByRound[i]), f(ratio, 3)]),
    );
    console.log(`median on / off: ${f(c.medianRatio, 3)}x`);
  }
  const node20 = r.http.find((h) => h.key === 'webhook_http_node20');
  if (node20) {
    const on24 = r.http.find((h) => h.key === 'webhook_http')!;
    const ratio = (h: HttpRow) => h.saturation.reqPerSec / floorOf(h).saturation.reqPerSec;
    console.log(`\nNode ${r.machine.node} vs Node ${r.machine.node20} (same bundle, same run, each against the node:http floor on its own Node)`);
    table(
      ['', 'webhook req/s', 'floor req/s', 'req/s vs floor', 'webhook CPU us/req', '100/s p99 ms', '100/s p99 vs floor', 'peak RSS MB'],
      [on24, node20].map((h) => [
        h === on24 ? `Node ${r.machine.node}` : `Node ${r.machine.node20}`,
        f(h.saturation.reqPerSec, 0),
        f(floorOf(h).saturation.reqPerSec, 0),
        f(ratio(h), 2),
        f(h.serverCpuUsPerReq, 0),
        f(h.light.p99Ms, 2),
        f(h.light.p99Ms / floorOf(h).light.p99Ms, 2),
        f(h.peakRssMb),
      ]),
    );
    console.log(
      `Node 24 / Node 20: req/s vs floor ${f(ratio(on24) / ratio(node20), 2)}x, CPU per admission ${f(on24.serverCpuUsPerReq / node20.serverCpuUsPerReq, 2)}x`,
    );
  }

  console.log(`\nCold start to first correct admission, ${r.coldStart.entries[0]?.starts} starts (node -e 0 alone: ${f(r.coldStart.nodeEmptyScriptMs, 0)} ms)`);
  table(
    ['entry', 'median ms', 'min ms', 'max ms'],
    r.coldStart.entries.map((c) => [c.entry, f(c.medianMs, 0), f(c.minMs, 0), f(c.maxMs, 0)]),
  );

  console.log(
    `\nMemory (webhook over HTTP): RSS ${f(r.memory.rssAt10kMb)} MB after 10,000 admissions, ${f(r.memory.rssAt100kMb)} MB after ${r.memory.admissions}; peak ${f(r.memory.peakRssMb)} MB`,
  );

  console.log('\nTargets (issue 12)');
  table(
    ['target', 'want', 'measured', ''],
    targets(r).map((t) => [t.target, t.want, t.got, t.ok ? 'met' : 'NOT MET']),
  );
}
