// Saturation load with autocannon (fixed connections, bounded duration or count), and a light
// paced load on the project's one load generator: autocannon's rate sends each second's quota
// back to back, a burst, where a paced load sends one request every 1/rate seconds. Latencies in
// microseconds.
import http from 'node:http';
import https from 'node:https';
import { createHistogram, RecordableHistogram } from 'node:perf_hooks';
import { startLoad } from '../test/support/load';

// autocannon ships no types: the few fields used here.
interface Summary {
  duration: number;
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Instance = Promise<Summary> & { on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: object) => Instance;

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
}

/** Latencies are also recorded into `latency` when given, to sum several runs. */
export async function runLoad(url: string, body: string, load: Load, latency = createHistogram()): Promise<LoadResult> {
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: load.connections,
    ...(load.amount ? { amount: load.amount } : { duration: load.durationSec ?? 5 }),
    timeout: 10,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latency.record(Math.max(1, Math.round(ms * 1000)));
  });
  const result = await instance;
  return {
    requests: result['2xx'],
    seconds: result.duration,
    reqPerSec: result['2xx'] / (result.duration || 1),
    ...summary(latency),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export const summary = (latency: RecordableHistogram) => ({ p50Ms: latency.percentile(50) / 1000, p99Ms: latency.percentile(99) / 1000 });

/** One request every 1/rate s for `durationSec`, over at most `connections` kept-alive
 * connections, on the project's load generator (test/support/load.ts); latency from sending the
 * request to the end of its answer. Saturation stays with autocannon: a node:http client tops out
 * far below what the node:http floor server answers (3.5-4.4k against about 22k req/s here). */
export async function runPaced(
  url: string,
  body: string,
  load: { ratePerSec: number; durationSec: number; connections: number },
  latency = createHistogram(),
): Promise<LoadResult> {
  const options = { keepAlive: true, maxSockets: load.connections };
  const agent = url.startsWith('https:') ? new https.Agent({ ...options, rejectUnauthorized: false }) : new http.Agent(options);
  const total = Math.round(load.ratePerSec * load.durationSec);
  const run = startLoad({
    url,
    agent,
    connections: load.connections,
    bodyFor: () => ({ text: body }),
    maxRequests: total,
    maxMs: load.durationSec * 1000 + 30_000,
    ratePerSec: load.ratePerSec,
    histogram: latency,
  });
  const result = await run.promise;
  agent.destroy();
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  return { requests: result.ok, seconds: result.ms / 1000, reqPerSec: result.ok / (result.ms / 1000), ...summary(latency), errors, non2xx: result.wrong };
}
