// Metrics: every fixture through the handler, then the exposition text read back and counted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from './admit';
import { createHandler } from './http';
import { createMetrics, warningKind, withMetricsPath } from './metrics';
import { createCa } from './tls/certs';
import { defaultConfig } from '../test/support/config';
import { fixtureNames, readFixture } from '../test/support/fixtures';

const silent = () => undefined;

/** The handler's answer to one POST, with a response object that records nothing but the call. */
function post(handler: ReturnType<typeof createHandler>, body: unknown, contentType = 'application/json') {
  const res = { writeHead: () => res, end: () => undefined } as any;
  handler({ method: 'POST', url: '/?timeout=10s', headers: { 'content-type': contentType }, body }, res);
}

/** The value of one series in the exposition text, or undefined when it is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('each fixture is counted once, by decision, reason and mode, and each warning by its kind', async () => {
  const metrics = createMetrics();
  const handler = createHandler(defaultConfig, silent, metrics.admission);
  const expected = new Map<string, number>();
  const kinds = new Map<string, number>();
  for (const name of fixtureNames()) {
    const review = readFixture(name);
    post(handler, review);
    const result = admit(review, defaultConfig);
    const key = `pando_webhook_admissions_total{decision="${result.record.decision}",reason="${result.record.reason}",mode="${result.record.mode ?? ''}"}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    for (const w of result.ok ? (result.review.response.warnings ?? []) : []) kinds.set(warningKind(w), (kinds.get(warningKind(w)) ?? 0) + 1);
  }
  post(handler, {}, 'text/plain');
  const text = await metrics.registry.metrics();
  for (const [series, count] of expected) assert.is(sample(text, series), count, series);
  assert.is(sample(text, 'pando_webhook_admissions_total{decision="error",reason="bad_content_type",mode=""}'), 1);
  assert.ok(kinds.size >= 5, [...kinds.keys()].join(' '));
  for (const [kind, count] of kinds) assert.is(sample(text, `pando_webhook_warnings_total{kind="${kind}"}`), count, kind);
  assert.is(
    sample(text, 'pando_webhook_admission_duration_seconds_count{decision="inject"}'),
    expected.size && [...expected].filter(([k]) => k.includes('"inject"')).reduce((n, [, c]) => n + c, 0),
  );
  assert.ok(text.includes('process_cpu_seconds_total'), "the process's own metrics");
});

test('the event loop lag is measured when scraped, with no sampler waking the process between scrapes', async () => {
  const metrics = createMetrics();
  const text = await metrics.registry.metrics();
  const lag = sample(text, 'nodejs_eventloop_lag_seconds') ?? NaN;
  assert.ok(lag > 0 && lag < 1, `lag ${lag}`);
  assert.not.match(text, /nodejs_eventloop_lag_(p99|mean|max)_seconds/);
  assert.not.match(text, /nodejs_gc_duration_seconds/);
});

test('every warning the fixtures and a busy pod give has a kind of its own, never "other"', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'shop',
      labels: { 'pandocore.xyz/protect': 'true' },
      annotations: { 'pandocore.xyz/mode': 'loud', 'pandocore.xyz/sidecar-cpu-request': 'x', 'pandocore.xyz/sidecar-memory-request': '1Gi' },
    },
    spec: {
      hostNetwork: true,
      shareProcessNamespace: false,
      restartPolicy: 'Never',
      serviceAccountName: 'own',
      resources: { requests: { cpu: '1' } },
      containers: [{ name: 'app', image: 'nginx' }],
    },
  };
  const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...readFixture('deployment-pod').request, object: pod } };
  const warnings = [...fixtureNames().map(readFixture), review].flatMap((r) => {
    const result = admit(r, defaultConfig);
    return result.ok ? (result.review.response.warnings ?? []) : [];
  });
  assert.ok(warnings.length >= 10, `${warnings.length} warnings`);
  for (const w of warnings) assert.is.not(warningKind(w), 'other', w);
});

test('the serving certificate: its expiry as Unix time, and reloads counted apart from the first load', async () => {
  const metrics = createMetrics();
  // Valid for 10 days from 2030-01-01: it expires at 2030-01-11T00:00:00Z.
  const pem = (await createCa('pando-webhook-test', new Date(Date.UTC(2030, 0, 1)), 10)).cert;
  metrics.certificate(pem, false);
  metrics.certificate(pem, true);
  const text = await metrics.registry.metrics();
  assert.is(sample(text, 'pando_webhook_certificate_expiry_timestamp_seconds'), Date.UTC(2030, 0, 11) / 1000);
  assert.is(sample(text, 'pando_webhook_certificate_reloads_total'), 1);
});

test('GET /metrics answers on the plain HTTP port only; every other request goes to the handler', async () => {
  const metrics = createMetrics();
  const passed: string[] = [];
  const handler = withMetricsPath((req) => passed.push(`${req.method} ${req.url}`), metrics);
  const answer = (encrypted: boolean, method = 'GET', url = '/metrics') =>
    new Promise<{ status: number; body: string; type?: string }>((resolve) => {
      let status = 0;
      let type: string | undefined;
      const res = {
        writeHead: (code: number, headers: Record<string, string>) => {
          status = code;
          type = headers['content-type'];
          return res;
        },
        end: (body = '') => resolve({ status, body: String(body), type }),
      } as any;
      handler({ method, url, headers: {}, socket: { encrypted } } as any, res);
      if (passed.length) resolve({ status: -1, body: '' });
    });
  const plain = await answer(false);
  assert.is(plain.status, 200);
  assert.match(plain.type ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(plain.body, /# TYPE pando_webhook_admissions_total counter/);
  assert.is((await answer(true)).status, 404, 'never on the HTTPS admission port');
  assert.is((await answer(false, 'POST')).status, -1);
  assert.equal(passed, ['POST /metrics']);
});

test.run();
