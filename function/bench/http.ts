// The four servers under the same body and load, one after another: saturation with fixed
// connections, then a light paced load, then the server's peak resident memory.
import type { Config } from '../config';
import { runLoad, LoadResult } from './load';
import { memoryOf } from './processes';
import { ServerSpec, startChecked } from './servers';

export const HTTP_LOAD = { connections: 10, warmupSec: 2, saturationSec: 8, lightRatePerSec: 100, lightConnections: 2, lightSec: 5 };

export interface HttpRow { key: ServerSpec['key']; label: string; saturation: LoadResult; light: LoadResult; peakRssMb: number }

function assertClean(label: string, result: LoadResult) {
  if (result.errors > 0 || result.non2xx > 0 || result.requests === 0) {
    throw new Error(`${label}: ${result.errors} errors, ${result.non2xx} non-2xx answers under load`);
  }
}

export async function benchHttp(specs: ServerSpec[], body: string, config: Config, progress: (line: string) => void): Promise<HttpRow[]> {
  const rows: HttpRow[] = [];
  for (const spec of specs) {
    const { child, url } = await startChecked(spec, body, config);
    try {
      const { connections, warmupSec, saturationSec, lightRatePerSec, lightConnections, lightSec } = HTTP_LOAD;
      progress(`http: ${spec.label}`);
      assertClean(spec.label, await runLoad(url, body, { connections, durationSec: warmupSec }));
      const saturation = await runLoad(url, body, { connections, durationSec: saturationSec });
      assertClean(spec.label, saturation);
      const light = await runLoad(url, body, { connections: lightConnections, durationSec: lightSec, ratePerSec: lightRatePerSec });
      assertClean(spec.label, light);
      rows.push({ key: spec.key, label: spec.label, saturation, light, peakRssMb: memoryOf(child.process.pid!).peakRssMb });
    } finally {
      await child.stop();
    }
  }
  return rows;
}
