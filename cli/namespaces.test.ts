// kubectl pando enable and disable, as a user runs them (run() with --kubeconfig), against the
// fake API holding an install: what each creates, keeps and deletes, and what it refuses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enabledNamespace, installed, LICENSE, namespaceObject, onFakeApi } from '../test/support/installed';
import type { FakeApi } from '../test/support/fake-api';
import { runPlugin } from '../test/support/cli';

async function pando(fake: FakeApi, kubeconfig: string, args: string[]) {
  const answer = await runPlugin([...args, '--kubeconfig', kubeconfig]);
  assert.equal(fake.state.problems, []);
  return answer;
}
/** What the plugin prints: one line each. */
const lines = (...texts: string[]) => texts.map((text) => `${text}\n`).join('');
const OURS = { 'app.kubernetes.io/managed-by': 'kubectl-pando', 'app.kubernetes.io/part-of': 'pandocore' };

test('enable sets a namespace up, the label last and the license copied from the release; again, it changes nothing', async () => {
  const install = await installed();
  await onFakeApi(install.cluster([...install.objects, namespaceObject('team-b')]), async (kubeconfig, fake) => {
    const first = await pando(fake, kubeconfig, ['enable', 'team-b']);
    assert.is(first.code, 0, first.stderr);
    const created = ['serviceaccount', 'rolebinding'].map((kind) => `${kind}/pando-sidecar created`);
    assert.is(
      first.stdout,
      lines(
        ...created,
        'secret/pando-license created',
        'namespace/team-b labelled pandocore.xyz/enabled=true',
        'team-b enabled: new pods labelled pandocore.xyz/protect=true get the sidecar',
      ),
    );
    const writes = fake.takeRequests().filter((r) => r.startsWith('PATCH'));
    assert.match(writes[writes.length - 1], /^PATCH \/api\/v1\/namespaces\/team-b\?/, 'the label comes last');
    const secret = fake.object('v1', 'Secret', 'pando-license', 'team-b')!;
    assert.is(Buffer.from(secret.data['license-key'], 'base64').toString(), LICENSE);
    assert.equal(secret.metadata.labels, OURS);
    assert.equal(fake.object('rbac.authorization.k8s.io/v1', 'RoleBinding', 'pando-sidecar', 'team-b')!.subjects, [
      { kind: 'ServiceAccount', name: 'pando-sidecar', namespace: 'team-b' },
    ]);
    const again = await pando(fake, kubeconfig, ['enable', 'team-b']);
    assert.match(again.stdout, /^serviceaccount\/pando-sidecar applied\nrolebinding\/pando-sidecar applied\nsecret\/pando-license kept\n/);
    assert.is(Buffer.from(fake.object('v1', 'Secret', 'pando-license', 'team-b')!.data['license-key'], 'base64').toString(), LICENSE);
  });
});

test('enable of a missing namespace names --create, which creates it; the release namespace is refused', async () => {
  const install = await installed();
  await onFakeApi(install.cluster(), async (kubeconfig, fake) => {
    const missing = await pando(fake, kubeconfig, ['enable', 'team-c']);
    assert.is(missing.code, 2);
    assert.is(missing.stderr, 'kubectl pando: namespace team-c not found: add --create to create it, or kubectl create namespace team-c\n');
    const created = await pando(fake, kubeconfig, ['enable', 'team-c', '--create']);
    assert.is(created.code, 0, created.stderr);
    assert.match(created.stdout, /^namespace\/team-c created\n/);
    assert.equal(fake.object('v1', 'Namespace', 'team-c')!.metadata.labels, { 'pandocore.xyz/enabled': 'true' });
    const release = await pando(fake, kubeconfig, ['enable', 'pando-system']);
    assert.is(release.code, 2);
    assert.match(release.stderr, /pando-system is never injected/);
  });
});

