// uninject: the pod inject() was given, back again, from what the status annotation recorded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from './admit';
import { inject } from './inject';
import { uninject } from './uninject';
import { admittedPod, applyReview, podFromManifest, reviewFor } from '../test/support/apiserver';
import { defaultConfig } from '../test/support/config';
import { corpusFiles } from '../test/support/corpus';

type Obj = Record<string, any>;
const native = { ...defaultConfig, nativeSidecar: true };
const shapes = [
  ['regular', defaultConfig],
  ['native', native],
] as const;

const pod = (spec: Obj = {}, metadata: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { 'pandocore.xyz/protect': 'true' }, ...metadata },
  spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
});

for (const [shape, config] of shapes) {
  test(`${shape}: every field inject set is given back as it was, or removed when it was absent`, () => {
    for (const input of [
      pod(),
      pod({ shareProcessNamespace: false, serviceAccountName: 'pando-sidecar', serviceAccount: 'pando-sidecar' }, { annotations: { team: 'shop' } }),
      pod({ serviceAccountName: 'shop-api', initContainers: [{ name: 'migrate', image: 'migrate:1' }] }),
      pod({ resources: { requests: { memory: '1G' }, limits: { cpu: '1' } } }),
    ]) {
      const injected = inject(input, config, { offline: true }).pod;
      assert.equal(uninject(injected), input);
    }
    // The default account, like an absent one, is given back absent.
    const defaulted = pod({ serviceAccountName: 'default', serviceAccount: 'default' });
    assert.equal(uninject(inject(defaulted, config).pod), pod());
  });

  test(`${shape}: a pod the webhook injected at admission comes back as the API server had it`, () => {
    const admitted = admittedPod(pod({ resources: { requests: { cpu: '500m' } } }), 'shop');
    const answer = admit(reviewFor(admitted), config);
    assert.ok(answer.ok);
    const stored = applyReview(admitted, (answer as any).review);
    // The default account is recorded as absent: the API server would set it again.
    const { serviceAccountName, serviceAccount, ...spec } = admitted.spec;
    assert.equal([serviceAccountName, serviceAccount], ['default', 'default']);
    assert.equal(uninject(stored), { ...admitted, spec });
  });
}

test("the sidecar's pull secrets: added once each, after the pod's own, and taken back out by uninject", () => {
  const config = { ...defaultConfig, imagePullSecrets: ['regcred', 'mirror'] };
  const own = pod({ imagePullSecrets: [{ name: 'app-pull' }, { name: 'regcred' }] });
  const injected = inject(own, config).pod as Obj;
  assert.equal(injected.spec.imagePullSecrets, [{ name: 'app-pull' }, { name: 'regcred' }, { name: 'mirror' }]);
  assert.equal(uninject(injected), own);
  const bare = pod();
  const added = inject(bare, config).pod as Obj;
  assert.equal(added.spec.imagePullSecrets, [{ name: 'regcred' }, { name: 'mirror' }]);
  assert.equal(uninject(added), bare);
  assert.is((inject(bare, defaultConfig).pod as Obj).spec.imagePullSecrets, undefined, 'none configured: none added');
  const answer = admit(reviewFor(admittedPod(bare, 'shop')), config);
  assert.ok(answer.ok && JSON.parse(Buffer.from(answer.review.response.patch!, 'base64').toString()).some((op: Obj) => op.path === '/spec/imagePullSecrets'));
});

test('a pod without our status annotation is not ours: undefined, even with a container named pando-sidecar', () => {
  assert.is(uninject(pod()), undefined);
  assert.is(
    uninject(
      pod({
        containers: [
          { name: 'app', image: 'nginx' },
          { name: 'pando-sidecar', image: 'other' },
        ],
      }),
    ),
    undefined,
  );
});

test('an injection recorded before the restore record: the sidecar, the annotation and the pod-level share come out', () => {
  const old = pod(
    {
      containers: [
        { name: 'app', image: 'nginx' },
        { name: 'pando-sidecar', image: 'ghcr.io/pandocore/pando-sidecar:0.9.0', resources: { requests: { memory: '64Mi' } } },
      ],
      resources: { requests: { memory: '164Mi' } },
      shareProcessNamespace: true,
    },
    { annotations: { 'pandocore.xyz/status': '{"image":"ghcr.io/pandocore/pando-sidecar:0.9.0","mode":"monitor","version":"0.0.9"}' } },
  );
  const back = uninject(old) as Obj;
  assert.equal(back.spec.containers, [{ name: 'app', image: 'nginx' }]);
  assert.equal(back.spec.resources, { requests: { memory: '100Mi' } });
  assert.is(back.spec.shareProcessNamespace, true, 'not recorded, so kept');
  assert.equal(back.metadata.annotations, {});
});

const corpus = corpusFiles(test, 'uninject over the real-world corpus');
for (const [shape, config] of corpus.length ? shapes : []) {
  test(`corpus, ${shape}: uninject(inject(pod)) is the pod, for every corpus pod`, () => {
    let checked = 0;
    for (const { docs } of corpus) {
      for (const doc of docs) {
        const template = podFromManifest(doc);
        if (!template) continue;
        const input = { ...template, metadata: { ...template.metadata, labels: { ...template.metadata?.labels, 'pandocore.xyz/protect': 'true' } } };
        const injection = inject(input, config, { offline: true });
        assert.equal(uninject(injection.pod), input);
        checked++;
      }
    }
    assert.ok(checked >= 50, `${checked} pods`);
  });
}

test.run();
