// kubectl pando enable --rotate-license against a stand-in API: the new key reaches every license
// Secret enable made, and nothing else is touched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rotateLicense } from './enable';
import { runPlugin } from '../test/support/cli';
import type { Kube, Obj } from './kube';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const OURS = { 'app.kubernetes.io/managed-by': 'kubectl-pando', 'app.kubernetes.io/part-of': 'pandocore' };
const secret = (namespace: string, key: string, labels?: Obj) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'pando-license', namespace, ...(labels ? { labels } : {}) },
  data: { 'license-key': b64(key) },
});

function fakeKube(objects: Obj[], labelled: string[], listed: string[] = []) {
  const applied: Obj[] = [];
  const mwc = {
    metadata: { name: 'pando-webhook' },
    webhooks: [
      { name: 'inject.pandocore.xyz', clientConfig: { service: { namespace: 'pando-system' } }, namespaceSelector: { matchExpressions: [] } },
      ...(listed.length
        ? [{ name: 'inject-listed', namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: listed }] } }]
        : []),
    ],
  };
  const kube = {
    get: async (_apiVersion: string, kind: string, name: string, namespace?: string) =>
      kind === 'MutatingWebhookConfiguration' ? mwc : objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace),
    list: async (_apiVersion: string, kind: string) => (kind === 'Namespace' ? [...labelled, ...listed].map((name) => ({ metadata: { name } })) : []),
    apply: async (object: Obj) => {
      applied.push(object);
      return object;
    },
  } as unknown as Kube;
  return { kube, applied };
}

test('the key of the release namespace reaches every Secret enable made; others are listed, not touched', async () => {
  const { kube, applied } = fakeKube(
    [
      secret('pando-system', 'new-key'),
      secret('team-a', 'old-key', OURS),
      secret('team-b', 'old-key', { owner: 'external-secrets' }),
      secret('team-c', 'new-key', OURS),
      secret('team-d', 'old-key'),
    ],
    ['team-a', 'team-b', 'team-c', 'team-e'],
    ['team-d'],
  );
  const done = await rotateLicense(kube);
  assert.equal(
    applied.map((o) => [o.metadata.namespace, Buffer.from(o.data['license-key'], 'base64').toString()]),
    [['team-a', 'new-key']],
  );
  assert.equal(applied[0].metadata.labels, OURS, 'still ours, so disable still removes it');
  assert.equal(done, [
    'team-a/secret/pando-license rotated',
    'team-b/secret/pando-license kept (not made by kubectl pando: update its license-key yourself)',
    'team-c/secret/pando-license already current',
    'team-d/secret/pando-license kept (the Helm release enables team-d: helm upgrade --set-file licenseKey=... rotates it)',
    'team-e/secret/pando-license missing (kubectl pando enable team-e makes it)',
  ]);
});

test('--license-file: that key, trimmed, everywhere enable made the Secret', async () => {
  const { kube, applied } = fakeKube([secret('pando-system', 'old-key'), secret('team-a', 'old-key', OURS)], ['team-a']);
  await rotateLicense(kube, { licenseKey: 'from-file\n' });
  assert.equal(
    applied.map((o) => Buffer.from(o.data['license-key'], 'base64').toString()),
    ['from-file'],
  );
});

test('enable --rotate-license takes no namespace', async () => {
  const { code, stderr } = await runPlugin(['enable', '--rotate-license', 'team-a']);
  assert.is(code, 2);
  assert.match(stderr, /--rotate-license takes no namespace/);
});

test.run();
