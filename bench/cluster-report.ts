// What `npm run bench:cluster` keeps of each turn, and how a run is judged: the targets of issue
// 21, each a ratio of ours to the no-op webhook within the run, and the checks that must be zero.
import type { SpanSummary } from './spans';

/**
 * No webhook, the no-op webhook served like ours, the no-op answering our patch, ours, and ours
 * with its matchCondition removed (`always`: the API server calls it for every protected pod, as
 * `webhook.skipInjected=false` installs it) (bench/cluster.ts).
 */
export const SETUPS = ['none', 'noop', 'replay', 'ours', 'always'] as const;
export type Setup = (typeof SETUPS)[number];

/**
 * The order of a round's turns: the setups (reversed in odd rounds) rotated by the round. A
 * rotation alone keeps each setup after the same one in every round, so whatever a turn leaves
 * behind (its pods' deletion still settling in the API server and etcd) always weighs on the same
 * next setup; reversing every other round gives each setup both its neighbours before it.
 */
export function turnOrder<T>(setups: readonly T[], round: number): T[] {
  const order = round % 2 ? [...setups].reverse() : setups;
  return order.map((_, i) => order[(i + round) % order.length]);
}

/** The quantiles a row keeps of its latencies (enough for the plot's distribution curves). */
export const QUANTILES = [...Array.from({ length: 100 }, (_, i) => i / 100), 0.995, 0.999, 1];

export function quantiles(values: number[]): number[] {
  if (!values.length) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return QUANTILES.map((q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]);
}

/** The value at quantile q (one of QUANTILES) of a row's kept quantiles. */
export const at = (kept: number[] | undefined, q: number) => (kept?.length ? kept[QUANTILES.indexOf(q)] : undefined);

export interface Row {
  workload: string;
  kind: 'steady' | 'burst';
  setup: Setup;
  replicas: number;
  round: number;
  pods: number;
  /** Creations the client saw fail (any answer but 201, or an error); bursts: the audit log's. */
  failures: number;
  seconds: number;
  /** The client's time per creation (steady rates only: a controller creates a burst's pods). */
  clientMs?: number[];
  /** The API server's time per creation, received to answered, from its audit log. */
  serverMs?: number[];
  /** Creations the audit log holds for the turn. */
  audited: number;
  /** The API server's mean time in the setup's webhook call, from its own histogram (sum / count). */
  apiServerMeanMs?: number;
  webhookCalls: number;
  /**
   * The API server's mean time per evaluation of the setup's matchConditions, and how many it
   * timed: its histogram records only the evaluations that skip the call (in our turns, the
   * reinvocation round's, on the pod our patch made).
   */
  matchCondition?: { meanMs: number; evaluations: number };
  /**
   * The API server's time in its mutating (admit) and validating (validate) admission steps of
   * all the turn's CREATEs, per pod created: at a steady rate the pods are almost all of them
   * (in a burst the controllers' Events and ReplicaSet add theirs). The admit step holds the
   * webhook call and both evaluations of ours' matchCondition; the validate step holds the
   * chart's safety-net policy, which covers ours' namespace only. Since 2026-12-06 16:30 UTC also
   * the mutating chain's passes per pod (the webhook plugin's admit count: 2 where a webhook
   * changed the pod, as the API server then runs the whole chain again) and the in-tree
   * mutating plugins' time per pod over those passes.
   */
  steps?: { admitMsPerPod: number; validateMsPerPod: number; admitPassesPerPod?: number; inTreeAdmitMsPerPod?: number };
  /**
   * etcd's compactions that ended during the turn (the API server asks for one every 5 minutes),
   * the time they took and the keys they removed, from etcd's own metrics (bench/cluster.ts
   * etcdCompactions): to see whether a turn's tail came with one.
   */
  etcd?: { compactions: number; compactionMs: number; keys: number };
  /** Calls the API server failed open on (its fail-open counter, and the audit log's annotations). */
  failedOpen: number;
  /** Calls rejected or errored, by the API server's rejection counter. */
  rejected: number;
  /** Pods of the turn without our sidecar (ours and the replay of our patch). */
  uninjected?: number;
  /** The setup's webhook pods' CPU (their cgroups) per call. */
  cpuMsPerCall?: number;
  /**
   * The calls the setup's webhook pods served in the turn and their mean time there, from the
   * request's headers to the answer written (their logs: bench/cluster-logs.ts). The API
   * server's mean per call less this is the call's time outside the pods.
   */
  served?: { calls: number; meanMs: number };
  /**
   * Steady rates: the API server's spans of the creations the bench traced (bench/spans.ts): the
   * webhook call's round trip, its HTTP exchange, and applying the patch, per call.
   */
  spans?: SpanSummary;
  /**
   * Per call, the time the webhook pods' threads were ready to run but waited for a CPU held by
   * the machine's other processes (the API server, etcd, the bench): on 2 cores, the cost of
   * every millisecond of CPU a call needs, paid again in waiting.
   */
  waitedMsPerCall?: number;
  /** The part of it on the pods' main threads, where the calls' JavaScript runs (the rest: V8's and libuv's helpers). */
  waitedMainMsPerCall?: number;
  /** Time the webhook pods spent held at their CPU limit during the turn. */
  throttledMs?: number;
  firstFailure?: string;
  /** When the turn's workload ran (ISO times), to find it in the webhook pods' logs. */
  started?: string;
  ended?: string;
  /** The machine's 1-minute load average at the turn's end: the run shares its 2 cores. */
  loadAverage?: number;
  /** The API server's connections to the setup's Service during the turn (bench/cluster-watch.ts). */
  connections?: { opened: number; maxEstablished: number };
  /** The machine's CPUs during the turn: the busy share of all of them, and the processes that used most. */
  machineCpu?: { busyShare: number; top: { pid: number; name: string; seconds: number }[] };
}

