// Load with autocannon: fixed connections, bounded duration or count, optionally paced.
// Latencies are recorded here in microseconds (autocannon's own histogram keeps whole ms).
import { createHistogram } from 'node:perf_hooks';

// autocannon ships no types: the few fields used here.
interface Summary { duration: number; '2xx': number; non2xx: number; errors: number; timeouts: number }
type Instance = Promise<Summary> & { on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: object) => Instance;

export interface LoadResult { requests: number; reqPerSec: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number }

export interface Load { connections: number; durationSec?: number; amount?: number; ratePerSec?: number }

export async function runLoad(url: string, body: string, load: Load): Promise<LoadResult> {
  const latency = createHistogram();
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: load.connections,
    ...(load.amount ? { amount: load.amount } : { duration: load.durationSec ?? 5 }),
    ...(load.ratePerSec ? { overallRate: load.ratePerSec } : {}),
    timeout: 10,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latency.record(Math.max(1, Math.round(ms * 1000)));
  });
  const result = await instance;
  const us = (p: number) => latency.percentile(p) / 1000;
  return {
    requests: result['2xx'],
    reqPerSec: result['2xx'] / (result.duration || 1),
    p50Ms: us(50),
    p99Ms: us(99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
