// Memory under sustained admissions: the webhook's resident memory after the first 10,000 and
// after 100,000 admissions over HTTP.
import type { Config } from '../function/config';
import { runLoad } from './load';
import { memoryOf } from './processes';
import type { ServerSpec } from './servers';
import { startChecked } from './servers';

export interface MemoryResult {
  rssAt10kMb: number;
  rssAt100kMb: number;
  peakRssMb: number;
  admissions: number;
}

export async function benchMemory(spec: ServerSpec, body: string, config: Config, total = 100_000, first = 10_000): Promise<MemoryResult> {
  const { child, url } = await startChecked(spec, body, config);
  try {
    const pid = child.process.pid!;
    const a = await runLoad(url, body, { connections: 10, amount: first });
    const rssAt10kMb = memoryOf(pid).rssMb;
    const b = await runLoad(url, body, { connections: 10, amount: total - first });
    const admissions = a.requests + b.requests;
    if (admissions !== total) throw new Error(`memory run: ${admissions} of ${total} admissions answered 2xx`);
    const { rssMb, peakRssMb } = memoryOf(pid);
    return { rssAt10kMb, rssAt100kMb: rssMb, peakRssMb, admissions };
  } finally {
    await child.stop();
  }
}
