// GitOps: a `helm upgrade --reuse-values` with nothing changed must change nothing in the
// cluster, or Argo CD and Flux would see the release drift on every reconcile. Every object of the
// release is read before and after (resourceVersion, generation, the object itself); a write the
// upgrade made, even one that leaves the spec as it was (a managedFields timestamp), fails. What
// is filled in at run time (the caBundle, the TLS Secrets' data) is kept as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { helmOk, kubectlOk } from '../harness/kubeconfig';
import { CHART, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { cluster, type Obj } from './context';

const manifest = () =>
  parseAllDocuments(helmOk(cluster, ['get', 'manifest', RELEASE, '-n', SYSTEM_NAMESPACE]))
    .map((d) => d.toJS() as Obj)
    .filter((d) => d && typeof d === 'object' && d.kind);

const idOf = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Every object of the release as the API server has it now, by kind/namespace/name. */
function snapshot(): Map<string, Obj> {
  const docs = manifest();
  const input = docs.map((d) => JSON.stringify(d)).join('\n---\n');
  const listed = JSON.parse(kubectlOk(cluster, ['get', '-f', '-', '-n', SYSTEM_NAMESPACE, '-o', 'json'], input));
  const items: Obj[] = listed.kind === 'List' ? listed.items : [listed];
  assert.is(items.length, docs.length, 'every object of the manifest is in the cluster');
  return new Map(items.map((o) => [idOf(o), o]));
}

/** The object without what its controllers write (status): a difference here is a write to it. */
const content = (o: Obj) => {
  const { status: _status, ...rest } = o;
  const { resourceVersion: _rv, ...metadata } = rest.metadata;
  return { ...rest, metadata };
};

/** The paths at which two JSON values differ, for the message. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a as Obj), ...Object.keys(b as Obj)]);
    return [...keys].flatMap((k) => differences((a as Obj)[k], (b as Obj)[k], `${path}/${k}`));
  }
  return [path || '/'];
}

test('helm upgrade --reuse-values with unchanged values changes no object of the release', () => {
  const revision = () => JSON.parse(helmOk(cluster, ['status', RELEASE, '-n', SYSTEM_NAMESPACE, '-o', 'json'])).version as number;
  const before = snapshot();
  const first = revision();
  const caBundles = (objects: Map<string, Obj>) =>
    [...objects.values()].filter((o) => o.kind === 'MutatingWebhookConfiguration').flatMap((o) => o.webhooks.map((w: Obj) => w.clientConfig.caBundle));
  assert.ok(caBundles(before).length > 0 && caBundles(before).every(Boolean), 'the caBundle was filled in at run time');
  assert.ok(before.size >= 10, `${before.size} objects`);

  helmOk(cluster, ['upgrade', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--reuse-values']);
  assert.is(revision(), first + 1, 'the upgrade ran');

  const after = snapshot();
  assert.equal([...after.keys()].sort(), [...before.keys()].sort(), 'the same objects');
  const changed: string[] = [];
  const statusOnly: string[] = [];
  for (const [id, old] of before) {
    const now = after.get(id)!;
    if (now.metadata.generation !== old.metadata.generation) changed.push(`${id}: generation ${old.metadata.generation} -> ${now.metadata.generation}`);
    if (now.metadata.resourceVersion === old.metadata.resourceVersion) continue;
    const paths = differences(content(old), content(now));
    // A controller updating status in the meantime is no write of the upgrade.
    if (paths.length === 0) statusOnly.push(id);
    else changed.push(`${id}: ${paths.join(', ')}`);
  }
  assert.equal(changed, [], `written by the upgrade:\n${changed.join('\n')}`);
  assert.equal(caBundles(after), caBundles(before), 'the caBundle kept');
  for (const [id, old] of before) {
    if (old.kind === 'Secret') assert.equal(after.get(id)!.data, old.data, `${id}: its data kept`);
  }
  if (statusOnly.length) console.log(`status written by controllers meanwhile (not by the upgrade): ${statusOnly.join(', ')}`);
});

test.run();