export interface Target {
  workload: string;
  what: string;
  want: string;
  value?: number;
  met: boolean;
  text: string;
}

export const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
};

/** The median over the rounds of top / bottom, each round's turns paired by their order. */
const pairedRatio = (tops: Row[], bottoms: Row[], value: (row: Row) => number | undefined) =>
  median(tops.map((row, i) => (bottoms[i] ? (value(row) ?? NaN) / (value(bottoms[i]) ?? NaN) : NaN)));

/** One turn's ratios to the no-op's in the same round: the replay's (the mutation alone) and ours. */
export interface FloorTurn {
  workload: string;
  replicas: number;
  round: number;
  /** p50 (client at a steady rate, audit in a burst), the replay over the no-op. */
  replayP50: number;
  oursP50?: number;
  /** The API server's mean per webhook call, the replay over the no-op. */
  replayCall?: number;
}

/**
 * The floor of the targets: in each round, what the replay (the no-op's pods answering with
 * our patch, no work of ours) costs over the no-op. Where that is above a target's limit, no
 * webhook that makes this change can meet it in that turn.
 */
export function mutationFloor(rows: Row[]): FloorTurn[] {
  const turns: FloorTurn[] = [];
  const find = (like: Row, setup: Setup) =>
    rows.find((row) => row.setup === setup && row.workload === like.workload && row.replicas === like.replicas && row.round === like.round);
  const p50 = (row: Row | undefined) => (row ? at(row.kind === 'steady' ? row.clientMs : row.serverMs, 0.5) : undefined);
  const over = (top: number | undefined, bottom: number | undefined) => (top === undefined || !bottom ? undefined : top / bottom);
  for (const noop of rows.filter((row) => row.setup === 'noop')) {
    const replay = find(noop, 'replay');
    if (!replay) continue;
    const replayP50 = over(p50(replay), p50(noop));
    if (replayP50 === undefined) continue;
    turns.push({
      workload: noop.workload,
      replicas: noop.replicas,
      round: noop.round,
      replayP50,
      oursP50: over(p50(find(noop, 'ours')), p50(noop)),
      replayCall: over(replay.apiServerMeanMs, noop.apiServerMeanMs),
    });
  }
  return turns;
}

