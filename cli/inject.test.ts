// Offline injection against the webhook: on every workload of the real-world corpus, the pod a
// controller makes from the injected template is the pod the webhook gives at admission, and the
// webhook then leaves it alone. Plus what a GitOps pipeline needs from a stream of manifests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { admit } from '../function/admit';
import { admittedPod, applyReview, podFromManifest, podProblems, reviewFor } from '../test/support/apiserver';
import { defaultConfig } from '../test/support/config';
import { corpusFiles } from '../test/support/corpus';
import { InputError } from './errors';
import { injectSources, uninjectSources } from './inject';

type Obj = Record<string, any>;
const PROTECT = { 'pandocore.xyz/protect': 'true' };

/** The manifest with the protect label on its pod (template). */
function protect(doc: Obj): Obj {
  const copy = structuredClone(doc);
  const template = copy.kind === 'Pod' ? copy : copy.kind === 'CronJob' ? copy.spec?.jobTemplate?.spec?.template : copy.spec?.template;
  if (template) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...PROTECT } };
  return copy;
}

/** The pod the API server stores when a controller creates one from this manifest. */
function storedPod(doc: Obj, config = defaultConfig): { pod: Obj; reason: string } {
  const pod = admittedPod(podFromManifest(doc)!, doc.metadata?.namespace ?? 'corpus');
  const answer = admit(reviewFor(pod), config);
  if (!answer.ok) throw new Error(answer.error);
  // The API server defaults the object again after mutating webhooks (the sidecar's own fields).
  return { pod: admittedPod(applyReview(pod, answer.review), pod.metadata.namespace), reason: answer.record.reason };
}

const injectText = (text: string, config = defaultConfig, name = 'in.yaml') => injectSources([{ name, text }], config, { namespace: 'corpus' });

const corpus = corpusFiles(test, 'kubectl pando inject over the real-world corpus');
for (const [label, config] of corpus.length
  ? ([
      ['container', defaultConfig],
      ['native', { ...defaultConfig, nativeSidecar: true }],
    ] as const)
  : []) {
  test(`corpus (${label} sidecar): injected offline, each pod is the one the webhook makes, and the webhook leaves it alone`, () => {
    let compared = 0;
    for (const { file, docs } of corpus) {
      for (const doc of docs) {
        if (!podFromManifest(doc)) continue;
        const manifest = protect(doc);
        const viaWebhook = storedPod(manifest, config);
        const { text } = injectText(JSON.stringify(manifest), config, `${file}.json`);
        const viaPlugin = storedPod(JSON.parse(text), config);
        assert.equal(viaPlugin.pod, viaWebhook.pod, `${file} ${doc.kind}/${doc.metadata?.name}`);
        if (viaWebhook.reason === 'injected') {
          assert.is(viaPlugin.reason, 'already_injected', `${file}: the webhook skips the offline-injected pod`);
          assert.is(podProblems(viaPlugin.pod), undefined, file);
          compared++;
        }
      }
    }
    assert.ok(compared >= 50, `only ${compared} corpus pods injected`);
  });
}

const STREAM = `# The shop, as a GitOps repository holds it.
apiVersion: v1
kind: Service
metadata:
  name: web   # the front door
spec:
  ports: [{ port: 80 }]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web
        pandocore.xyz/protect: "true"   # protected
    spec:
      containers:
        - name: web
          image: "nginx:1.27"   # pinned
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: batch
spec:
  template:
    metadata:
      labels: { app: batch }
    spec:
      containers: [{ name: batch, image: busybox }]
`;

