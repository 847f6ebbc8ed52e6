// The API server's own spans for the webhook call, collected locally. kube-apiserver exports
// its traces over OTLP/gRPC only; otlp-spans (e2e/tools/cmd/otlp-spans, built by npm run tools)
// receives them and writes one JSON line per span. The API server samples nothing of its own
// (samplingRatePerMillion 0) and follows a sampled parent only from a privileged client: the
// bench's steady creations, sent as system:masters, carry a W3C traceparent on every
// SPAN_EVERY-th pod. So only those creations are traced, in every setup alike, and the
// controllers, the kubelet and the bursts add no span and no tracing cost.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFrom } from './audit';

/** One creation in this many of a steady turn is traced. */
export const SPAN_EVERY = 4;

/** The span the mutating admission dispatcher opens around each webhook call, and its events. */
export const CALL_SPAN = 'Call mutating webhook';
const REQUEST_COMPLETED = 'Request completed';
const PATCH_APPLIED = 'Patch applied';
/** etcd's client span of a write: the pod stored. */
const ETCD_TXN = 'etcdserverpb.KV/Txn';

export interface SpanLine {
  trace: string;
  span: string;
  parent?: string;
  name: string;
  startNs: string;
  endNs: string;
  attributes?: Record<string, string>;
  events?: Array<{ name: string; ns: string }>;
}

/** The kube-apiserver flag and the TracingConfiguration file it names. */
export function tracingFlags(dir: string, endpoint: string): string[] {
  const file = join(dir, 'bench-tracing.yaml');
  writeFileSync(file, `apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nendpoint: ${endpoint}\nsamplingRatePerMillion: 0\n`);
  return [`--tracing-config-file=${file}`];
}

/** A sampled W3C traceparent with a fresh trace id. */
export function traceparent(): { header: string; trace: string } {
  const trace = randomBytes(16).toString('hex');
  return { header: `00-${trace}-${randomBytes(8).toString('hex')}-01`, trace };
}

export interface SpanReceiver {
  endpoint: string;
  file: string;
  stop(): void;
}

/** Starts otlp-spans on `port`, writing to `dir`/spans.jsonl; stop() ends that process only. */
export function startSpanReceiver(binary: string, dir: string, port: number): SpanReceiver {
  const endpoint = `127.0.0.1:${port}`;
  const file = join(dir, 'spans.jsonl');
  const child: ChildProcess = spawn(binary, ['-listen', endpoint, '-out', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { endpoint, file, stop: () => void (child.exitCode === null && child.kill('SIGTERM')) };
}

/** Where the spans file ends now: a turn reads what was written after it. */
export const spansOffset = (file: string) => (existsSync(file) ? statSync(file).size : 0);

export function readSpans(file: string, offset: number): SpanLine[] {
  // A line still being written (no newline yet) is left for the next read.
  return readFrom(file, offset)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SpanLine);
}

/** Milliseconds between two Unix-nanosecond strings (BigInt: they pass a double's exact range). */
const msBetween = (fromNs: string, toNs: string) => Number(BigInt(toNs) - BigInt(fromNs)) / 1e6;

export interface Spread {
  p50: number;
  mean: number;
  max: number;
}
const spread = (values: number[]): Spread | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.floor((sorted.length - 1) / 2)], mean: values.reduce((a, b) => a + b, 0) / values.length, max: sorted[sorted.length - 1] };
};

/** What the API server's spans say of one turn's traced creations. */
export interface SpanSummary {
  /** Creations sent with a sampled traceparent. */
  traced: number;
  /** Of those, how many the API server's root span came back for. */
  received: number;
  /** The API server's whole time per traced creation (its root span). */
  createMs?: Spread;
  /** Calls to the setup's webhook among them (its "Call mutating webhook" spans). */
  calls: number;
  /** From the call's start to the answer decoded ("Request completed"): the round trip to the pods. */
  callMs?: Spread;
  /** The HTTP client's own span inside the call: the request on the wire and the answer read. */
  httpMs?: Spread;
  /** "Request completed" to "Patch applied": the patch decoded, applied, and the pod decoded again. */
  patchMs?: Spread;
  /** The traced creations' etcd transactions (the pod stored): where a stall of etcd's shows. */
  storeMs?: Spread;
}

/** The turn's spans, for the traces it sent and the setup's webhook (undefined: no webhook). */
export function summarizeSpans(spans: SpanLine[], traces: ReadonlySet<string>, webhook: string | undefined): SpanSummary {
  const ours = spans.filter((s) => traces.has(s.trace));
  // The client's traceparent names a parent the API server never sends: a trace's root is its
  // earliest span whose parent is not among the spans received.
  const received = new Set(ours.map((s) => `${s.trace}/${s.span}`));
  const rootsByTrace = new Map<string, SpanLine>();
  for (const s of ours) {
    if (s.parent && received.has(`${s.trace}/${s.parent}`)) continue;
    const seen = rootsByTrace.get(s.trace);
    if (!seen || BigInt(s.startNs) < BigInt(seen.startNs)) rootsByTrace.set(s.trace, s);
  }
  const childrenOf = new Map<string, SpanLine[]>();
  for (const s of ours) {
    if (!s.parent) continue;
    const key = `${s.trace}/${s.parent}`;
    const siblings = childrenOf.get(key);
    if (siblings) siblings.push(s);
    else childrenOf.set(key, [s]);
  }
  const calls = webhook === undefined ? [] : ours.filter((s) => s.name === CALL_SPAN && s.attributes?.webhook === webhook);
  const eventAt = (span: SpanLine, name: string) => span.events?.find((e) => e.name === name)?.ns;
  const callMs: number[] = [];
  const httpMs: number[] = [];
  const patchMs: number[] = [];
  for (const call of calls) {
    const completed = eventAt(call, REQUEST_COMPLETED);
    if (completed) callMs.push(msBetween(call.startNs, completed));
    const applied = eventAt(call, PATCH_APPLIED);
    if (completed && applied) patchMs.push(msBetween(completed, applied));
    for (const child of childrenOf.get(`${call.trace}/${call.span}`) ?? []) httpMs.push(msBetween(child.startNs, child.endNs));
  }
  const summary: SpanSummary = { traced: traces.size, received: rootsByTrace.size, calls: calls.length };
  const put = (key: 'createMs' | 'callMs' | 'httpMs' | 'patchMs' | 'storeMs', values: number[]) => {
    const s = spread(values);
    if (s) summary[key] = s;
  };
  put(
    'createMs',
    [...rootsByTrace.values()].map((root) => msBetween(root.startNs, root.endNs)),
  );
  put('callMs', callMs);
  put('httpMs', httpMs);
  put('patchMs', patchMs);
  put(
    'storeMs',
    ours.filter((s) => s.name === ETCD_TXN).map((s) => msBetween(s.startNs, s.endNs)),
  );
  return summary;
}