/** Issue 21's limits on ours over the no-op: p50 and p99 of the creations, the API server's mean per call. */
export const LIMITS = { p50: 1.1, p99: 1.25, apiMean: 1.15 } as const;

/** The targets of one replica count: each ratio is the median over the run's rounds. */
export function judge(rows: Row[], replicas: number): Target[] {
  const targets: Target[] = [];
  const mine = rows.filter((row) => row.replicas === replicas);
  for (const workload of [...new Set(mine.map((row) => row.workload))]) {
    const of = (setup: Setup) => mine.filter((row) => row.workload === workload && row.setup === setup);
    const ours = of('ours');
    const noop = of('noop');
    const steady = ours[0]?.kind === 'steady';
    const source = steady ? 'client' : 'API server (audit)';
    const pick = (row: Row) => (steady ? row.clientMs : row.serverMs);
    const ratio = (value: (row: Row) => number | undefined) => pairedRatio(ours, noop, value);
    const add = (what: string, limit: number, value: number | undefined) =>
      targets.push({
        workload,
        what,
        want: `<= ${limit}x`,
        value,
        met: value !== undefined && value <= limit,
        text: value === undefined ? 'no data' : `${value.toFixed(2)}x`,
      });
    add(
      `${source} p50, ours / no-op`,
      LIMITS.p50,
      ratio((row) => at(pick(row), 0.5)),
    );
    add(
      `${source} p99, ours / no-op`,
      LIMITS.p99,
      ratio((row) => at(pick(row), 0.99)),
    );
    add(
      'API server mean per webhook call, ours / no-op',
      LIMITS.apiMean,
      ratio((row) => row.apiServerMeanMs),
    );
    const all = mine.filter((row) => row.workload === workload);
    const zero = (what: string, count: number) => targets.push({ workload, what, want: '0', value: count, met: count === 0, text: String(count) });
    zero(
      'failed or timed-out creations, every setup',
      sum(all, (row) => row.failures + row.rejected),
    );
    zero(
      'webhook calls failed open, every setup',
      sum(all, (row) => row.failedOpen),
    );
    const replay = of('replay');
    const always = of('always');
    zero(
      'pods without the sidecar, ours, always and the replay',
      sum([...ours, ...always, ...replay], (row) => row.uninjected ?? 0),
    );
    zero(
      'pods the webhook was not called for, every webhook',
      sum([...ours, ...always, ...noop, ...replay], (row) => Math.max(0, row.pods - row.webhookCalls)),
    );
    // The switch between them reached the API server before each turn, or the turn is not what it says.
    if (always.length) {
      zero(
        'matchCondition evaluations in the turns without one (always)',
        sum(always, (row) => row.matchCondition?.evaluations ?? 0),
      );
      zero(
        "ours' creations without the matchCondition's evaluation",
        sum(ours, (row) => Math.max(0, row.pods - (row.matchCondition?.evaluations ?? 0))),
      );
    }
  }
  return targets;
}

export interface Share {
  workload: string;
  what: string;
  /** Median over the rounds of the ratio, each round's turns paired. */
  ratio?: number;
}

/**
 * Where ours' extra time goes (no target: for reading the targets): the replay over the no-op is
 * what storing the injected pod costs the API server, which any webhook making this change pays;
 * ours over the replay is our webhook's own work and answer.
 */
