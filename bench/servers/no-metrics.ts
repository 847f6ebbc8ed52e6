// Bench only, never shipped: function/metrics.ts with every metric a no-op and no /metrics path,
// bundled in place of it (bench/metrics-off.ts) to measure what prom-client costs per admission.
// The webhook has no switch for metrics off; this build is that switch, labelled as such.
import type { Handler } from '../../function/host/server';
import type { Metrics } from '../../function/metrics';

export function createMetrics(): Metrics {
  return {
    registry: undefined as unknown as Metrics['registry'],
    admission: () => undefined,
    certificate: () => undefined,
  };
}

export const withMetricsPath = (handler: Handler): Handler => handler;
