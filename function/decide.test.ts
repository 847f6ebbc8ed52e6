// shouldInject: a request and a pod in, a decision (and its reason) out. No HTTP, no mocks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AdmissionRequest } from './admission';
import { shouldInject, SKIP_REASONS } from './decide';
import { defaultConfig } from '../test/support/config';

const pod = (
  labels: Record<string, string> = { 'pandocore.xyz/protect': 'true' },
  spec: object = { containers: [{ name: 'app', image: 'nginx' }] },
  annotations?: Record<string, string>,
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels, ...(annotations ? { annotations } : {}) },
  spec,
});
const OURS = { 'pandocore.xyz/status': '{"image":"ghcr.io/pandocore/pando-sidecar:1.0.0","mode":"monitor","version":"0.1.0"}' };

const request = (overrides: Partial<AdmissionRequest> = {}): AdmissionRequest =>
  ({
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'shop',
    ...overrides,
  }) as AdmissionRequest;

test('a labelled pod created in an ordinary namespace is injected', () => {
  assert.equal(shouldInject(request(), pod(), defaultConfig), { inject: true });
});

const skips: Array<[string, AdmissionRequest, unknown, keyof typeof SKIP_REASONS, boolean]> = [
  [
    'a Deployment',
    request({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } }),
    pod(),
    'not_pod',
    false,
  ],
  ['a pod subresource', request({ subResource: 'status' }), pod(), 'subresource', false],
  ['an UPDATE', request({ operation: 'UPDATE' }), pod(), 'not_create', false],
  ['no label', request(), pod({}), 'not_labelled', false],
  ['the label "True"', request(), pod({ 'pandocore.xyz/protect': 'True' }), 'not_labelled', false],
  ["the webhook's namespace", request({ namespace: 'pando-system' }), pod(), 'system_namespace', false],
  ['an excluded namespace', request({ namespace: 'kube-system' }), pod(), 'excluded_namespace', false],
  ['containers not a list', request(), pod(undefined, { containers: 'app' }), 'malformed_pod', true],
  ['no containers', request(), pod(undefined, { containers: [] }), 'malformed_pod', true],
  ['our sidecar already there', request(), pod(undefined, { containers: [{ name: 'app' }, { name: 'pando-sidecar' }] }, OURS), 'already_injected', false],
  [
    'our native sidecar already there',
    request(),
    pod(undefined, { containers: [{ name: 'app' }], initContainers: [{ name: 'pando-sidecar', restartPolicy: 'Always' }] }, OURS),
    'already_injected',
    false,
  ],
  [
    'a pando-sidecar container that is not ours',
    request(),
    pod(undefined, { containers: [{ name: 'app' }, { name: 'pando-sidecar' }] }),
    'foreign_sidecar',
    true,
  ],
  [
    'a pando-sidecar init container that is not ours',
    request(),
    pod(undefined, { containers: [{ name: 'app' }], initContainers: [{ name: 'pando-sidecar' }] }, { unrelated: 'x' }),
    'foreign_sidecar',
    true,
  ],
  ['a Windows pod', request(), pod(undefined, { os: { name: 'windows' }, containers: [{ name: 'app' }] }), 'windows_pod', true],
];

for (const [what, req, object, reason, warned] of skips) {
  test(`${what}: skipped as ${reason}${warned ? ', with a warning' : ''}`, () => {
    const decision = shouldInject(req, object, defaultConfig);
    assert.equal(decision.inject ? undefined : [decision.reason, decision.message, Boolean(decision.warning)], [reason, SKIP_REASONS[reason], warned]);
    if (!decision.inject && decision.warning) assert.match(decision.warning, /^pandocore: /);
  });
}

test('the namespace comes from the pod when the request has none', () => {
  const decision = shouldInject(request({ namespace: undefined }), { ...pod(), metadata: { ...pod().metadata, namespace: 'kube-public' } }, defaultConfig);
  assert.is(decision.inject ? undefined : decision.reason, 'excluded_namespace');
});

test('the foreign sidecar warning names the conflict and the fix', () => {
  const decision = shouldInject(request(), pod(undefined, { containers: [{ name: 'app' }, { name: 'pando-sidecar' }] }), defaultConfig);
  assert.is(decision.inject ? undefined : decision.warning, 'pandocore: sidecar not injected: the pod has its own container named pando-sidecar; rename it');
});

test.run();
