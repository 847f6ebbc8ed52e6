// Cold start: from spawning the process to the first correct admission answer, median of N.
import { isDeepStrictEqual } from 'node:util';
import { spawnSync } from 'node:child_process';
import type { Config } from '../function/config';
import { firstAnswer, freePort, startChild } from './processes';
import { expectedAnswer } from './servers';
import { median } from './timing';

export interface ColdStart {
  entry: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  starts: number;
}

export async function coldStart(entry: string, body: string, config: Config, starts = 20): Promise<ColdStart> {
  const expected = expectedAnswer('webhook_http', body, config);
  const times: number[] = [];
  for (let i = 0; i < starts; i++) {
    const port = await freePort();
    const started = performance.now();
    const child = startChild([entry], { PORT: String(port) });
    try {
      const answer = await firstAnswer(`http://127.0.0.1:${port}/?timeout=10s`, body, 10_000, child.process);
      const elapsed = performance.now() - started;
      if (answer.status !== 200 || !isDeepStrictEqual(JSON.parse(answer.text), expected))
        throw new Error(`${entry} answered wrongly: ${answer.text.slice(0, 200)}`);
      times.push(elapsed);
    } finally {
      await child.stop();
    }
  }
  return { entry, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), starts };
}

/** Node's own start and exit with an empty script: the floor under any cold start. */
export function nodeStartMs(runs = 10): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    times.push(performance.now() - started);
  }
  return median(times);
}
