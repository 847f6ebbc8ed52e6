// Prometheus metrics of the webhook (GET /metrics on the plain HTTP port, beside the probes):
// what it decides, what it warns about, how long each admission takes, and its serving
// certificate. Labels are bounded sets: a decision, a reason code, a mode, a warning kind, never
// a pod or namespace name. Counters end in _total, durations are seconds (Prometheus naming).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { sendJson, type AdmissionObserver } from './http';
import type { Handler } from './host/server';

/** Each warning the webhook gives, by the words that start it after "pandocore: ". */
const WARNING_KINDS: Array<[RegExp, string]> = [
  [/^pandocore\.xyz\/mode=/, 'mode_invalid'],
  [/^pandocore\.xyz\/sidecar-/, 'resource_override_invalid'],
  [/^sidecar (cpu|memory) request .* above its limit/, 'resource_override_invalid'],
  [/^sidecar resource annotations ignored/, 'resource_overrides_off'],
  [/^spec\.resources raised/, 'pod_resources_raised'],
  [/^spec\.resources\..* is not a quantity/, 'pod_resources_invalid'],
  [/^hostPID pod/, 'host_pid'],
  [/^shareProcessNamespace was false/, 'share_process_namespace_false'],
  [/^service account .* kept/, 'service_account_kept'],
  [/^no service account token/, 'no_token'],
  [/^hostNetwork pod/, 'host_network'],
  [/^restartPolicy /, 'job_restart_policy'],
  [/^sidecar not injected: the pod has its own container/, 'foreign_sidecar'],
  [/Windows/i, 'windows_pod'],
  [/^sidecar not injected: .*(spec|containers)/, 'malformed_pod'],
];

export function warningKind(warning: string): string {
  const text = warning.replace(/^pandocore: /, '');
  return WARNING_KINDS.find(([pattern]) => pattern.test(text))?.[1] ?? 'other';
}

export interface Metrics {
  registry: Registry;
  /** One admission answered (or refused), as logged. */
  admission: AdmissionObserver;
  /** The serving certificate now served (at start or after a reload). */
  certificate(pem: string, reloaded: boolean): void;
}

// prom-client's default metrics, all but two that wake the process between admissions, read at
// scrape time instead. The GC histogram's PerformanceObserver runs on every garbage collection
// (with the image's 2 MB young generation, every few hundred admissions): A/B runs of the bundles
// gave the full set 8-18% more CPU per admission than no metrics (the budget is 5%), 3-7% without
// it. The event loop lag histogram's timer woke each pod 10 times a second: on the local cluster's
// busy node each wake-up waited for a CPU, and off the cluster, at 10 admissions/s under load, it
// cost 0.05-0.1 ms of CPU and 0.5 ms of the main thread's wait per admission (docs/performance.md).
// pando_webhook_admission_duration_seconds times the admissions themselves. Its collectors one by
// one, as collectDefaultMetrics calls them.
/* eslint-disable @typescript-eslint/no-require-imports */
const PROCESS_COLLECTORS: Array<(registry: Registry, config: object) => void> = [
  require('prom-client/lib/metrics/processCpuTotal'),
  require('prom-client/lib/metrics/processStartTime'),
  require('prom-client/lib/metrics/osMemoryHeap'),
  require('prom-client/lib/metrics/processOpenFileDescriptors'),
  require('prom-client/lib/metrics/processMaxFileDescriptors'),
  require('prom-client/lib/metrics/processResources'),
  require('prom-client/lib/metrics/processHandles'),
  require('prom-client/lib/metrics/processRequests'),
  require('prom-client/lib/metrics/heapSizeAndUsed'),
  require('prom-client/lib/metrics/heapSpacesSizeAndUsed'),
  require('prom-client/lib/metrics/version'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** prom-client's nodejs_eventloop_lag_seconds, measured when scraped: how long a setImmediate waits. */
function eventLoopLagAtScrape(registry: Registry) {
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds, measured at scrape time.',
    registers: [registry],
    async collect() {
      const start = process.hrtime.bigint();
      await new Promise((resolve) => setImmediate(resolve));
      this.set(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  for (const collect of PROCESS_COLLECTORS) collect(registry, {});
  eventLoopLagAtScrape(registry);
  // Gauges named like counters, which promtool check metrics rejects; the per-type gauges beside
  // them (nodejs_active_handles{type=...} and so on) sum to the same.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const admissions = new Counter({
    name: 'pando_webhook_admissions_total',
    help: 'Admission requests answered, by decision (inject, skip, error), reason code and sidecar mode',
    labelNames: ['decision', 'reason', 'mode'] as const,
    registers: [registry],
  });
  const warnings = new Counter({
    name: 'pando_webhook_warnings_total',
    help: 'Warnings returned to the API server (shown by kubectl), by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'pando_webhook_admission_duration_seconds',
    help: "Time from the request's headers to its answer written, inside the webhook",
    labelNames: ['decision'] as const,
    // The API server's own buckets start at 5 ms; ours resolve the sub-millisecond work.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5],
    registers: [registry],
  });
  const expiry = new Gauge({
    name: 'pando_webhook_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate expires (Unix time)',
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'pando_webhook_certificate_reloads_total',
    help: 'Times the serving certificate was reloaded from its files without a restart',
    registers: [registry],
  });
  return {
    registry,
    admission(record, seconds, given = []) {
      admissions.inc({ decision: record.decision, reason: record.reason, mode: record.mode ?? '' });
      duration.observe({ decision: record.decision }, seconds);
      for (const warning of given) warnings.inc({ kind: warningKind(warning) });
    },
    certificate(pem, reloaded) {
      try {
        expiry.set(Math.floor(new X509Certificate(pem).validToDate.getTime() / 1000));
      } catch {
        expiry.set(0); // unreadable: as good as expired, and an alert on it fires
      }
      if (reloaded) reloads.inc();
    },
  };
}

/** GET /metrics on the plain HTTP port (where the probes are), never on the admission port. */
export function withMetricsPath(handler: Handler, metrics: Metrics): Handler {
  return (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?', 1)[0] !== '/metrics') return handler(req, res);
    if ((req as { socket?: TLSSocket }).socket?.encrypted) return sendJson(res, 404, { error: 'metrics are served on the plain HTTP port, beside the probes' });
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      },
      (error: Error) => sendJson(res, 500, { error: `metrics: ${error.message}` }),
    );
  };
}
