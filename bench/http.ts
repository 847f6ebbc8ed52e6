// The servers under the same body and load. All run at once and take turns, in rounds, so drift
// in what else the machine does spreads over all of them instead of landing on one: saturation
// with fixed connections, then a light paced load on one kept-alive connection, then peak memory.
// The light load is sent to all servers side by side (their requests interleaved, never at the
// same instant): a p99 is made of a handful of slow answers, and on a shared machine those come
// from pauses of the whole machine, which then hit every server alike.
import { createHistogram, RecordableHistogram } from 'node:perf_hooks';
import type { Config } from '../function/config';
import { LoadResult, runLoad, runPaced, summary } from './load';
import { Child, cpuSecondsOf, memoryOf, schedCpuSecondsOf } from './processes';
import { ServerSpec, startChecked } from './servers';
import { median } from './timing';

export const HTTP_LOAD = { connections: 10, warmupSec: 2, rounds: 3, saturationSec: 3, lightRatePerSec: 100, lightConnections: 1, lightSec: 4, idleSec: 5 };

/** serverCpuUsPerReq: the server's own CPU per answer at saturation, which the load generator
 * sharing the machine does not distort. */
export interface HttpRow {
  key: ServerSpec['key'];
  label: string;
  saturation: LoadResult & { roundsReqPerSec: number[] };
  serverCpuUsPerReq: number;
  /** The same, per saturation round (rounds alternate servers, so ratios are taken round by round). */
  cpuUsPerReqByRound: number[];
  light: LoadResult;
  /** The server's own CPU per answer at the light load: what an API server calling at a steady
   * rate costs it, fixed costs per wake-up included. */
  lightCpuUsPerReq: number;
  /** Its CPU while nothing is sent (timers of its own), ms per second. */
  idleCpuMsPerSec: number;
  peakRssMb: number;
  /** 2xx answers the clients saw (checks, warm-up, every run). */
  answered: number;
  /** For a webhook with metrics: pando_webhook_admissions_total summed, scraped from /metrics at the end. */
  scrapedAdmissions?: number;
}

/** The sum of a counter's series in an exposition text. */
export function counterSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function scrape(url: string): Promise<string | undefined> {
  const answer = await fetch(new URL('/metrics', url));
  return answer.ok ? answer.text() : undefined;
}

function assertClean(label: string, result: LoadResult) {
  if (result.errors > 0 || result.non2xx > 0 || result.requests === 0) {
    throw new Error(`${label}: ${result.errors} errors, ${result.non2xx} non-2xx answers under load`);
  }
}

/** Sums runs of one server: requests over time, latencies in one histogram. */
class Tally {
  readonly latency: RecordableHistogram = createHistogram();
  requests = 0;
  seconds = 0;
  rounds: number[] = [];
  add(label: string, run: LoadResult) {
    assertClean(label, run);
    this.requests += run.requests;
    this.seconds += run.seconds;
    this.rounds.push(Math.round(run.reqPerSec));
  }
  result(): LoadResult & { roundsReqPerSec: number[] } {
    // The median round, so one round disturbed by other work on the machine does not set the figure.
    return {
      requests: this.requests,
      seconds: this.seconds,
      reqPerSec: median(this.rounds),
      ...summary(this.latency),
      errors: 0,
      non2xx: 0,
      roundsReqPerSec: this.rounds,
    };
  }
}

export async function benchHttp(specs: ServerSpec[], body: string, config: Config, progress: (line: string) => void): Promise<HttpRow[]> {
  const running: {
    spec: ServerSpec;
    child: Child;
    url: string;
    saturation: Tally;
    light: Tally;
    cpuSeconds: number;
    cpuByRound: number[];
    lightCpuSeconds: number;
    answered: number;
  }[] = [];
  const { connections, warmupSec, rounds, saturationSec, lightRatePerSec, lightConnections, lightSec, idleSec } = HTTP_LOAD;
  try {
    for (const spec of specs) {
      const { child, url } = await startChecked(spec, body, config);
      running.push({ spec, child, url, saturation: new Tally(), light: new Tally(), cpuSeconds: 0, cpuByRound: [], lightCpuSeconds: 0, answered: 1 });
    }
    for (const s of running) {
      progress(`http warm-up: ${s.spec.label}`);
      const warm = await runLoad(s.url, body, { connections, durationSec: warmupSec });
      assertClean(s.spec.label, warm);
      s.answered += warm.requests;
    }
    for (let round = 1; round <= rounds; round++) {
      progress(`http round ${round} of ${rounds}: saturation, then ${lightRatePerSec} req/s`);
      for (const s of running) {
        const pid = s.child.process.pid!;
        const before = cpuSecondsOf(pid);
        const run = await runLoad(s.url, body, { connections, durationSec: saturationSec }, s.saturation.latency);
        const used = cpuSecondsOf(pid) - before;
        s.saturation.add(s.spec.label, run);
        s.cpuSeconds += used;
        s.cpuByRound.push(Math.round((used * 1e6) / run.requests));
        s.answered += run.requests;
      }
      const gapMs = 1000 / lightRatePerSec / running.length;
      const lightBefore = running.map((s) => schedCpuSecondsOf(s.child.process.pid!));
      const light = await Promise.all(
        running.map(async (s, i) => {
          await new Promise((resolve) => setTimeout(resolve, i * gapMs));
          return runPaced(s.url, body, { connections: lightConnections, durationSec: lightSec, ratePerSec: lightRatePerSec }, s.light.latency);
        }),
      );
      running.forEach((s, i) => {
        s.light.add(s.spec.label, light[i]);
        s.lightCpuSeconds += schedCpuSecondsOf(s.child.process.pid!) - lightBefore[i];
        s.answered += light[i].requests;
      });
    }
    progress(`idle for ${idleSec} s: each server's own CPU`);
    const idleBefore = running.map((s) => schedCpuSecondsOf(s.child.process.pid!));
    await new Promise((resolve) => setTimeout(resolve, idleSec * 1000));
    const idleCpuMsPerSec = running.map((s, i) => ((schedCpuSecondsOf(s.child.process.pid!) - idleBefore[i]) * 1000) / idleSec);
    const rows: HttpRow[] = [];
    for (const [i, s] of running.entries()) {
      // The plain HTTP port serves /metrics (never the HTTPS one).
      const text = s.url.startsWith('http:') && s.spec.key.startsWith('webhook_') ? await scrape(s.url) : undefined;
      rows.push({
        key: s.spec.key,
        label: s.spec.label,
        saturation: s.saturation.result(),
        serverCpuUsPerReq: (s.cpuSeconds * 1e6) / s.saturation.requests,
        cpuUsPerReqByRound: s.cpuByRound,
        light: s.light.result(),
        lightCpuUsPerReq: (s.lightCpuSeconds * 1e6) / s.light.requests,
        idleCpuMsPerSec: idleCpuMsPerSec[i],
        peakRssMb: memoryOf(s.child.process.pid!).peakRssMb,
        answered: s.answered,
        ...(text === undefined ? {} : { scrapedAdmissions: counterSum(text, 'pando_webhook_admissions_total') }),
      });
    }
    return rows;
  } finally {
    await Promise.all(running.map((s) => s.child.stop()));
  }
}
