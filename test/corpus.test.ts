// The real-world manifests in ../shared/corpus/pods (Pods, and workloads whose pod template
// becomes a pod with generateName), each with and without the protect label.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from '../function/admit';
import { formatQuantity } from '../function/quantity';
import type { Config } from '../function/config';
import { aggregateRequests, admittedPod, applyReview, podFromManifest, podProblems, reviewFor } from './support/apiserver';
import { defaultConfig } from './support/config';
import { corpusFiles } from './support/corpus';
import { LEVELS, securityLevel } from './support/podsecurity';

type Obj = Record<string, any>;

function answer(pod: Obj, config: Config = defaultConfig) {
  const result = admit(reviewFor(pod), config);
  if (!result.ok) throw new Error(result.error);
  return result;
}

const sidecars = (pod: Obj) => ['initContainers', 'containers'].flatMap((k) => pod.spec[k] ?? []).filter((c: Obj) => c.name === 'pando-sidecar').length;

const files = corpusFiles(test, 'the real-world corpus');
if (files.length > 0) {
  test('the corpus is there and holds pods', () => {
    assert.ok(files.length >= 50, `${files.length} files`);
  });

  for (const { file, docs } of files) {
    const pods = docs.map((d) => podFromManifest(d)).filter((p): p is Obj => p !== undefined);

    test(`${file}: without the protect label, the pod is left alone`, () => {
      assert.ok(pods.length > 0, 'no pod in this file');
      for (const template of pods) {
        const pod = admittedPod(template, template.metadata?.namespace ?? 'corpus');
        if (pod.metadata.labels) delete pod.metadata.labels['pandocore.xyz/protect'];
        const result = answer(pod);
        assert.is(result.review.response.patch, undefined);
        assert.is(result.record.reason, 'not_labelled');
      }
    });

    test(`${file}: with the protect label, the sidecar is injected correctly`, () => {
      for (const template of pods) {
        const pod = admittedPod(template, template.metadata?.namespace ?? 'corpus');
        pod.metadata.labels = { ...pod.metadata.labels, 'pandocore.xyz/protect': 'true' };
        const result = answer(pod);
        const excluded = defaultConfig.excludedNamespaces.has(pod.metadata.namespace);
        if (excluded || sidecars(pod) > 0) {
          assert.is(result.review.response.patch, undefined);
          continue;
        }
        assert.is(result.record.decision, 'inject', `${result.record.reason}`);
        const patched = applyReview(pod, result.review);
        assert.is(podProblems(patched), undefined);
        assert.is(sidecars(patched), 1);
        // Everything the pod had is still there, unchanged.
        assert.equal(patched.spec.containers.slice(0, -1), pod.spec.containers);
        for (const key of Object.keys(pod.spec)) {
          if (!['containers', 'serviceAccountName', 'serviceAccount', 'shareProcessNamespace'].includes(key))
            assert.equal(patched.spec[key], pod.spec[key], key);
        }
        for (const key of Object.keys(pod.metadata)) if (key !== 'annotations') assert.equal(patched.metadata[key], pod.metadata[key], key);
        for (const [k, v] of Object.entries(pod.metadata.annotations ?? {})) assert.is(patched.metadata.annotations[k], v);
        assert.is(patched.spec.shareProcessNamespace, pod.spec.hostPID === true ? pod.spec.shareProcessNamespace : true);
        // Never a weaker Pod Security level than before.
        assert.ok(LEVELS.indexOf(securityLevel(patched)) >= LEVELS.indexOf(securityLevel(pod)), `${securityLevel(pod)} -> ${securityLevel(patched)}`);
        // Reinvocation with the patched pod changes nothing.
        assert.is(answer(patched).review.response.patch, undefined);
      }
    });

    // Pod-level resources as tight as the API server allows: the pod requests exactly what its
    // containers request together (or a little, when they request nothing).
    for (const [shape, config] of [
      ['regular', defaultConfig],
      ['native', { ...defaultConfig, nativeSidecar: true }],
    ] as const) {
      test(`${file}: ${shape} sidecar: with tight pod-level resources, the injected pod is still valid`, () => {
        for (const template of pods) {
          const pod = admittedPod(template, 'corpus');
          if (pod.spec.os?.name === 'windows' || sidecars(pod) > 0) continue;
          pod.metadata.labels = { ...pod.metadata.labels, 'pandocore.xyz/protect': 'true' };
          const requests: Obj = { cpu: '10m', memory: '16Mi' };
          for (const [name, amount] of aggregateRequests(pod.spec)) if (name === 'cpu' || name === 'memory') requests[name] = formatQuantity(amount);
          pod.spec.resources = { requests };
          assert.is(podProblems(pod), undefined, 'valid before injection');
          const result = answer(pod, config);
          assert.is(result.record.decision, 'inject', `${result.record.reason}`);
          const patched = applyReview(pod, result.review);
          assert.is(podProblems(patched), undefined);
          assert.is(sidecars(patched), 1);
        }
      });
    }
  }
}

test('a pod meeting Pod Security restricted still meets it after injection', () => {
  const pod = admittedPod(
    {
      metadata: { generateName: 'api-', labels: { 'pandocore.xyz/protect': 'true' } },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'api',
            image: 'example/api:1',
            ports: [{ containerPort: 8080 }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
    'shop',
  );
  assert.is(securityLevel(pod), 'restricted');
  const patched = applyReview(pod, answer(pod).review);
  assert.is(securityLevel(patched), 'restricted');
});

test('a baseline pod that runs as root stays baseline, and the sidecar still runs as non-root', () => {
  const pod = admittedPod(
    {
      metadata: { generateName: 'legacy-', labels: { 'pandocore.xyz/protect': 'true' } },
      spec: { securityContext: { runAsUser: 0 }, containers: [{ name: 'legacy', image: 'example/legacy:1' }] },
    },
    'shop',
  );
  assert.is(securityLevel(pod), 'baseline');
  const patched = applyReview(pod, answer(pod).review);
  assert.is(securityLevel(patched), 'baseline');
  const sidecar = patched.spec.containers.at(-1);
  assert.is(sidecar.securityContext.runAsNonRoot, true);
  assert.ok(sidecar.securityContext.runAsUser > 0);
});

test.run();
