// The webhook's /metrics, scraped from each webhook pod's plain HTTP port on the node (as
// Prometheus scrapes pods) after a mix of injected and skipped pods created through the real API
// server: each count, summed over the pods, moves by exactly the pods of its kind (the suites run
// one after another, so nothing else is admitted meanwhile).
import http from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { webhookPodIps } from '../harness/webhook';
import { cluster, createPod, enabledNamespace, simplePod, unique } from './context';

const namespace = enabledNamespace('e2e-metrics');

function scrapePod(ip: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${ip}:8080/metrics`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: ${res.statusCode} ${body}`))));
      })
      .on('error', reject);
  });
}

const valueIn = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${series} `))
      ?.slice(series.length + 1) ?? 0,
  );

/** Every webhook pod's metrics: the API server spreads the admissions over them. */
async function scrape(): Promise<string[]> {
  const ips = webhookPodIps(cluster);
  assert.is(ips.length, 2, `two ready webhook pods: ${ips.join(', ')}`);
  return Promise.all(ips.map(scrapePod));
}

const value = (texts: string[], series: string) => texts.reduce((sum, text) => sum + valueIn(text, series), 0);

const SERIES = {
  monitor: 'pando_webhook_admissions_total{decision="inject",reason="injected",mode="monitor"}',
  enforce: 'pando_webhook_admissions_total{decision="inject",reason="injected",mode="enforce"}',
  foreign: 'pando_webhook_admissions_total{decision="skip",reason="foreign_sidecar",mode=""}',
  modeWarning: 'pando_webhook_warnings_total{kind="mode_invalid"}',
  foreignWarning: 'pando_webhook_warnings_total{kind="foreign_sidecar"}',
  injectDurations: 'pando_webhook_admission_duration_seconds_count{decision="inject"}',
};

test('after 3 monitor pods, 2 enforce pods, 1 bad mode and 1 foreign sidecar, each count moved by exactly that', async () => {
  const before = await scrape();
  const created: Array<Promise<{ status: number }>> = [];
  for (let i = 0; i < 3; i++) created.push(createPod(namespace, simplePod(unique('m-monitor'))));
  for (let i = 0; i < 2; i++) created.push(createPod(namespace, simplePod(unique('m-enforce'), undefined, { 'pandocore.xyz/mode': 'enforce' })));
  created.push(createPod(namespace, simplePod(unique('m-bad'), undefined, { 'pandocore.xyz/mode': 'loud' })));
  const foreign = simplePod(unique('m-foreign'));
  foreign.spec.containers.push({ name: 'pando-sidecar', image: 'registry.example/not-ours:1' });
  created.push(createPod(namespace, foreign));
  for (const answer of await Promise.all(created)) assert.is(answer.status, 201);
  const after = await scrape();
  const delta = (series: string) => value(after, series) - value(before, series);
  assert.is(delta(SERIES.monitor), 4, 'the bad mode falls back to monitor');
  assert.is(delta(SERIES.enforce), 2);
  assert.is(delta(SERIES.foreign), 1);
  assert.is(delta(SERIES.modeWarning), 1);
  assert.is(delta(SERIES.foreignWarning), 1);
  assert.is(delta(SERIES.injectDurations), 6);
  for (const text of after) {
    assert.ok(valueIn(text, 'pando_webhook_certificate_expiry_timestamp_seconds') > Date.now() / 1000, 'each pod serves a certificate not expired');
  }
});

test('the HTTPS admission port does not serve /metrics', async () => {
  const https = await import('node:https');
  const status = await new Promise<number>((resolve, reject) =>
    https
      .get(`https://${webhookPodIps(cluster)[0]}:8443/metrics`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject),
  );
  assert.is(status, 404);
});

test.run();
