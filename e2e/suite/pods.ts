// Pods as the e2e suites write them, and helpers that need no cluster (the release suite runs
// after the main cluster is down).
export type Obj = Record<string, any>;

export const SIDECAR = 'pando-sidecar';
export const PROTECT = { 'pandocore.xyz/protect': 'true' };

let counter = 0;
/** A name no other test uses, for pods and namespaces. */
export const unique = (prefix: string) => `${prefix}-${process.pid.toString(36)}-${(++counter).toString(36)}`;

export function simplePod(name: string, labels: Record<string, string> = PROTECT, annotations: Record<string, string> = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, annotations },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
}

export const containersNamed = (pod: Obj, name: string) =>
  [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].filter((c: Obj) => c.name === name);

export const envValue = (container: Obj, name: string) => container.env?.find((e: Obj) => e.name === name);

/** Runs fn over items, at most `limit` at once, in order of the results. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]);
      }
    }),
  );
  return results;
}
