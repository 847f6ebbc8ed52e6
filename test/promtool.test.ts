// The webhook's /metrics, as the built bundle serves it after real admissions over HTTPS (so the
// certificate metrics exist, and a reload has been counted), through Prometheus's own linter:
// `promtool check metrics` (built from its Go module by npm run tools). Any problem it names fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCa, issueServingCert } from '../function/tls/certs';
import { ROOT, toolsDir } from './support/chart';
import { startNode } from './support/child';
import { fixtureNames, readFixture } from './support/fixtures';
import { skipSuite } from './support/skip';

const SERVE = join(ROOT, 'dist', 'serve.js');
const NAME = 'pando-webhook.pando-system.svc';

const promtool = (() => {
  const dir = toolsDir();
  return dir && existsSync(join(dir, 'promtool')) ? join(dir, 'promtool') : undefined;
})();

function check(exposition: string) {
  const run = spawnSync(promtool!, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { code: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

function request(url: string, options: { path: string; method?: string; ca?: string; body?: string }) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const target = new URL(options.path, url);
    const transport = target.protocol === 'https:' ? https : http;
    const req = transport.request(
      target,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        servername: NAME,
        agent: false,
        timeout: 5000,
        headers: options.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

if (!promtool) {
  skipSuite(test, 'promtool check metrics', 'promtool is not built here (npm run tools builds it)');
} else {
  test('promtool finds what it should: a counter without _total is named (so a clean run means something)', () => {
    const bad = check('# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n');
    assert.is.not(bad.code, 0, bad.output);
    assert.match(bad.output, /counter metrics should have "_total" suffix/);
  });

  test('the built webhook /metrics after admissions over HTTPS and a certificate reload: promtool reports nothing', async () => {
    const ca = await createCa('promtool test CA');
    const dir = mkdtempSync(join(tmpdir(), 'pando-promtool-'));
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    const write = async () => {
      const pair = await issueServingCert(ca, { dnsNames: [NAME] });
      // New files renamed into place, as a changed Secret volume gives them.
      writeFileSync(`${key}.new`, pair.key);
      writeFileSync(`${cert}.new`, pair.cert);
      renameSync(`${key}.new`, key);
      renameSync(`${cert}.new`, cert);
    };
    await write();
    const server = startNode([SERVE], { PORT: '0', PANDO_TLS_PORT: '0', PANDO_TLS_CERT_FILE: cert, PANDO_TLS_KEY_FILE: key });
    try {
      const serving = await server.waitForEntry((e) => e.msg === 'serving', 10_000);
      assert.ok(serving.https, 'HTTPS served');
      // Every fixture once (injected, skipped, refused), and one bad content type.
      for (const name of fixtureNames()) {
        const answer = await request(serving.https, { path: '/?timeout=10s', method: 'POST', ca: ca.cert, body: JSON.stringify(readFixture(name)) });
        assert.is(answer.status, 200, `${name}: ${answer.text}`);
      }
      await write();
      // The pair is re-read before the next new connection.
      await request(serving.https, { path: '/healthz', ca: ca.cert });
      await server.waitForEntry((e) => e.msg === 'TLS certificate reloaded', 10_000);
      const metrics = await request(serving.http, { path: '/metrics' });
      assert.is(metrics.status, 200);
      for (const series of [
        'pando_webhook_admissions_total{decision="inject"',
        'pando_webhook_admissions_total{decision="skip"',
        'pando_webhook_warnings_total{',
        'pando_webhook_admission_duration_seconds_bucket{',
        'pando_webhook_certificate_expiry_timestamp_seconds ',
        'pando_webhook_certificate_reloads_total 1',
        'process_cpu_seconds_total ',
      ]) {
        assert.ok(metrics.text.includes(series), `${series} in /metrics`);
      }
      const verdict = check(metrics.text);
      assert.is(verdict.output, '', 'promtool check metrics says nothing');
      assert.is(verdict.code, 0);
    } finally {
      await server.stop('SIGTERM', 10_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
