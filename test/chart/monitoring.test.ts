// The chart's monitoring, as the real helm renders it: scrape annotations on the webhook pods,
// the ServiceMonitor (and the Service it selects) and the PodMonitor checked against the
// Prometheus Operator's schema (the local cluster has no Prometheus Operator, so no API server
// accepts them here), the NetworkPolicy's scrape rule, and a dashboard whose every query names a
// metric the webhook exports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PodMonitor, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { createMetrics } from '../../function/metrics';
import { CHART, helmAvailable, LICENSE, Obj, render } from '../support/chart';

const ON = { metrics: { serviceMonitor: { enabled: true }, podMonitor: { enabled: true }, dashboard: { enabled: true } } };
const find = (objects: Obj[], kind: string, name?: string) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
const podTemplate = (objects: Obj[]) => (find(objects, 'Deployment') ?? objects.find((o) => o.apiVersion?.startsWith('serving.knative.dev')))!.spec.template;
const selects = (selector: Obj, labels: Obj) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Every metric name the webhook exports, with a histogram's series. */
async function exported(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await createMetrics().registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

if (helmAvailable(test, 'the chart monitoring')) {
  test('by default: scrape annotations on the webhook pods, no monitor, no dashboard', () => {
    for (const values of [{}, { platform: 'deployment' }]) {
      const objects = render({ ...LICENSE, ...values });
      assert.equal(Object.fromEntries(Object.entries(podTemplate(objects).metadata.annotations).filter(([k]) => k.startsWith('prometheus.io/'))), {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '8080',
        'prometheus.io/path': '/metrics',
      });
      for (const kind of ['ServiceMonitor', 'PodMonitor']) assert.is(find(objects, kind), undefined, kind);
      assert.is(find(objects, 'ConfigMap', 'pando-webhook-dashboard'), undefined);
    }
    const off = podTemplate(render({ ...LICENSE, metrics: { scrapeAnnotations: false } }));
    assert.not.ok(Object.keys(off.metadata.annotations ?? {}).some((k) => k.startsWith('prometheus.io/')));
  });

  test('ServiceMonitor and PodMonitor: valid against the operator schema, selecting the webhook pods port 8080, on every platform', () => {
    for (const values of [{}, { platform: 'deployment' }]) {
      const objects = render({ ...LICENSE, ...values, ...ON });
      // Knative labels a revision's pods with their Service's name; a Deployment's come from its template.
      const labels = find(objects, 'Deployment') ? podTemplate(objects).metadata.labels : { 'serving.knative.dev/service': 'pando-webhook' };
      const serviceMonitor = find(objects, 'ServiceMonitor')!;
      const podMonitor = find(objects, 'PodMonitor')!;
      new ServiceMonitor(serviceMonitor as never).validate();
      new PodMonitor(podMonitor as never).validate();
      const service = find(objects, 'Service', 'pando-webhook-metrics')!;
      assert.ok(selects(serviceMonitor.spec.selector.matchLabels, service.metadata.labels), 'the ServiceMonitor selects the metrics Service');
      assert.ok(selects(service.spec.selector, labels), 'the metrics Service selects the webhook pods');
      assert.equal(service.spec.ports, [{ name: 'metrics', port: 8080, targetPort: 8080, protocol: 'TCP' }]);
      assert.is(serviceMonitor.spec.endpoints[0].port, 'metrics');
      assert.ok(selects(podMonitor.spec.selector.matchLabels, labels), 'the PodMonitor selects the webhook pods');
      assert.is(podMonitor.spec.podMetricsEndpoints[0].portNumber, 8080);
      for (const monitor of [serviceMonitor, podMonitor]) assert.equal(monitor.spec.namespaceSelector.matchNames, ['pando-system']);
    }
  });

  test('the NetworkPolicy lets metrics.scrapeNamespaces reach port 8080, and nobody when it is empty', () => {
    const ports = (objects: Obj[]) => find(objects, 'NetworkPolicy')!.spec.ingress.flatMap((rule: Obj) => rule.ports.map((p: Obj) => p.port));
    assert.not.ok(ports(render({ ...LICENSE, platform: 'deployment' })).includes(8080));
    const policy = find(render({ ...LICENSE, platform: 'deployment', metrics: { scrapeNamespaces: ['monitoring'] } }), 'NetworkPolicy')!;
    const rule = policy.spec.ingress.find((r: Obj) => r.ports[0].port === 8080);
    assert.equal(rule.from, [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] }] } }]);
  });

  test('the dashboard ConfigMap holds the chart file, and every query names a metric the webhook exports', async () => {
    const file = readFileSync(join(CHART, 'dashboards', 'pando-webhook.json'), 'utf8');
    const configMap = find(render({ ...LICENSE, ...ON }), 'ConfigMap', 'pando-webhook-dashboard')!;
    assert.is(configMap.metadata.labels.grafana_dashboard, '1');
    assert.is(configMap.data['pando-webhook.json'], file);
    const names = await exported();
    const queries = JSON.parse(file).panels.flatMap((p: Obj) => p.targets.map((t: Obj) => t.expr as string));
    assert.ok(queries.length >= 6);
    for (const query of queries) {
      const metrics = (query.match(/\b(pando_webhook_\w+|process_\w+|nodejs_\w+)/g) ?? []) as string[];
      assert.ok(metrics.length > 0, `${query} names no metric`);
      for (const metric of metrics) assert.ok(names.has(metric), `${metric} (in ${query}) is not exported`);
    }
  });
}

test.run();
