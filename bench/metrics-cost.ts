// What prom-client costs per admission: the webhook with its metrics and the bench-only build
// without (bench/metrics-off.ts), side by side, in alternating order for several rounds of the
// same number of admissions each; the server's own CPU per admission, and the on/off ratio
// round by round. The median of those ratios is the figure: this machine's noise moves any
// single round by 10% or more.
import type { Config } from '../function/config';
import { runLoad } from './load';
import { cpuSecondsOf } from './processes';
import { type ServerSpec, startChecked } from './servers';

export const METRICS_COST_LOAD = { rounds: 7, admissionsPerRound: 10_000, connections: 10 };

export interface MetricsCost {
  onUsByRound: number[];
  offUsByRound: number[];
  ratioByRound: number[];
  medianRatio: number;
}

export async function benchMetricsCost(on: ServerSpec, off: ServerSpec, body: string, config: Config, progress: (line: string) => void): Promise<MetricsCost> {
  const { rounds, admissionsPerRound, connections } = METRICS_COST_LOAD;
  const servers = [await startChecked(on, body, config), await startChecked(off, body, config)];
  const usByRound: number[][] = [[], []];
  try {
    for (const s of servers) await runLoad(s.url, body, { connections, amount: admissionsPerRound / 2 }); // warm-up
    for (let round = 0; round < rounds; round++) {
      progress(`metrics cost round ${round + 1} of ${rounds}`);
      for (const i of round % 2 ? [1, 0] : [0, 1]) {
        const pid = servers[i].child.process.pid!;
        const before = cpuSecondsOf(pid);
        const run = await runLoad(servers[i].url, body, { connections, amount: admissionsPerRound });
        if (run.errors || run.non2xx || run.requests !== admissionsPerRound)
          throw new Error(`metrics cost: ${run.requests} of ${admissionsPerRound} answered 2xx`);
        usByRound[i].push(((cpuSecondsOf(pid) - before) * 1e6) / run.requests);
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.child.stop()));
  }
  const ratioByRound = usByRound[0].map((us, i) => us / usByRound[1][i]);
  const sorted = [...ratioByRound].sort((a, b) => a - b);
  return { onUsByRound: usByRound[0], offUsByRound: usByRound[1], ratioByRound, medianRatio: sorted[Math.floor(sorted.length / 2)] };
}