test('a stream: only the protected template changes; every other document comes out byte for byte, comments kept', () => {
  const { text, outcomes } = injectText(STREAM);
  const parts = text.split(/^---\n/m);
  const input = STREAM.split(/^---\n/m);
  assert.is(parts.length, 3);
  assert.is(parts[0], input[0]);
  assert.is(parts[2], input[2]);
  assert.match(parts[1], /# protected/);
  assert.match(parts[1], /image: "nginx:1.27" +# pinned/);
  const deployment = parseAllDocuments(text)[1].toJS();
  assert.equal(
    deployment.spec.template.spec.containers.map((c: Obj) => c.name),
    ['web', 'pando-sidecar'],
  );
  assert.is(deployment.spec.template.spec.serviceAccountName, 'pando-sidecar');
  assert.ok(deployment.spec.template.metadata.annotations['pandocore.xyz/status']);
  assert.equal(outcomes, [{ object: 'deployment/web', injected: true, reason: 'mode monitor', warnings: [] }]);
});

test('injecting twice changes nothing more (the second run reports the template already injected)', () => {
  const once = injectText(STREAM).text;
  const twice = injectText(once);
  assert.is(twice.text, once);
  assert.equal(twice.outcomes, [{ object: 'deployment/web', injected: false, reason: 'the pod already has the pando-sidecar container', warnings: [] }]);
});

test('a template injected offline before is brought up to date: a new image, mode or shape gives what a fresh injection gives', () => {
  const old = injectText(STREAM, { ...defaultConfig, sidecarImage: 'registry.example/pando-sidecar:0.9.0' }).text;
  for (const config of [defaultConfig, { ...defaultConfig, defaultMode: 'enforce' as const }, { ...defaultConfig, nativeSidecar: true }]) {
    const upgraded = injectText(old, config);
    const fresh = injectText(STREAM, config);
    assert.equal(parseAllDocuments(upgraded.text)[1].toJS(), parseAllDocuments(fresh.text)[1].toJS());
    assert.match(upgraded.outcomes[0].reason, /^updated, mode /);
    assert.is(upgraded.text.split(/^---\n/m)[2], STREAM.split(/^---\n/m)[2], 'other documents untouched');
  }
});

test('re-injecting a template with pod-level resources counts the sidecar once, as a fresh injection does', () => {
  const stream = STREAM.replace(/^(\s+)containers:$/m, '$1resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}\n$&');
  assert.ok(stream !== STREAM, 'the template has pod-level resources');
  const old = injectText(stream, { ...defaultConfig, sidecarImage: 'registry.example/pando-sidecar:0.9.0' }).text;
  for (const config of [defaultConfig, { ...defaultConfig, nativeSidecar: true }]) {
    const upgraded = parseAllDocuments(injectText(old, config).text)[1].toJS();
    assert.equal(upgraded, parseAllDocuments(injectText(stream, config).text)[1].toJS());
    assert.equal(upgraded.spec.template.spec.resources, { requests: { cpu: '550m', memory: '1088Mi' }, limits: { memory: '2176Mi' } });
  }
});

/** True when every line of `before` is still in `after`, in order: inject only added or replaced lines. */
function keptEveryLine(before: string, after: string): boolean {
  const lines = after.split('\n');
  let at = 0;
  for (const line of before.split('\n')) {
    while (at < lines.length && lines[at] !== line) at++;
    if (at++ >= lines.length) return false;
  }
  return true;
}

test('inject | uninject gives the stream back byte for byte, comments and other documents included', () => {
  // yaml writes a comment one space after its value: the stream as inject keeps it byte for byte.
  const stream = STREAM.replace(/ {2,}#/g, ' #');
  for (const config of [defaultConfig, { ...defaultConfig, nativeSidecar: true }]) {
    const injected = injectText(stream, config).text;
    assert.ok(keptEveryLine(stream, injected) && injected !== stream);
    const back = uninjectSources([{ name: 'in.yaml', text: injected }]);
    assert.is(back.text, stream);
    assert.equal(back.removed, ['deployment/web']);
    // Written with wider comment spacing, the injected document is given back as the same objects.
    const wide = uninjectSources([{ name: 'in.yaml', text: injectText(STREAM, config).text }]).text;
    assert.equal(
      parseAllDocuments(wide).map((d) => d.toJS()),
      parseAllDocuments(STREAM).map((d) => d.toJS()),
    );
  }
  const json = `${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: PROTECT }, spec: { containers: [{ name: 'a', image: 'x' }] } }, null, 2)}\n`;
  assert.is(uninjectSources([{ name: 'p.json', text: injectText(json, defaultConfig, 'p.json').text }]).text, json);
});

test('uninject leaves alone what has no injection of ours, and says so', () => {
  const back = uninjectSources([{ name: 'in.yaml', text: STREAM }]);
  assert.is(back.text, STREAM);
  assert.equal(back.removed, []);
});

if (corpus.length) {
  test('corpus: inject | uninject gives every file back as objects, and byte for byte wherever inject kept the lines it did not change', () => {
    let exact = 0;
    for (const native of [false, true]) {
      for (const { file, docs, text: original } of corpus) {
        const labelled = docs.map((d) => JSON.stringify(protect(d))).join('\n---\n');
        const injected = injectText(labelled, { ...defaultConfig, nativeSidecar: native }, `${file}.json`).text;
        const back = uninjectSources([{ name: `${file}.json`, text: injected }]).text;
        assert.equal(
          parseAllDocuments(back).map((d) => d.toJS()),
          parseAllDocuments(labelled).map((d) => d.toJS()),
          file,
        );
        // The YAML file itself, labelled by adding a line, as a user's repository holds it.
        const text = original.replace(/^( +)labels:[ \t]*\n/m, (line, indent) => `${line}${indent}  pandocore.xyz/protect: "true"\n`);
        let yamlInjected: string;
        try {
          yamlInjected = injectText(text, { ...defaultConfig, nativeSidecar: native }, file).text;
        } catch {
          continue; // an anchor or alias on a changed path: inject refuses with a clear error (tested above)
        }
        if (!keptEveryLine(text, yamlInjected)) continue;
        assert.is(uninjectSources([{ name: file, text: yamlInjected }]).text, text, file);
        exact++;
      }
    }
    assert.ok(exact >= 80, `only ${exact} files compared byte for byte`);
  });
}

test('a List, a CronJob and JSON input; an excluded namespace is reported, not injected', () => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: { template: { metadata: { labels: PROTECT }, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'job', image: 'busybox' }] } } },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'kube-system', labels: PROTECT },
        spec: { containers: [{ name: 'app', image: 'nginx' }] },
      },
    ],
  };
  const { text, outcomes } = injectText(JSON.stringify(list), { ...defaultConfig, nativeSidecar: true }, 'list.json');
  const out = JSON.parse(text);
  const jobPod = out.items[0].spec.jobTemplate.spec.template.spec;
  assert.is(jobPod.initContainers[0].name, 'pando-sidecar');
  assert.is(jobPod.initContainers[0].restartPolicy, 'Always');
  assert.equal(out.items[1], list.items[1]);
  assert.equal(
    outcomes.map((o) => [o.object, o.injected]),
    [
      ['cronjob/nightly', true],
      ['pod/p', false],
    ],
  );
});

