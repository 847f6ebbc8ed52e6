// The benchmark's two loads, on the one load generator (test/support/load.ts): saturation with
// fixed connections for a duration or a count, and a light paced load (one request every
// 1/rate s, where a burst-per-second client would send each second's quota back to back).
// Latencies in microseconds.
import http from 'node:http';
import https from 'node:https';
import { createHistogram, RecordableHistogram } from 'node:perf_hooks';
import { startLoad } from '../test/support/load';

export interface LoadResult {
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface Load {
  connections: number;
  durationSec?: number;
  amount?: number;
  ratePerSec?: number;
}

export const summary = (latency: RecordableHistogram) => ({ p50Ms: latency.percentile(50) / 1000, p99Ms: latency.percentile(99) / 1000 });

/** Latencies are also recorded into `latency` when given, to sum several runs. A self-signed
 * certificate is accepted (loopback only). */
export async function runLoad(url: string, body: string, load: Load, latency = createHistogram()): Promise<LoadResult> {
  const options = { keepAlive: true, maxSockets: load.connections };
  const agent = url.startsWith('https:') ? new https.Agent({ ...options, rejectUnauthorized: false }) : new http.Agent(options);
  const paced = load.ratePerSec ? Math.round(load.ratePerSec * (load.durationSec ?? 5)) : undefined;
  const run = startLoad({
    url,
    agent,
    connections: load.connections,
    bodyFor: () => ({ text: body }),
    maxRequests: load.amount ?? paced ?? 2_000_000,
    // A paced run ends when its last request is answered; the others at the duration.
    maxMs: paced || load.amount ? 600_000 : (load.durationSec ?? 5) * 1000,
    ratePerSec: load.ratePerSec,
    histogram: latency,
  });
  const result = await run.promise;
  agent.destroy();
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  return { requests: result.ok, seconds: result.ms / 1000, reqPerSec: result.ok / (result.ms / 1000), ...summary(latency), errors, non2xx: result.wrong };
}

/** One request every 1/rate s for `durationSec`, over at most `connections` kept-alive connections. */
export const runPaced = (url: string, body: string, load: { ratePerSec: number; durationSec: number; connections: number }, latency = createHistogram()) =>
  runLoad(url, body, load, latency);
