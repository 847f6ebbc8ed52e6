// The one load generator (soak, process tests, benchmark): N kept-alive connections POSTing
// reviews back to back, or paced at a rate, each answer compared byte for byte with the answer it
// must get when one is given. Bounded by a request count, a duration and a stop() call,
// whichever comes first. Latencies optionally go into a histogram (microseconds).
import http from 'node:http';
import https from 'node:https';
import type { RecordableHistogram } from 'node:perf_hooks';

/** A request body, and the exact answer it must get (any 200 when absent). */
export interface Body {
  text: string;
  expected?: string;
}

export interface LoadOptions {
  url: string;
  agent: http.Agent;
  connections: number;
  /** The i-th request's body and the exact answer it must get. */
  bodyFor(i: number): Body;
  maxRequests: number;
  maxMs: number;
  /** Called as each answer starts, while its socket is attached (e.g. to read the TLS certificate). */
  onAnswer?(res: http.IncomingMessage): void;
  /** Paced: request i is sent at start + i/ratePerSec (else back to back). */
  ratePerSec?: number;
  /** Records each answered request's latency, in microseconds. */
  histogram?: RecordableHistogram;
}

export interface LoadRun {
  promise: Promise<LoadResult>;
  stop(): void;
  /** Requests sent and not yet answered or failed. */
  inFlight(): number;
  sent(): number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  wrong: number;
  errors: Record<string, number>;
  ms: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  requestsPerSecond: number;
  firstWrong?: string;
}

function send(options: LoadOptions, body: Body): Promise<{ ok: boolean; detail?: string }> {
  const url = new URL(options.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        agent: options.agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body.text) },
      },
      (res) => {
        options.onAnswer?.(res);
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const ok = res.statusCode === 200 && (body.expected === undefined || text === body.expected);
          resolve(ok ? { ok } : { ok, detail: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Which connection failed tells a request the server dropped from one it never saw.
      if (error.code && error.code !== 'ECONNREFUSED') error.code = `${error.code}${req.reusedSocket ? ' (reused connection)' : ' (new connection)'}`;
      reject(error);
    });
    req.end(body.text);
  });
}

export function startLoad(options: LoadOptions): LoadRun {
  const latencies = new Float64Array(options.maxRequests);
  const errors: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let unsent = 0;
  let ok = 0;
  let wrong = 0;
  let firstWrong: string | undefined;
  let stopped = false;
  const started = performance.now();
  const timer = setTimeout(() => {
    stopped = true;
  }, options.maxMs);

  async function worker() {
    while (!stopped && next < options.maxRequests) {
      const i = next++;
      if (options.ratePerSec) {
        const wait = started + (i * 1000) / options.ratePerSec - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (stopped) {
          unsent++;
          done++;
          return;
        }
      }
      const t0 = performance.now();
      try {
        const result = await send(options, options.bodyFor(i));
        const ms = performance.now() - t0;
        latencies[ok + wrong] = ms;
        options.histogram?.record(Math.max(1, Math.round(ms * 1000)));
        if (result.ok) ok++;
        else {
          wrong++;
          firstWrong ??= result.detail;
        }
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        errors[code] = (errors[code] ?? 0) + 1;
        // A refused connection means the server is gone (after SIGTERM): this worker is done.
        if (code === 'ECONNREFUSED') return;
      } finally {
        done++;
      }
    }
  }

  const promise = Promise.all(Array.from({ length: options.connections }, worker)).then((): LoadResult => {
    clearTimeout(timer);
    const ms = performance.now() - started;
    const answered = ok + wrong;
    const sorted = Array.from(latencies.subarray(0, answered)).sort((a, b) => a - b);
    const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return {
      requests: done - unsent,
      ok,
      wrong,
      errors,
      ms: Math.round(ms),
      latencyMs: {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: round(sorted[sorted.length - 1] ?? 0),
        mean: round(sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1)),
      },
      requestsPerSecond: Math.round(answered / (ms / 1000)),
      ...(firstWrong ? { firstWrong } : {}),
    };
  });
  return {
    promise,
    stop: () => {
      stopped = true;
    },
    inFlight: () => next - done,
    sent: () => next - unsent,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