export function shares(rows: Row[], replicas: number): Share[] {
  const mine = rows.filter((row) => row.replicas === replicas);
  const out: Share[] = [];
  for (const workload of [...new Set(mine.map((row) => row.workload))]) {
    const of = (setup: Setup) => mine.filter((row) => row.workload === workload && row.setup === setup);
    const steady = of('ours')[0]?.kind === 'steady';
    const p50 = (row: Row) => at(steady ? row.clientMs : row.serverMs, 0.5);
    const ratio = (top: Setup, bottom: Setup, value: (row: Row) => number | undefined) => pairedRatio(of(top), of(bottom), value);
    const source = steady ? 'client' : 'API server (audit)';
    out.push({ workload, what: `${source} p50, replay / no-op (the mutation)`, ratio: ratio('replay', 'noop', p50) });
    out.push({ workload, what: `${source} p50, ours / replay (our webhook)`, ratio: ratio('ours', 'replay', p50) });
    out.push({ workload, what: 'API server mean per call, ours / replay', ratio: ratio('ours', 'replay', (row) => row.apiServerMeanMs) });
    out.push({ workload, what: 'time per call in the pods, ours / replay', ratio: ratio('ours', 'replay', (row) => row.served?.meanMs) });
    out.push({ workload, what: 'time per call outside the pods, ours / replay', ratio: ratio('ours', 'replay', outsideThePodsMs) });
    if (steady) {
      out.push({ workload, what: 'spans: the call, p50, replay / no-op', ratio: ratio('replay', 'noop', (row) => row.spans?.callMs?.p50) });
      out.push({ workload, what: 'spans: the call, p50, ours / replay', ratio: ratio('ours', 'replay', (row) => row.spans?.callMs?.p50) });
      out.push({ workload, what: 'spans: applying the patch, p50, ours / replay', ratio: ratio('ours', 'replay', (row) => row.spans?.patchMs?.p50) });
    }
    out.push({ workload, what: 'CPU per call in the pods, ours / replay', ratio: ratio('ours', 'replay', (row) => row.cpuMsPerCall) });
    out.push({ workload, what: 'wait for a CPU per call in the pods, ours / replay', ratio: ratio('ours', 'replay', (row) => row.waitedMsPerCall) });
    out.push({ workload, what: 'the same, main threads only, ours / replay', ratio: ratio('ours', 'replay', (row) => row.waitedMainMsPerCall) });
    out.push({ workload, what: 'validating admission step per pod, ours / replay', ratio: ratio('ours', 'replay', (row) => row.steps?.validateMsPerPod) });
    out.push({ workload, what: 'in-tree mutating plugins per pod, replay / no-op', ratio: ratio('replay', 'noop', (row) => row.steps?.inTreeAdmitMsPerPod) });
    out.push({ workload, what: 'API server CPU per creation, replay / no-op', ratio: ratio('replay', 'noop', apiServerCpuMsPerPod) });
    out.push({ workload, what: 'API server CPU per creation, ours / replay', ratio: ratio('ours', 'replay', apiServerCpuMsPerPod) });
    if (of('always').length) {
      out.push({ workload, what: `${source} p50, always / ours (no matchCondition)`, ratio: ratio('always', 'ours', p50) });
      out.push({ workload, what: `${source} p50, always / no-op`, ratio: ratio('always', 'noop', p50) });
      out.push({ workload, what: 'API server CPU per creation, always / ours', ratio: ratio('always', 'ours', apiServerCpuMsPerPod) });
      out.push({ workload, what: 'mutating admission step per pod, always / ours', ratio: ratio('always', 'ours', (row) => row.steps?.admitMsPerPod) });
    }
  }
  return out;
}

/** The API server's spans of each steady turn's traced creations (Row.spans). */
export function printSpans(rows: Row[]) {
  const traced = rows.filter((row) => row.spans);
  if (traced.length === 0) return;
  console.log("\nthe API server's spans of the traced creations (p50 / mean ms)");
  console.log(
    'workload                                  replicas setup   traced  received  calls  creation      call          HTTP          patch         etcd Txn (max)',
  );
  const pair = (spread: SpanSummary['callMs']) => (spread ? `${ms(spread.p50)} / ${ms(spread.mean)}` : '-').padEnd(13);
  for (const row of traced) {
    const spans = row.spans as SpanSummary;
    console.log(
      [
        row.workload.padEnd(41),
        String(row.replicas).padStart(8),
        row.setup.padEnd(6),
        String(spans.traced).padStart(6),
        String(spans.received).padStart(8),
        String(spans.calls).padStart(5),
        pair(spans.createMs),
        pair(spans.callMs),
        pair(spans.httpMs),
        pair(spans.patchMs),
        spans.storeMs ? `${ms(spans.storeMs.p50)} / ${ms(spans.storeMs.mean)} (${ms(spans.storeMs.max)})` : '-',
      ].join('  '),
    );
  }
}