test('YAML as people write it: a licence header, empty fields, a flow mapping, merge keys, CRLF line ends', () => {
  const header = `${Array.from({ length: 40 }, (_, i) => `# licence line ${i}`).join('\n')}\n\n\n`;
  const pod =
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    pandocore.xyz/protect: "true"\n  annotations:\nspec:\n  initContainers:\n  containers:\n    - name: a\n      image: nginx\n';
  const plain = injectText(header + pod); // the old comment check backtracked for hours on 40 lines
  assert.equal(
    plain.outcomes.map((o) => o.injected),
    [true],
  );
  // In the document it edits, the YAML library keeps every comment (a run of blank lines becomes one).
  assert.ok(plain.text.startsWith(header.trimEnd()), 'the header is kept');
  const crlf = injectText((header + pod).replace(/\n/g, '\r\n'));
  assert.not.match(crlf.text, /[^\r]\n/, 'CRLF in, CRLF out');
  const flow = injectText(
    '{apiVersion: v1, kind: Pod, metadata: {name: f, labels: {pandocore.xyz/protect: "true"}}, spec: {containers: [{name: a, image: nginx}]}}\n',
  );
  assert.is(flow.outcomes[0]?.injected, true);
  const merge = injectText(
    'apiVersion: v1\nx-base: &b\n  name: a\n  image: nginx\nkind: Pod\nmetadata: {name: m, labels: {pandocore.xyz/protect: "true"}}\nspec:\n  containers:\n    - <<: *b\n',
  );
  assert.is(merge.outcomes[0]?.injected, true);
});

test('document markers: a document on the marker line, a comment after the marker, a %YAML directive', () => {
  const onMarker = injectText(
    '--- {apiVersion: v1, kind: Pod, metadata: {name: a, labels: {pandocore.xyz/protect: "true"}}, spec: {containers: [{name: a, image: nginx}]}}\n',
  );
  assert.is(onMarker.outcomes[0]?.injected, true);
  assert.is(parseAllDocuments(onMarker.text)[0].toJS().spec.containers[1].name, 'pando-sidecar');
  const commented = injectText(`--- # the shop\n${STREAM.split(/^---\n/m)[1]}`);
  assert.match(commented.text, /^--- # the shop\n/);
  assert.is(commented.outcomes[0]?.injected, true);
  const directive = '%YAML 1.2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n';
  assert.is(injectText(directive).text, directive);
});

test('a manifest that is not YAML is refused, naming the file and line', () => {
  try {
    injectText('apiVersion: v1\nkind: Pod\nmetadata: {name: [}\n', defaultConfig, 'broken.yaml');
    assert.unreachable('no error');
  } catch (error) {
    assert.instance(error, InputError);
    assert.match((error as Error).message, /^broken\.yaml:3: not valid YAML/);
  }
});

test.run();
