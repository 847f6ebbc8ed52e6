// The chart's PrometheusRule, as the real helm renders it: valid against the Prometheus Operator's
// schema, accepted by `promtool check rules`, and each alert fired (or not) by Prometheus's own
// rule engine on made-up series (`promtool test rules`): fail-open admissions of our webhooks only,
// protected pods the safety net caught counted once whatever its actions, a certificate near expiry.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { createMetrics } from '../../function/metrics';
import { helmAvailable, LICENSE, Obj, render, toolsDir } from '../support/chart';

const DAY = 86400;
const rule = (settings: Obj = {}) =>
  render({ ...LICENSE, metrics: { prometheusRule: { enabled: true, ...settings } } }).find((o) => o.kind === 'PrometheusRule');

/** Runs promtool on the rendered groups (and, for `test rules`, a test file beside them). */
function promtool(command: 'check' | 'test', groups: Obj, tests?: Obj) {
  const dir = mkdtempSync(join(tmpdir(), 'pando-rules-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify(groups));
    if (tests) writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [tests] }));
    const run = spawnSync(join(toolsDir()!, 'promtool'), [command, 'rules', tests ? 'tests.yaml' : 'rules.yaml'], { cwd: dir, encoding: 'utf8' });
    return { code: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (helmAvailable(test, 'the chart alerts')) {
  test('off by default; on, a PrometheusRule valid against the operator schema with the labels asked for', () => {
    assert.is(
      render({ ...LICENSE }).find((o) => o.kind === 'PrometheusRule'),
      undefined,
    );
    const object = rule({ labels: { release: 'prometheus' } })!;
    new PrometheusRule(object as never).validate();
    assert.is(object.metadata.namespace, 'pando-system');
    assert.is(object.metadata.labels.release, 'prometheus');
    assert.equal(
      object.spec.groups[0].rules.map((r: Obj) => r.alert),
      ['PandoWebhookFailedOpen', 'PandoProtectedPodWithoutSidecar', 'PandoWebhookCertificateExpiresSoon'],
    );
  });

  test('promtool check rules accepts them; the certificate alert names a metric the webhook exports', async () => {
    const checked = promtool('check', rule()!.spec);
    assert.is(checked.code, 0, checked.output);
    assert.match(checked.output, /SUCCESS: 3 rules found/);
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    const expiry = rule()!.spec.groups[0].rules[2].expr as string;
    for (const metric of expiry.match(/pando_webhook_\w+/g)!) assert.ok(names.includes(metric), metric);
  });

  test('promtool test rules: each alert fires on the series it is for, and only on those', () => {
    const webhook = (name: string) => `apiserver_admission_webhook_fail_open_count{name="${name}",type="admit"}`;
    const policy = (name: string, action: string) =>
      `apiserver_validating_admission_policy_check_total{policy="${name}",policy_binding="${name}",error_type="no_error",enforcement_action="${action}"}`;
    const run = promtool('test', rule({ certificateExpiryDays: 14 })!.spec, {
      interval: '1m',
      input_series: [
        // Another injector's webhook failing open, and ours from minute 20 on.
        { series: webhook('sidecar-injector.istio.io'), values: '0+1x40' },
        { series: webhook('inject.pandocore.xyz'), values: '0x20 1+1x20' },
        // The safety net in Warn+Audit counts each pod twice (once per action); from minute 20, one pod a minute.
        { series: policy('pando-sidecar-required', 'warn'), values: '0x20 1+1x20' },
        { series: policy('pando-sidecar-required', 'audit'), values: '0x20 1+1x20' },
        { series: policy('pando-sidecar-unchanged', 'warn'), values: '0+1x40' },
        // A certificate that expires 13 days and 10 minutes after time 0.
        { series: 'pando_webhook_certificate_expiry_timestamp_seconds{pod="a"}', values: `${13 * DAY + 600}x40` },
        { series: 'pando_webhook_certificate_expiry_timestamp_seconds{pod="b"}', values: `${90 * DAY}x40` },
      ],
      alert_rule_test: [
        { eval_time: '15m', alertname: 'PandoWebhookFailedOpen', exp_alerts: [] },
        { eval_time: '15m', alertname: 'PandoProtectedPodWithoutSidecar', exp_alerts: [] },
        {
          eval_time: '35m',
          alertname: 'PandoWebhookFailedOpen',
          exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: annotationsOf('PandoWebhookFailedOpen', '10') }],
        },
        {
          eval_time: '35m',
          alertname: 'PandoProtectedPodWithoutSidecar',
          exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: annotationsOf('PandoProtectedPodWithoutSidecar', '10') }],
        },
        {
          eval_time: '5m',
          alertname: 'PandoWebhookCertificateExpiresSoon',
          exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: annotationsOf('PandoWebhookCertificateExpiresSoon') }],
        },
      ],
    });
    assert.is(run.code, 0, run.output);
    assert.match(run.output, /SUCCESS/);
  });

  test('promtool test rules fails when an alert is expected that the series do not fire (the test above can fail)', () => {
    const run = promtool('test', rule()!.spec, {
      interval: '1m',
      input_series: [{ series: 'pando_webhook_certificate_expiry_timestamp_seconds{pod="a"}', values: `${90 * DAY}x40` }],
      alert_rule_test: [
        {
          eval_time: '5m',
          alertname: 'PandoWebhookCertificateExpiresSoon',
          exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: annotationsOf('PandoWebhookCertificateExpiresSoon') }],
        },
      ],
    });
    assert.is.not(run.code, 0, run.output);
  });
}

/** An alert's annotations as Prometheus renders them, its $value replaced by `value`. */
function annotationsOf(alert: string, value = ''): Record<string, string> {
  const annotations = rule()!.spec.groups[0].rules.find((r: Obj) => r.alert === alert).annotations as Record<string, string>;
  return Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k, v.replace('{{ $value | humanize }}', value)]));
}

test.run();
