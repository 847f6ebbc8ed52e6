// What our webhook pods' logs (kept by bench:cluster in bench/cluster-logs/) say about a turn:
// the time inside the webhook per admission (each log line's durationMs), and, at a steady rate,
// how long after the client sent a creation the webhook answered it. Pod i of a steady turn is
// due at the turn's start + i / rate, so a delay the same on both pods at the same moment lies
// upstream of them (client, API server, the machine), and one on a single pod lies in that pod.
import { at, quantiles, type Row } from './cluster-report';

export interface AdmissionLine {
  /** When the webhook logged its answer, ms since the epoch. */
  atMs: number;
  /** The log's file: one per webhook pod. */
  source: string;
  namespace: string;
  pod: string;
  durationMs: number;
  /** From the request's headers to the answer written (logs from before it was logged have none). */
  servedMs?: number;
}

/** The JSON entries of one pod's log (`kubectl logs --timestamps`: a stamp, then a line); other lines and broken JSON are skipped. */
function logEntries(text: string): Record<string, any>[] {
  const entries: Record<string, any>[] = [];
  for (const line of text.split('\n')) {
    const json = line.slice(line.indexOf(' ') + 1);
    if (!json.startsWith('{')) continue;
    try {
      entries.push(JSON.parse(json));
    } catch {
      continue;
    }
  }
  return entries;
}

/** Our admission lines of one pod's log. */
export function readAdmissionLines(text: string, source: string): AdmissionLine[] {
  return logEntries(text)
    .filter((entry) => entry.msg === 'admission' && entry.time && typeof entry.durationMs === 'number')
    .map((entry) => {
      const admission: AdmissionLine = {
        atMs: Date.parse(entry.time),
        source,
        namespace: entry.namespace ?? '',
        pod: entry.pod ?? '',
        durationMs: entry.durationMs,
      };
      if (typeof entry.servedMs === 'number') admission.servedMs = entry.servedMs;
      return admission;
    });
}

export interface WebhookView {
  admissions: number;
  /** Quantiles (QUANTILES) of the time inside the webhook. */
  handlerMs: number[];
  /** Quantiles of the time from the request's headers to the answer written. */
  servedMs?: number[];
  /** Steady turns: quantiles of answered-by-the-webhook minus sent-by-the-client. */
  answeredAfterSendMs?: number[];
  /** Steady turns: for each second of the turn, the median of that delay on each pod's log. */
  perSecond?: { second: number; medianMs: Record<string, number>; count: Record<string, number> }[];
}

const STEADY = /^steady (\d+)\/s/;

/** The webhook's view of one turn of ours: its admissions in the turn's namespace and time. */
export function webhookView(row: Row, lines: AdmissionLine[], namespace: string): WebhookView | undefined {
  if (!row.started || !row.ended) return undefined;
  const start = Date.parse(row.started);
  // The webhook answers before the client hears back: a second after the end is enough.
  const mine = lines.filter((line) => line.namespace === namespace && line.atMs >= start && line.atMs <= Date.parse(row.ended!) + 1000);
  const view: WebhookView = { admissions: mine.length, handlerMs: quantiles(mine.map((line) => line.durationMs)) };
  const served = mine.flatMap((line) => (line.servedMs === undefined ? [] : [line.servedMs]));
  if (served.length) view.servedMs = quantiles(served);
  const rate = Number(STEADY.exec(row.workload)?.[1]);
  if (!rate) return view;
  // Steady pods are named <prefix>-<i>: the i-th is sent at start + i / rate.
  const delays = mine.map((line) => {
    const index = Number(line.pod.slice(line.pod.lastIndexOf('-') + 1));
    return { line, index, delay: line.atMs - (start + (index * 1000) / rate) };
  });
  view.answeredAfterSendMs = quantiles(delays.map((d) => d.delay));
  const seconds = new Map<number, Map<string, number[]>>();
  for (const { line, index, delay } of delays) {
    const second = Math.floor(index / rate);
    const bySource = seconds.get(second) ?? new Map<string, number[]>();
    bySource.set(line.source, [...(bySource.get(line.source) ?? []), delay]);
    seconds.set(second, bySource);
  }
  view.perSecond = [...seconds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, bySource]) => ({
      second,
      medianMs: Object.fromEntries([...bySource].map(([source, values]) => [source, at(quantiles(values), 0.5)!])),
      count: Object.fromEntries([...bySource].map(([source, values]) => [source, values.length])),
    }));
  return view;
}

/** The calls a webhook's pods served in a turn, and their mean time there (Row.served). */
export type Served = NonNullable<Row['served']>;

/** Our pods' admissions of a turn (its namespace, started to a second after ended) with servedMs. */
export function oursServed(row: Row, lines: AdmissionLine[], namespace: string): Served | undefined {
  if (!row.started || !row.ended) return undefined;
  const start = Date.parse(row.started);
  const end = Date.parse(row.ended) + 1000;
  const times = lines
    .filter((line) => line.namespace === namespace && line.atMs >= start && line.atMs <= end && line.servedMs !== undefined)
    .map((line) => line.servedMs!);
  return times.length ? { calls: times.length, meanMs: times.reduce((a, b) => a + b, 0) / times.length } : undefined;
}

/** One of the no-op pods' totals lines (bench/cluster.ts NOOP_SERVER): calls and ms so far, per path. */
export interface ServedTotals {
  atMs: number;
  source: string;
  noop: { calls: number; ms: number };
  replay: { calls: number; ms: number };
}

export function readServedTotals(text: string, source: string): ServedTotals[] {
  return logEntries(text)
    .filter((entry) => entry.msg === 'served' && entry.time && entry.noop && entry.replay)
    .map((entry) => ({ atMs: Date.parse(entry.time), source, noop: entry.noop, replay: entry.replay }));
}

/**
 * A no-op or replay turn's calls and mean time in the no-op pods: each pod's totals at the end
 * (printed within a second of a change; the bench waits longer before the next turn) less its
 * totals before the start.
 */
export function noopServed(row: Row, totals: ServedTotals[], path: 'noop' | 'replay'): Served | undefined {
  if (!row.started || !row.ended) return undefined;
  const start = Date.parse(row.started);
  const end = Date.parse(row.ended) + 2000;
  let calls = 0;
  let ms = 0;
  for (const source of new Set(totals.map((each) => each.source))) {
    const mine = totals.filter((each) => each.source === source);
    const last = (until: number) => mine.filter((each) => each.atMs <= until).at(-1)?.[path] ?? { calls: 0, ms: 0 };
    const before = last(start);
    const after = last(end);
    calls += after.calls - before.calls;
    ms += after.ms - before.ms;
  }
  return calls > 0 ? { calls, meanMs: ms / calls } : undefined;
}