test('enable keeps what someone else made, and never overwrites their license key', async () => {
  const install = await installed();
  const theirs = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pando-sidecar', namespace: 'team-b' } };
  const theirSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pando-license', namespace: 'team-b' }, data: { 'license-key': 'dGhlaXJz' } };
  await onFakeApi(install.cluster([...install.objects, namespaceObject('team-b'), theirs, theirSecret]), async (kubeconfig, fake) => {
    const enabled = await pando(fake, kubeconfig, ['enable', 'team-b']);
    assert.match(enabled.stdout, /serviceaccount\/pando-sidecar kept \(not made by kubectl pando\)\n/);
    assert.match(enabled.stdout, /secret\/pando-license kept \(not made by kubectl pando\)\n/);
    assert.equal(fake.object('v1', 'ServiceAccount', 'pando-sidecar', 'team-b')!.metadata.labels, undefined);
    const rotate = await pando(fake, kubeconfig, ['enable', 'team-b', '--license-file', '/dev/null']);
    assert.is(rotate.code, 2);
    assert.match(rotate.stderr, /Secret team-b\/pando-license was not made by kubectl pando: update its license-key yourself/);
    assert.is(fake.object('v1', 'Secret', 'pando-license', 'team-b')!.data['license-key'], 'dGhlaXJz');
  });
});

test('disable takes the label off first, then deletes what enable made; what others made stays', async () => {
  const install = await installed();
  const theirs = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pando-license', namespace: 'team-b' }, data: { 'license-key': 'dGhlaXJz' } };
  await onFakeApi(install.cluster([...install.objects, namespaceObject('team-b', { team: 'b' }), theirs]), async (kubeconfig, fake) => {
    assert.is((await pando(fake, kubeconfig, ['enable', 'team-b'])).code, 0);
    fake.takeRequests();
    const disabled = await pando(fake, kubeconfig, ['disable', 'team-b']);
    assert.is(disabled.code, 0, disabled.stderr);
    const deleted = ['rolebinding', 'serviceaccount'].map((kind) => `${kind}/pando-sidecar deleted`);
    assert.is(disabled.stdout, lines('namespace/team-b no longer labelled pandocore.xyz/enabled', ...deleted, 'team-b disabled'));
    const writes = fake.takeRequests().filter((r) => !r.startsWith('GET'));
    assert.match(writes[0], /^PATCH \/api\/v1\/namespaces\/team-b\?/, 'the label goes before anything else');
    assert.equal(fake.object('v1', 'Namespace', 'team-b')!.metadata.labels, { team: 'b' }, "the namespace's other labels stay");
    assert.ok(fake.object('v1', 'Secret', 'pando-license', 'team-b'), 'their license Secret stays');
    assert.is(fake.object('v1', 'ServiceAccount', 'pando-sidecar', 'team-b'), undefined);
  });
});

test('disable refuses a label another tool set, and a namespace the Helm release enables, naming the way out', async () => {
  const install = await installed();
  const objects = install.objects.map((o) =>
    o.kind === 'MutatingWebhookConfiguration'
      ? {
          ...o,
          webhooks: [
            ...o.webhooks,
            {
              ...o.webhooks[0],
              name: 'listed.pandocore.xyz',
              namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-h'] }] },
            },
          ],
        }
      : o,
  );
  await onFakeApi(install.cluster([...objects, ...enabledNamespace('team-h')]), async (kubeconfig, fake) => {
    // team-a's label was set by another field manager (kubectl label, here the seeded cluster).
    const labelled = await pando(fake, kubeconfig, ['disable', 'team-a']);
    assert.is(labelled.code, 2);
    assert.is(
      labelled.stderr,
      'kubectl pando: namespace team-a keeps pandocore.xyz/enabled (set by another tool): kubectl label namespace team-a pandocore.xyz/enabled-\n',
    );
    assert.ok(fake.object('v1', 'ServiceAccount', 'pando-sidecar', 'team-a'), 'nothing deleted while the webhook still selects it');
    const listed = await pando(fake, kubeconfig, ['disable', 'team-h']);
    assert.is(listed.code, 2);
    assert.match(listed.stderr, /team-h is enabled by the Helm release \(its namespaces value\): helm upgrade pando-webhook \.\.\. without it/);
  });
});

test.run();
