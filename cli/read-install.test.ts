// Reading an install without a cluster: the webhook's env from each platform's workload, and
// each platform's readiness as its controller reports it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enabledNamespaces, envOf, workloadReadiness, type Install } from './read-install';
import type { Kube } from './kube';
import { renderStatus } from './status';

const podTemplate = (env: object[]) => ({ spec: { template: { spec: { containers: [{ name: 'pando-webhook', env }] } } } });

test('the env of a Knative Service or Deployment (plain values only), and of an OpenFaaS Function', () => {
  const env = [
    { name: 'PANDO_DEFAULT_MODE', value: 'enforce' },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
  assert.equal(envOf('knative', podTemplate(env)), { PANDO_DEFAULT_MODE: 'enforce' });
  assert.equal(envOf('deployment', podTemplate(env)), { PANDO_DEFAULT_MODE: 'enforce' });
  assert.equal(envOf('openfaas', { spec: { environment: { PANDO_DEFAULT_MODE: 'debug' } } }), { PANDO_DEFAULT_MODE: 'debug' });
  assert.equal(envOf('knative', {}), {});
});

test('readiness as each platform reports it', () => {
  const ready = (status: string) => ({ status: { conditions: [{ type: 'Ready', status, message: status === 'False' ? 'RevisionFailed' : undefined }] } });
  assert.equal(workloadReadiness('knative', ready('True')), { ready: true, detail: 'Ready=True' });
  assert.equal(workloadReadiness('knative', ready('False')), { ready: false, detail: 'Ready=False: RevisionFailed' });
  assert.is(workloadReadiness('knative', {}).ready, false, 'no Knative controller has looked at it yet');
  const revisionFailed = {
    status: {
      conditions: [
        { type: 'Ready', status: 'False', reason: 'RevisionFailed', message: 'Revision "pando-webhook-00002" failed' },
        { type: 'ConfigurationsReady', status: 'False', reason: 'RevisionFailed', message: 'Revision "pando-webhook-00002" failed' },
        { type: 'RoutesReady', status: 'True' },
      ],
    },
  };
  assert.equal(workloadReadiness('knative', revisionFailed), {
    ready: false,
    detail: 'Ready=False; ConfigurationsReady=False RevisionFailed: Revision "pando-webhook-00002" failed',
  });
  assert.equal(workloadReadiness('deployment', { spec: { replicas: 2 }, status: { availableReplicas: 1 } }), { ready: true, detail: '1/2 replicas available' });
  assert.equal(workloadReadiness('deployment', { spec: { replicas: 2 }, status: {} }), { ready: false, detail: '0/2 replicas available' });
  assert.is(workloadReadiness('openfaas', { status: { availableReplicas: 2 } }).ready, true);
  assert.is(workloadReadiness('openfaas', {}).ready, false);
});

test('status: current pods, stale ones, and a restart per rolling workload; bare pods to re-create', () => {
  const text = renderStatus({
    configuredImage: 'ghcr.io/pandocore/pando-sidecar:1.1.0',
    pods: [
      { namespace: 'shop', pod: 'web-1', image: 'ghcr.io/pandocore/pando-sidecar:1.1.0', mode: 'monitor', current: true, workload: 'Deployment/web' },
      { namespace: 'shop', pod: 'api-1', image: 'ghcr.io/pandocore/pando-sidecar:1.0.0', mode: 'enforce', current: false, workload: 'Deployment/api' },
      { namespace: 'shop', pod: 'debug', image: 'ghcr.io/pandocore/pando-sidecar:1.0.0', mode: 'debug', current: false },
    ],
    restarts: ['kubectl rollout restart deployment/api -n shop'],
    reinject: ['deployment/cart -n shop'],
  });
  assert.match(text, /^configured sidecar image: ghcr\.io\/pandocore\/pando-sidecar:1\.1\.0\n/);
  assert.match(text, /shop +api-1 +ghcr\.io\/pandocore\/pando-sidecar:1\.0\.0 +enforce +no +Deployment\/api/);
  assert.match(text, /2 pod\(s\) do not run ghcr\.io\/pandocore\/pando-sidecar:1\.1\.0\./);
  assert.match(text, /\n {2}kubectl rollout restart deployment\/api -n shop\n/);
  assert.match(text, /Injected offline \(a restart brings the same sidecar back\)[^\n]*\n {2}deployment\/cart -n shop\n/);
  assert.match(text, /Re-create by hand \(no rolling workload owns them\):\n {2}shop\/debug\n/);
});

test('enabled namespaces: labelled ones, not those being deleted, and those the release lists', async () => {
  const namespaces = [
    { metadata: { name: 'team-a' }, status: { phase: 'Active' } },
    { metadata: { name: 'going' }, status: { phase: 'Terminating' } },
  ];
  const kube = { list: async () => namespaces } as unknown as Kube;
  const install = {
    webhookConfiguration: {
      webhooks: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-b'] }] } }],
    },
  } as unknown as Install;
  assert.equal(await enabledNamespaces(kube, install), { labelled: ['team-a'], listed: ['team-b'] });
});

test.run();
