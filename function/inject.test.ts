// inject: a pod in, the injected pod out, with its warnings. No HTTP, no mocks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from './admit';
import { inject } from './inject';
import { applyReview, decodePatch, podProblems, reviewFor } from '../test/support/apiserver';
import { defaultConfig, TEST_VERSION } from '../test/support/config';

const TOKEN = { name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true };
const pod = (spec: Record<string, unknown> = {}, annotations?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels: { 'pandocore.xyz/protect': 'true' }, ...(annotations ? { annotations } : {}) },
  spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'nginx', volumeMounts: [TOKEN] }], ...spec },
});

test('the pod out: the sidecar appended, process namespace shared, the pando-sidecar account, the status annotation', () => {
  const input = pod();
  const { pod: out, warnings, mode } = inject(input, defaultConfig);
  assert.equal(warnings, []);
  assert.is(mode, 'monitor');
  const spec = out.spec as any;
  assert.equal(spec.containers[0], input.spec.containers[0]);
  const sidecar = spec.containers[1];
  assert.is(sidecar.name, 'pando-sidecar');
  assert.is(sidecar.image, 'ghcr.io/pandocore/pando-sidecar:1.0.0');
  assert.equal(sidecar.env, [
    { name: 'PANDO_MODE', value: 'monitor' },
    { name: 'PANDO_LICENSE_KEY', valueFrom: { secretKeyRef: { name: 'pando-license', key: 'license-key' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
  ]);
  assert.equal(sidecar.volumeMounts, [TOKEN]);
  assert.is(sidecar.securityContext.runAsNonRoot, true);
  assert.is(spec.shareProcessNamespace, true);
  assert.is(spec.serviceAccountName, 'pando-sidecar');
  assert.equal(JSON.parse((out.metadata as any).annotations['pandocore.xyz/status']), {
    image: 'ghcr.io/pandocore/pando-sidecar:1.0.0',
    mode: 'monitor',
    version: TEST_VERSION,
    // What uninject gives back: these were absent (the default account counts as absent).
    restore: { shareProcessNamespace: null, serviceAccountName: null, annotations: null },
  });
  // The input is never changed.
  assert.equal(input, pod());
});

test('the mode annotation chooses the mode; a bad one falls back with a warning', () => {
  assert.is(inject(pod({}, { 'pandocore.xyz/mode': 'enforce' }), defaultConfig).mode, 'enforce');
  const bad = inject(pod({}, { 'pandocore.xyz/mode': 'loud' }), defaultConfig);
  assert.is(bad.mode, 'monitor');
  assert.equal(bad.warnings, ['pandocore: pandocore.xyz/mode="loud" is not monitor|enforce|debug; using monitor']);
});

test('a pod naming its own account keeps it, and is told which ClusterRole to bind', () => {
  const { pod: out, warnings } = inject(pod({ serviceAccountName: 'shop-api' }), defaultConfig);
  assert.is((out.spec as any).serviceAccountName, 'shop-api');
  assert.equal(warnings, ['pandocore: service account "shop-api" kept: bind ClusterRole pando-sidecar to it']);
});

test("the ClusterRole named is the chart's pando-sidecar, even when the sidecar account has another name", () => {
  const config = { ...defaultConfig, serviceAccount: 'team-sidecar' };
  assert.equal(inject(pod({ serviceAccountName: 'shop-api' }), config).warnings, [
    'pandocore: service account "shop-api" kept: bind ClusterRole pando-sidecar to it',
  ]);
  assert.is((inject(pod(), config).pod.spec as any).serviceAccountName, 'team-sidecar');
});

test('hostPID, hostNetwork, Job restart policies and no token each give their warning', () => {
  const { pod: out, warnings } = inject(
    pod({ hostPID: true, hostNetwork: true, restartPolicy: 'Never', containers: [{ name: 'app', image: 'nginx' }] }),
    defaultConfig,
  );
  assert.is((out.spec as any).shareProcessNamespace, undefined);
  assert.equal(warnings, [
    'pandocore: hostPID pod: shareProcessNamespace not set (the API server rejects both)',
    'pandocore: no service account token is mounted: the sidecar runs without API access',
    'pandocore: hostNetwork pod: the sidecar health port 9901 binds on the node',
    'pandocore: restartPolicy Never: the sidecar keeps the pod running (sidecar.native=true lets it end)',
  ]);
});

const native = { ...defaultConfig, nativeSidecar: true };

test('native: the sidecar is the first init container, with restartPolicy Always and the same probes, env and security context', () => {
  const input = pod({ initContainers: [{ name: 'migrate', image: 'migrate:1' }] });
  const { pod: out } = inject(input, native);
  const spec = out.spec as any;
  assert.equal(spec.containers, input.spec.containers, 'the app containers are untouched');
  assert.equal(
    spec.initContainers.map((c: any) => c.name),
    ['pando-sidecar', 'migrate'],
  );
  const regular = (inject(input, defaultConfig).pod.spec as any).containers[1];
  assert.equal(spec.initContainers[0], { ...regular, restartPolicy: 'Always' });
  assert.is(spec.shareProcessNamespace, true);
  assert.is(spec.serviceAccountName, 'pando-sidecar');
});

test('native: a Job pod gets no warning, since the pod can finish', () => {
  assert.equal(inject(pod({ restartPolicy: 'Never' }), native).warnings, []);
  assert.equal(inject(pod({ restartPolicy: 'OnFailure' }), native).warnings, []);
});

test('native: the patch adds the init container in one operation, with or without other init containers; sent again, nothing', () => {
  for (const [initContainers, op] of [
    [undefined, { op: 'add', path: '/spec/initContainers' }],
    [[{ name: 'migrate', image: 'migrate:1' }], { op: 'add', path: '/spec/initContainers/0' }],
  ] as const) {
    const object = pod(initContainers ? { initContainers } : {});
    const answer = admit(reviewFor(object), native);
    assert.ok(answer.ok);
    if (!answer.ok) continue;
    const ops = decodePatch(answer.review).filter((o) => o.path.startsWith('/spec/initContainers'));
    assert.equal(
      ops.map((o) => ({ op: o.op, path: o.path })),
      [op],
    );
    const after = applyReview(object, answer.review);
    assert.is(podProblems(after), undefined);
    const again = admit(reviewFor(after), native);
    assert.ok(again.ok && again.review.response.patch === undefined && again.record.reason === 'already_injected');
  }
});

// Pod-level resources: the real API server refused these pods after injection ("must be greater
// than or equal to aggregate container requests of 114Mi"); podProblems checks as it does.
const withPodResources = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  pod({
    resources,
    containers: [{ name: 'app', image: 'nginx', volumeMounts: [TOKEN], resources: { requests: { cpu: '250m', memory: '50Mi' } } }],
    ...extra,
  });

for (const [shape, config] of [
  ['regular', defaultConfig],
  ['native', native],
] as const) {
  test(`${shape}: a pod with pod-level resources stays valid: the sidecar's requests and limits are added, with a warning`, () => {
    const object = withPodResources({ requests: { cpu: '500m', memory: '100Mi' }, limits: { cpu: '1', memory: '200Mi' } });
    assert.is(podProblems(object), undefined, 'valid as written');
    const answer = admit(reviewFor(object), config);
    assert.ok(answer.ok);
    if (!answer.ok) return;
    const after = applyReview(object, answer.review);
    assert.is(podProblems(after), undefined);
    assert.equal(after.spec.resources, { requests: { cpu: '550m', memory: '164Mi' }, limits: { cpu: '1200m', memory: '328Mi' } });
    assert.ok(
      answer.review.response.warnings?.includes(
        'pandocore: spec.resources raised for the sidecar: requests cpu +50m memory +64Mi; limits cpu +200m memory +128Mi',
      ),
    );
  });

  test(`${shape}: an init container that needs the whole pod still fits beside the sidecar`, () => {
    const object = withPodResources(
      { requests: { memory: '1Gi' } },
      { initContainers: [{ name: 'migrate', image: 'migrate:1', resources: { requests: { memory: '1Gi' } } }] },
    );
    assert.is(podProblems(object), undefined, 'valid as written');
    const after = applyReview(object, (admit(reviewFor(object), config) as any).review);
    assert.is(podProblems(after), undefined);
    assert.equal(after.spec.resources, { requests: { memory: '1088Mi' } });
  });
}

test('only what the pod declares is raised; a pod without pod-level resources gets none', () => {
  const { pod: out } = inject(withPodResources({ limits: { memory: '1G' } }), defaultConfig);
  assert.equal((out.spec as any).resources, { limits: { memory: '1134217728' } });
  assert.is((inject(pod(), defaultConfig).pod.spec as any).resources, undefined);
  const cpuOnly = inject(withPodResources({ requests: { 'hugepages-2Mi': '2Mi' } }), defaultConfig);
  assert.equal((cpuOnly.pod.spec as any).resources, { requests: { 'hugepages-2Mi': '2Mi' } });
  assert.equal(cpuOnly.warnings, []);
});

test('a pod-level value that is not a quantity is left for the API server to refuse, with a warning', () => {
  const input = withPodResources({ requests: { memory: 'lots' } });
  const { pod: out, warnings } = inject(input, defaultConfig);
  assert.is((out.spec as any).resources, (input.spec as any).resources);
  assert.equal(warnings, ['pandocore: spec.resources.requests.memory is not a quantity; left as is']);
});

test('offline (kubectl pando inject): no token warning, since the API server mounts it later, unless the pod opts out', () => {
  const manifest = pod({ containers: [{ name: 'app', image: 'nginx' }] });
  assert.equal(inject(manifest, defaultConfig, { offline: true }).warnings, []);
  assert.equal(inject(pod({ containers: [{ name: 'app', image: 'nginx' }], automountServiceAccountToken: false }), defaultConfig, { offline: true }).warnings, [
    'pandocore: no service account token is mounted: the sidecar runs without API access',
  ]);
});

test.run();
