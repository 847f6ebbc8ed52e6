// Cold start: from spawning `node <entry>` to its first correct answer, median of N. The webhook
// must answer the typical review with the core's own answer; the hello world, its fixed text.
import { isDeepStrictEqual } from 'node:util';
import { spawnSync } from 'node:child_process';
import type { Config } from '../function/config';
import { firstAnswer, freePort, startChild, type Answer } from './processes';
import { expectedAnswer } from './servers';
import { HELLO } from './servers/hello';
import { median } from './timing';

export interface ColdStart {
  entry: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  starts: number;
}

/** What a correct first answer is: the webhook's admission, or the hello world's text. */
export const admissionCheck = (body: string, config: Config) => {
  const expected = expectedAnswer('webhook_http', body, config);
  return (answer: Answer) => answer.status === 200 && isDeepStrictEqual(JSON.parse(answer.text), expected);
};
export const helloCheck = (answer: Answer) => answer.status === 200 && answer.text === HELLO;

export interface ColdEntry {
  entry: string;
  /** Node's flags before the entry. */
  flags?: string[];
  correct: (answer: Answer) => boolean;
}

/** Starts each entry `starts` times, taking turns, so a change in machine load hits them all. */
export async function coldStarts(entries: ColdEntry[], body: string, starts = 20): Promise<ColdStart[]> {
  const times = entries.map(() => [] as number[]);
  for (let i = 0; i < starts; i++) {
    for (const [n, { entry, flags = [], correct }] of entries.entries()) {
      const port = await freePort();
      const started = performance.now();
      const child = startChild([...flags, entry], { PORT: String(port) });
      try {
        const answer = await firstAnswer(`http://127.0.0.1:${port}/?timeout=10s`, body, 10_000, child.process);
        const elapsed = performance.now() - started;
        if (!correct(answer)) throw new Error(`${entry} answered wrongly: ${answer.text.slice(0, 200)}`);
        times[n].push(elapsed);
      } finally {
        await child.stop();
      }
    }
  }
  return entries.map(({ entry }, n) => ({ entry, medianMs: median(times[n]), minMs: Math.min(...times[n]), maxMs: Math.max(...times[n]), starts }));
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
