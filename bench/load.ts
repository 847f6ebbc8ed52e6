// Saturation load with autocannon (fixed connections, bounded duration or count), and a light
// paced load written here: autocannon's rate sends each second's quota back to back, a burst,
// where a paced load sends one request every 1/rate seconds. Latencies in microseconds.
import http from 'node:http';
import https from 'node:https';
import { createHistogram, RecordableHistogram } from 'node:perf_hooks';

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
 * connections; latency from sending the request to the end of its answer. */
export async function runPaced(
  url: string,
  body: string,
  load: { ratePerSec: number; durationSec: number; connections: number },
  latency = createHistogram(),
): Promise<LoadResult> {
  const secure = url.startsWith('https:');
  const options = { keepAlive: true, maxSockets: load.connections };
  const agent = secure ? new https.Agent({ ...options, rejectUnauthorized: false }) : new http.Agent(options);
  const client = secure ? https : http;
  const total = Math.round(load.ratePerSec * load.durationSec);
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = client.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            requests++;
            latency.record(Math.max(1, Math.round((performance.now() - sent) * 1000)));
          } else non2xx++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / load.ratePerSec;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(one());
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests, seconds, reqPerSec: requests / seconds, ...summary(latency), errors, non2xx };
}
