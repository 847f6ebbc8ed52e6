// The four servers under the same body and load, one after another: saturation with fixed
// connections, then a light paced load, then the server's peak resident memory.
import type { Config } from '../config';
import { runLoad, runPaced, LoadResult } from './load';
import { cpuSecondsOf, memoryOf } from './processes';
import { ServerSpec, startChecked } from './servers';

export const HTTP_LOAD = { connections: 10, warmupSec: 2, saturationSec: 8, lightRatePerSec: 100, lightConnections: 4, lightSec: 5 };

/** serverCpuUsPerReq: the server's own CPU per answer at saturation, which the load generator
 * sharing the machine does not distort. */
export interface HttpRow { key: ServerSpec['key']; label: string; saturation: LoadResult; serverCpuUsPerReq: number; light: LoadResult; peakRssMb: number }

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
      const pid = child.process.pid!;
      const cpuBefore = cpuSecondsOf(pid);
      const saturation = await runLoad(url, body, { connections, durationSec: saturationSec });
      const serverCpuUsPerReq = ((cpuSecondsOf(pid) - cpuBefore) * 1e6) / saturation.requests;
      assertClean(spec.label, saturation);
      const light = await runPaced(url, body, { connections: lightConnections, durationSec: lightSec, ratePerSec: lightRatePerSec });
      assertClean(spec.label, light);
      rows.push({ key: spec.key, label: spec.label, saturation, serverCpuUsPerReq, light, peakRssMb: memoryOf(pid).peakRssMb });
    } finally {
      await child.stop();
    }
  }
  return rows;
}
