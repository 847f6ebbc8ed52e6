// kubectl pando enable NS --pull-secret-from SRCNS/NAME against a stand-in API server: the
// registry Secret's data reaches the namespace under its own name, as ours, and nothing else of
// the source does; a wrong or missing source writes nothing; disable takes the copy back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runPlugin } from '../test/support/cli';
import { startFakeApi, type FakeApi } from '../test/support/fake-api';
import { webhookObjects } from '../test/support/installed';
import type { Obj } from './kube';

const DOCKER_CONFIG = Buffer.from(JSON.stringify({ auths: { 'registry.example': { auth: Buffer.from('robot:s3cret').toString('base64') } } })).toString(
  'base64',
);
const OURS = { 'app.kubernetes.io/managed-by': 'kubectl-pando', 'app.kubernetes.io/part-of': 'pandocore' };

const secret = (namespace: string, name: string, type: string, extra: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type,
  metadata: { name, namespace, ...(extra.metadata ?? {}) },
  data: extra.data ?? { '.dockerconfigjson': DOCKER_CONFIG },
});
const base = (pullSecrets = ''): Obj[] => [
  ...webhookObjects({ PANDO_SIDECAR_IMAGE_PULL_SECRETS: pullSecrets }),
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
  secret('pando-system', 'pando-license', 'Opaque', { data: { 'license-key': Buffer.from('key-1').toString('base64') } }),
  secret('pando-system', 'regcred', 'kubernetes.io/dockerconfigjson', {
    metadata: {
      labels: { 'sealedsecrets.bitnami.com/managed': 'true' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      ownerReferences: [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'regcred', uid: 'u1' }],
    },
  }),
];

const pando = (fake: FakeApi, ...args: string[]) => runPlugin([...args, '--kubeconfig', fake.kubeconfig]);

async function withCluster(objects: Obj[], body: (fake: FakeApi) => Promise<void>) {
  const fake = await startFakeApi('plugin-token', { objects });
  try {
    await body(fake);
    assert.equal(fake.state.problems, [], 'requests a real API server would refuse');
  } finally {
    await fake.close();
  }
}

test('the data and type of the registry Secret, under its name, labelled as ours; not its labels, annotations or owners', async () => {
  await withCluster(base('regcred'), async (fake) => {
    const { code, stdout } = await pando(fake, 'enable', 'team-a', '--pull-secret-from', 'pando-system/regcred');
    assert.is(code, 0, stdout);
    const copy = fake.object('v1', 'Secret', 'regcred', 'team-a')!;
    assert.is(copy.type, 'kubernetes.io/dockerconfigjson');
    assert.equal(copy.data, { '.dockerconfigjson': DOCKER_CONFIG });
    assert.equal(copy.metadata.labels, OURS);
    assert.is(copy.metadata.annotations, undefined);
    assert.is(copy.metadata.ownerReferences, undefined);
    assert.match(stdout, /^secret\/regcred created$/m);
    assert.not.match(stdout, /note:/, 'the webhook already adds regcred to pods');
    assert.match(stdout, /namespace\/team-a labelled pandocore.xyz\/enabled=true\n/);
  });
});

test('a name the webhook does not add to pods is copied with a note naming the Helm value', async () => {
  await withCluster(base(''), async (fake) => {
    const { stdout } = await pando(fake, 'enable', 'team-a', '--pull-secret-from', 'pando-system/regcred');
    assert.match(
      stdout,
      /note: the webhook adds regcred to pods only when sidecar.imagePullSecrets lists it \(helm upgrade --set sidecar.imagePullSecrets=\{regcred\}\)/,
    );
  });
});

test('enable again after the source changed copies the new data', async () => {
  await withCluster(base('regcred'), async (fake) => {
    await pando(fake, 'enable', 'team-a', '--pull-secret-from', 'pando-system/regcred');
    fake.object('v1', 'Secret', 'regcred', 'pando-system')!.data['.dockerconfigjson'] = 'bmV3';
    const { stdout } = await pando(fake, 'enable', 'team-a', '--pull-secret-from', 'pando-system/regcred');
    assert.match(stdout, /^secret\/regcred applied$/m);
    assert.is(fake.object('v1', 'Secret', 'regcred', 'team-a')!.data['.dockerconfigjson'], 'bmV3');
  });
});

test('a source that is missing, not a registry Secret, or not NS/NAME: exit 2, nothing written', async () => {
  const objects = [...base(), secret('pando-system', 'opaque', 'Opaque')];
  await withCluster(objects, async (fake) => {
    for (const [from, message] of [
      ['pando-system/nope', 'Secret pando-system/nope not found'],
      [
        'pando-system/opaque',
        'Secret pando-system/opaque is of type Opaque, not kubernetes.io/dockerconfigjson (kubectl create secret docker-registry makes one)',
      ],
      ['regcred', 'regcred: NAMESPACE/NAME of a Secret'],
    ]) {
      fake.takeRequests();
      const { code, stderr } = await pando(fake, 'enable', 'team-a', '--pull-secret-from', from);
      assert.is(code, 2);
      assert.ok(stderr.includes(message), stderr);
      assert.equal(
        fake.takeRequests().filter((r) => !r.startsWith('GET ')),
        [],
      );
    }
  });
});

test("someone else's Secret of that name is kept; disable deletes only the copy enable made", async () => {
  const foreign = secret('team-b', 'regcred', 'kubernetes.io/dockerconfigjson', { data: { '.dockerconfigjson': 'b3RoZXI=' } });
  const objects = [...base('regcred'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } }, foreign];
  await withCluster(objects, async (fake) => {
    const kept = await pando(fake, 'enable', 'team-b', '--pull-secret-from', 'pando-system/regcred');
    assert.match(kept.stdout, /^secret\/regcred kept \(not made by kubectl pando\)$/m);
    assert.is(fake.object('v1', 'Secret', 'regcred', 'team-b')!.data['.dockerconfigjson'], 'b3RoZXI=');
    await pando(fake, 'enable', 'team-a', '--pull-secret-from', 'pando-system/regcred');
    const a = await pando(fake, 'disable', 'team-a');
    const b = await pando(fake, 'disable', 'team-b');
    assert.is(a.code + b.code, 0, a.stderr + b.stderr);
    assert.match(a.stdout, /^secret\/regcred deleted$/m);
    assert.is(fake.object('v1', 'Secret', 'regcred', 'team-a'), undefined);
    assert.ok(fake.object('v1', 'Secret', 'regcred', 'team-b'), 'not ours: kept');
    assert.ok(fake.object('v1', 'Secret', 'regcred', 'pando-system'), 'the source is never touched');
  });
});

test.run();
