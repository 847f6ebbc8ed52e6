// Admission bodies for the benchmark: the typical fixture pod, and the same pod grown to a given
// number of containers or env vars, so the cost can be read against the size of the pod.
import { readFixture } from '../test/support/fixtures';

export const TYPICAL_FIXTURE = 'deployment-pod';

export interface PodSize {
  containers: number;
  env: number;
}

type Review = { request: { object: { spec: { containers: Record<string, unknown>[] } } } };

/** The typical review with `containers` app containers, each with `env` env vars. */
export function grownReview(size: PodSize): Review {
  const review = readFixture(TYPICAL_FIXTURE) as Review;
  const template = review.request.object.spec.containers[0];
  const env = Array.from({ length: size.env }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}` }));
  review.request.object.spec.containers = Array.from({ length: size.containers }, (_, i) => ({
    ...structuredClone(template),
    name: i === 0 ? template.name : `${template.name}-${i}`,
    env: structuredClone(env),
  }));
  return review;
}

/** The sizes the issue asks for: containers grow at 10 env vars each, env grows in one container. */
export const GROWTH: { axis: 'containers' | 'env'; size: PodSize }[] = [
  ...[1, 10, 50].map((containers) => ({ axis: 'containers' as const, size: { containers, env: 10 } })),
  ...[10, 100, 1000].map((env) => ({ axis: 'env' as const, size: { containers: 1, env } })),
];
