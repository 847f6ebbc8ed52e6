// Time-bounded micro-timing: warm up, then the median of several timed batches, in µs per call.
export interface Timing { usPerOp: number; samples: number[] }

let sink = 0; // keeps results observable so the optimizer cannot drop the work

export function timePerOp(work: () => unknown, { warmupMs = 200, sampleMs = 100, samples = 5 } = {}): Timing {
  const until = (ms: number) => performance.now() + ms;
  for (const end = until(warmupMs); performance.now() < end;) for (let i = 0; i < 50; i++) sink ^= observe(work());
  const perOp: number[] = [];
  for (let s = 0; s < samples; s++) {
    let ops = 0;
    const start = performance.now();
    const end = start + sampleMs;
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) sink ^= observe(work());
      ops += 20;
    }
    perOp.push(((performance.now() - start) * 1000) / ops);
  }
  return { usPerOp: median(perOp), samples: perOp };
}

const observe = (value: unknown) => (value === undefined ? 0 : 1);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const sinkValue = () => sink;
