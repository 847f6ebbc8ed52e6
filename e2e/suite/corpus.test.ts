// Every workload of ../shared/corpus/pods, its pod template created as a Pod on the real API
// server: injected as the webhook promises, and Pod Security admission (baseline, restricted)
// accepts the injected pod exactly when it accepts the original.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectlOk } from '../harness/kubeconfig';
import { podFromManifest } from '../../test/support/apiserver';
import { corpusFiles } from '../../test/support/corpus';
import { cluster, containersNamed, createPod, enabledNamespace, mapLimit, PROTECT, unique, type Obj } from './context';
import { assertInjected, assertUntouched } from './checks';

interface Case {
  file: string;
  pod: Obj;
}

const corpus = corpusFiles(test, 'the e2e corpus suite');
const cases: Case[] = corpus.flatMap(({ file, docs }) =>
  docs
    .map((doc) => podFromManifest(doc))
    .filter((pod): pod is Obj => pod !== undefined)
    .map((pod) => ({ file, pod })),
);

const LEVELS = { privileged: 'e2e-corpus', baseline: 'e2e-corpus-baseline', restricted: 'e2e-corpus-restricted' } as const;

/** The corpus pod as a pod of its own in namespace, named uniquely, with or without the label. */
function asPod(pod: Obj, labelled: boolean): Obj {
  const copy = structuredClone(pod);
  const labels = { ...(copy.metadata.labels ?? {}) };
  if (labelled) Object.assign(labels, PROTECT);
  else delete labels['pandocore.xyz/protect'];
  copy.metadata = { ...copy.metadata, name: unique('corpus'), labels };
  delete copy.metadata.generateName;
  delete copy.metadata.namespace;
  return copy;
}

/** The accounts the corpus pods name, as their own install would have created them. */
function createAccounts(namespace: string) {
  const names = new Set(cases.map((c) => c.pod.spec?.serviceAccountName ?? c.pod.spec?.serviceAccount).filter((n) => n && n !== 'default'));
  const docs = [...names].map((name) => JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } }));
  if (docs.length) kubectlOk(cluster, ['apply', '-f', '-'], docs.join('\n---\n'));
}

if (corpus.length > 0) {
  test('the corpus is there and holds pods', () => {
    assert.ok(cases.length >= 50, `${cases.length} pods`);
  });
}

/**
 * The pod hardened for Pod Security restricted, as a team would before moving to it: non-root,
 * RuntimeDefault seccomp, no privilege escalation, all capabilities dropped, no host namespaces.
 * Without it no corpus pod meets restricted, and the restricted comparison would mean nothing.
 */
function hardened(pod: Obj): Obj {
  const copy = structuredClone(pod);
  const spec = copy.spec;
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) delete spec[key];
  spec.volumes = (spec.volumes ?? []).filter((v: Obj) => !v.hostPath);
  const kept = new Set(spec.volumes.map((v: Obj) => v.name));
  spec.securityContext = { ...spec.securityContext, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  if (spec.securityContext.runAsUser === 0) delete spec.securityContext.runAsUser;
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    container.securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true };
    container.volumeMounts = (container.volumeMounts ?? []).filter((m: Obj) => kept.has(m.name));
    for (const port of container.ports ?? []) delete port.hostPort;
  }
  return copy;
}

test('every corpus pod, labelled, is stored with one sidecar, the mode, the license and the Downward API; the API server refuses it only when it refuses the original', async () => {
  const namespace = enabledNamespace(LEVELS.privileged);
  createAccounts(namespace);
  const failures: string[] = [];
  const refusedUpstream: string[] = [];
  await mapLimit(cases, 4, async ({ file, pod }) => {
    const original = await createPod(namespace, asPod(pod, false));
    const sent = asPod(pod, true);
    const answer = await createPod(namespace, sent);
    if (original.status !== 201) {
      // Not valid as a pod of its own, with or without us (a template the upstream test never created).
      refusedUpstream.push(`${file} (${original.body?.message?.replace(/^Pod "[^"]+" is invalid: /, '')})`);
      if (answer.status === 201) failures.push(`${file}: the original is refused but the injected pod is admitted`);
      return;
    }
    if (answer.status !== 201) {
      failures.push(`${file}: HTTP ${answer.status}: ${answer.body?.message}`);
      return;
    }
    assertUntouched(original.body);
    try {
      const account = sent.spec.serviceAccountName ?? sent.spec.serviceAccount;
      assertInjected(answer.body, {
        mode: sent.metadata.annotations?.['pandocore.xyz/mode'] ?? 'monitor',
        serviceAccount: account && account !== 'default' ? account : 'pando-sidecar',
        hostPID: sent.spec.hostPID === true,
      });
    } catch (error) {
      failures.push(`${file}: ${(error as Error).message}`);
    }
  });
  console.log(
    `  e2e corpus: ${cases.length} pods, ${cases.length - refusedUpstream.length} injected; refused with or without the sidecar: ${refusedUpstream.join('; ') || 'none'}`,
  );
  assert.equal(failures, []);
  assert.ok(refusedUpstream.length < cases.length / 10, 'most of the corpus is valid');
});

for (const level of ['baseline', 'restricted'] as const) {
  test(`Pod Security ${level}: the injected pod is admitted exactly when the original is, as written and hardened`, async () => {
    const namespace = enabledNamespace(LEVELS[level], { 'pod-security.kubernetes.io/enforce': level, 'pod-security.kubernetes.io/enforce-version': 'latest' });
    createAccounts(namespace);
    const mismatches: string[] = [];
    const admitted = { written: 0, hardened: 0 };
    const variants = cases.flatMap((c) => [
      { ...c, variant: 'written' as const },
      { ...c, pod: hardened(c.pod), variant: 'hardened' as const },
    ]);
    await mapLimit(variants, 4, async ({ file, pod, variant }) => {
      const original = await createPod(namespace, asPod(pod, false));
      const injected = await createPod(namespace, asPod(pod, true));
      if (injected.status === 201) {
        admitted[variant]++;
        if (containersNamed(injected.body, 'pando-sidecar').length !== 1) mismatches.push(`${file} (${variant}): no sidecar`);
      }
      if ((original.status === 201) !== (injected.status === 201)) {
        mismatches.push(`${file} (${variant}): original HTTP ${original.status}, injected HTTP ${injected.status}: ${injected.body?.message ?? ''}`);
      }
    });
    console.log(
      `  e2e Pod Security ${level}: admitted ${admitted.written} of ${cases.length} as written, ${admitted.hardened} hardened, each exactly as its original`,
    );
    assert.equal(mismatches, []);
    // The level admits some pods and refuses others: the comparison means something.
    const total = admitted.written + admitted.hardened;
    assert.ok(total > 0 && total < variants.length, `${total} of ${variants.length} admitted`);
  });
}

test.run();
