// Per-pod sidecar sizing: valid annotations win, bad ones keep the configured value with a
// warning, and the operator can turn them off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from './admit';
import { inject } from './inject';
import { sidecarResources } from './overrides';
import { applyReview, podProblems, reviewFor } from '../test/support/apiserver';
import { defaultConfig } from '../test/support/config';

const pod = (annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels: { 'pandocore.xyz/protect': 'true' }, annotations },
  spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
});
const CONFIGURED = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } };
const sized = (annotations: Record<string, string>, config = defaultConfig) => {
  const warnings: string[] = [];
  return { resources: sidecarResources(pod(annotations), config, warnings), warnings };
};

test('without annotations, the configured requests and limits', () => {
  assert.equal(sized({}), { resources: CONFIGURED, warnings: [] });
});

test('each annotation sets its value, as the pod wrote it', () => {
  assert.equal(
    sized({
      'pandocore.xyz/sidecar-cpu-request': '100m',
      'pandocore.xyz/sidecar-cpu-limit': '1',
      'pandocore.xyz/sidecar-memory-request': '100Mi',
      'pandocore.xyz/sidecar-memory-limit': '0.5Gi',
    }),
    { resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '1', memory: '0.5Gi' } }, warnings: [] },
  );
});

test('a value that is not a quantity keeps the configured one, with a warning naming it', () => {
  assert.equal(sized({ 'pandocore.xyz/sidecar-memory-limit': 'lots', 'pandocore.xyz/sidecar-cpu-request': '-1' }), {
    resources: CONFIGURED,
    warnings: [
      'pandocore: pandocore.xyz/sidecar-cpu-request="-1" is not a quantity; using 50m',
      'pandocore: pandocore.xyz/sidecar-memory-limit="lots" is not a quantity; using 128Mi',
    ],
  });
});

test('a request above its limit keeps the configured pair for that resource, and only that one', () => {
  assert.equal(sized({ 'pandocore.xyz/sidecar-cpu-request': '500m', 'pandocore.xyz/sidecar-memory-request': '100Mi' }), {
    resources: { requests: { cpu: '50m', memory: '100Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    warnings: ['pandocore: sidecar cpu request 500m is above its limit; using 50m/200m'],
  });
});

test('turned off by the operator: the configured values, and one warning saying so', () => {
  assert.equal(sized({ 'pandocore.xyz/sidecar-cpu-limit': '2' }, { ...defaultConfig, resourceOverrides: false }), {
    resources: CONFIGURED,
    warnings: ['pandocore: sidecar resource annotations ignored: overrides are turned off in this cluster'],
  });
});

test('through admission: the sidecar gets the sizes, and pod-level resources count them', () => {
  const object = pod(
    { 'pandocore.xyz/sidecar-memory-request': '256Mi', 'pandocore.xyz/sidecar-memory-limit': '512Mi' },
    { resources: { requests: { memory: '1Gi' } } },
  );
  const answer = admit(reviewFor(object), defaultConfig);
  assert.ok(answer.ok);
  const after = applyReview(object, (answer as any).review);
  assert.is(podProblems(after), undefined);
  assert.equal(after.spec.containers[1].resources, { requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '200m', memory: '512Mi' } });
  assert.equal(after.spec.resources, { requests: { memory: '1280Mi' } });
});

test('a warning is never longer than the 120 characters kubectl shows', () => {
  const { warnings } = inject(pod({ 'pandocore.xyz/sidecar-memory-request': 'x'.repeat(300), 'pandocore.xyz/sidecar-memory-limit': '1e-9' }), defaultConfig);
  assert.ok(warnings.length > 0);
  for (const w of warnings) assert.ok(w.length <= 120, w);
});

test.run();
