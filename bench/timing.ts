// Micro-timing in CPU time of this process (user + system), so other work on a shared machine
// does not inflate the figures: warm up, then the median of several batches, in µs per call.
export interface Timing {
  usPerOp: number;
  samples: number[];
}

let sink = 0; // keeps results observable so the optimizer cannot drop the work
const observe = (value: unknown) => (value === undefined ? 0 : 1);

const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

export function timePerOp(work: () => unknown, { warmupMs = 200, sampleMs = 100, samples = 5 } = {}): Timing {
  for (const end = performance.now() + warmupMs; performance.now() < end;) for (let i = 0; i < 50; i++) sink ^= observe(work());
  const perOp: number[] = [];
  for (let s = 0; s < samples; s++) {
    let ops = 0;
    const start = cpuUs();
    // Bounded by wall time too, so a starved process still finishes.
    const wallEnd = performance.now() + sampleMs * 5;
    while (cpuUs() - start < sampleMs * 1000 && performance.now() < wallEnd) {
      for (let i = 0; i < 20; i++) sink ^= observe(work());
      ops += 20;
    }
    perOp.push((cpuUs() - start) / ops);
  }
  return { usPerOp: median(perOp), samples: perOp };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const sinkValue = () => sink;