export function printShares(list: Share[], replicas: number) {
  console.log(`
where the time goes, ${replicas} replicas each (no target):`);
  for (const share of list)
    console.log(`  ${share.workload.padEnd(41)} ${share.what.padEnd(54)} ${share.ratio === undefined ? 'no data' : `${share.ratio.toFixed(2)}x`}`);
}

/** The API server's mean per call less the pods' own mean: the connection, TLS and the API server's side of the call. */
export function outsideThePodsMs(row: Row): number | undefined {
  return row.apiServerMeanMs !== undefined && row.served ? row.apiServerMeanMs - row.served.meanMs : undefined;
}

/** kube-apiserver's CPU over the turn per pod created (its background work included: a ratio between setups is what it says). */
export function apiServerCpuMsPerPod(row: Row): number | undefined {
  const apiServer = row.machineCpu?.top.find((process) => /\/kube-apiserver /.test(`${process.name} `));
  return apiServer && row.pods > 0 ? (apiServer.seconds / row.pods) * 1000 : undefined;
}

const sum = (rows: Row[], value: (row: Row) => number) => rows.reduce((total, row) => total + value(row), 0);

const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(1));

export function printRows(rows: Row[]) {
  console.log(
    '\nworkload                                  replicas setup   pods  fail  p50 ms  p99 ms  max ms  server p50/p99 ms  pods/s  API mean ms  pod ms/call  CPU ms/call  wait ms/call (main)  throttled ms  match ms  admit/validate ms  passes (in-tree ms)  API CPU ms/pod  etcd compactions (ms)',
  );
  for (const row of rows) {
    const client = row.clientMs;
    console.log(
      [
        row.workload.padEnd(41),
        String(row.replicas).padStart(8),
        row.setup.padEnd(6),
        String(row.pods).padStart(5),
        String(row.failures + row.rejected + row.failedOpen + (row.uninjected ?? 0)).padStart(5),
        ms(at(client, 0.5)).padStart(7),
        ms(at(client, 0.99)).padStart(7),
        ms(at(client, 1)).padStart(7),
        `${ms(at(row.serverMs, 0.5))} / ${ms(at(row.serverMs, 0.99))}`.padStart(18),
        (row.pods / row.seconds).toFixed(0).padStart(7),
        ms(row.apiServerMeanMs).padStart(12),
        (row.served ? row.served.meanMs.toFixed(2) : '-').padStart(12),
        ms(row.cpuMsPerCall).padStart(12),
        (row.waitedMsPerCall === undefined ? '-' : `${row.waitedMsPerCall.toFixed(2)} (${row.waitedMainMsPerCall?.toFixed(2) ?? '-'})`).padStart(20),
        ms(row.throttledMs).padStart(13),
        (row.matchCondition ? row.matchCondition.meanMs.toFixed(3) : '-').padStart(9),
        (row.steps ? `${row.steps.admitMsPerPod.toFixed(2)} / ${row.steps.validateMsPerPod.toFixed(2)}` : '-').padStart(19),
        (row.steps?.admitPassesPerPod === undefined
          ? '-'
          : `${row.steps.admitPassesPerPod.toFixed(2)} (${row.steps.inTreeAdmitMsPerPod?.toFixed(2) ?? '-'})`
        ).padStart(20),
        ms(apiServerCpuMsPerPod(row)).padStart(15),
        (row.etcd ? `${row.etcd.compactions} (${row.etcd.compactionMs.toFixed(0)})` : '-').padStart(22),
      ].join(' '),
    );
  }
}

export function printTargets(targets: Target[], replicas: number) {
  console.log(`\ntargets (issue 21), ${replicas} replicas each, ratios within this run:`);
  for (const target of targets) {
    console.log(
      `  ${target.workload.padEnd(41)} ${target.what.padEnd(52)} ${target.want.padEnd(8)} ${target.text.padStart(7)}  ${target.met ? 'met' : 'NOT MET'}`,
    );
  }
}
