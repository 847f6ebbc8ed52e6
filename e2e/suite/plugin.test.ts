// kubectl pando on the real control plane, run the way users run it: `kubectl pando ...`, the
// plugin found by kubectl on the PATH. inject | kubectl apply, check on a healthy install and on
// each broken one, enable/disable, status; and native sidecars through the Job controller.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../harness/tools';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectl, kubectlOk } from '../harness/kubeconfig';
import { startWebhook, stopWebhook } from '../harness/webhook';
import { waitFor } from '../harness/processes';
import { cluster, containersNamed, pando, plainNamespace, PROTECT, unique, type Obj } from './context';
import { assertInjected } from './checks';

const demo = 'pando-demo';

interface Check {
  category: string;
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}
function check(args: string[] = []): { code: number; checks: Check[]; text: string } {
  const run = pando(['check', '-o', 'json', ...args]);
  const parsed = JSON.parse(run.stdout || '{"checks":[]}');
  return { code: run.code, checks: parsed.checks, text: `${run.stdout}${run.stderr}` };
}
const failing = (checks: Check[]) => checks.filter((c) => !c.ok);

const deployment = (name: string, labels: Obj = PROTECT) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name, ...labels } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } },
  },
});

async function podsOf(namespace: string, selector: string, count = 1): Promise<Obj[]> {
  let pods: Obj[] = [];
  await waitFor(
    `pods ${selector} in ${namespace}`,
    async () => {
      pods = JSON.parse(kubectlOk(cluster, ['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'json'])).items;
      return pods.length >= count;
    },
    30_000,
  );
  return pods;
}

test('kubectl pando check passes on the healthy install, ending with the dry-run that proves the path', () => {
  const { code, checks, text } = check();
  assert.is(code, 0, text);
  assert.equal(failing(checks), []);
  const names = checks.map((c) => c.check);
  for (const expected of [
    'webhook configuration registered',
    'caBundle verifies the serving certificate',
    'serving certificate not about to expire',
    'webhook pods ready',
    'TLS certificate issued',
    'configured values',
  ]) {
    assert.ok(names.includes(expected), `missing check: ${expected}`);
  }
  const dryRun = checks.find((c) => c.category === `namespace ${demo}` && c.check.includes('dry-run'));
  assert.ok(dryRun?.ok, JSON.stringify(dryRun));
  assert.match(dryRun!.detail, /^injected/);
  // The human form: one line per check.
  const human = pando(['check']);
  assert.is(human.code, 0);
  assert.match(human.stdout, /\[ok\] +a protected pod gets the sidecar \(server-side dry-run\): injected/);
  assert.match(human.stdout, /all \d+ checks passed/);
});

test('kubectl pando inject -f deploy.yaml | kubectl apply -f -: the pods need nothing from the webhook', async () => {
  const name = unique('offline');
  const injected = pando(['inject', '-f', '-', '--native'], JSON.stringify(deployment(name)));
  assert.is(injected.code, 0, injected.stderr);
  assert.match(injected.stderr, new RegExp(`deployment/${name}: injected`));
  // With the webhook stopped, the Deployment and ReplicaSet controllers' pod still has its sidecar.
  await stopWebhook(cluster);
  try {
    const applied = kubectl(cluster, ['-n', demo, 'apply', '-f', '-'], injected.stdout);
    assert.is(applied.code, 0, applied.stderr);
    assert.not.match(applied.stderr, /Warning/);
    const [pod] = await podsOf(demo, `app=${name}`);
    assertInjected(pod);
    assert.is(containersNamed(pod, 'pando-sidecar')[0].restartPolicy, 'Always');
  } finally {
    await startWebhook(cluster);
  }
});

test("the README's line: kubectl pando inject --from-cluster -f fixtures/manifests/shop.yaml | kubectl apply -n pando-demo -f -", async () => {
  const injected = pando(['inject', '--from-cluster', '-f', join(REPO, 'fixtures', 'manifests', 'shop.yaml')]);
  assert.is(injected.code, 0, injected.stderr);
  assert.is(injected.stderr, 'deployment/checkout: injected (mode enforce)\n');
  const applied = kubectl(cluster, ['-n', demo, 'apply', '-f', '-'], injected.stdout);
  assert.is(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /service\/checkout created[\s\S]*deployment.apps\/checkout created[\s\S]*cronjob.batch\/nightly-report created/);
  const pods = await podsOf(demo, 'app=checkout', 2);
  for (const pod of pods) {
    assertInjected(pod, { mode: 'enforce' });
    // The installed webhook's settings: native on this 1.37 cluster, as the webhook would inject.
    assert.is(pod.spec.initContainers?.[0]?.name, 'pando-sidecar');
  }
});

test('a Job: its pod gets a native sidecar (an init container), and an offline-injected Job is accepted as is', async () => {
  const name = unique('job');
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      template: { metadata: { labels: PROTECT }, spec: { restartPolicy: 'Never', containers: [{ name: 'report', image: 'registry.example/report:1' }] } },
    },
  };
  const created = kubectl(cluster, ['-n', demo, 'apply', '-f', '-'], JSON.stringify(job));
  assert.is(created.code, 0, created.stderr);
  const [pod] = await podsOf(demo, `batch.kubernetes.io/job-name=${name}`);
  assertInjected(pod);
  assert.equal(
    pod.spec.initContainers.map((c: Obj) => [c.name, c.restartPolicy]),
    [['pando-sidecar', 'Always']],
  );
  assert.equal(
    pod.spec.containers.map((c: Obj) => c.name),
    ['report'],
  );

  const offline = pando(['inject', '-f', '-', '--native'], JSON.stringify({ ...job, metadata: { name: `${name}-offline` } }));
  assert.is(offline.code, 0, offline.stderr);
  const accepted = kubectl(cluster, ['-n', demo, 'create', '-o', 'json', '-f', '-'], offline.stdout);
  assert.is(accepted.code, 0, accepted.stderr);
  const template = JSON.parse(accepted.stdout).spec.template.spec;
  assert.is(template.initContainers[0].name, 'pando-sidecar');
  assert.is(template.initContainers[0].restartPolicy, 'Always');
});

test('check fails naming the cause when the webhook is stopped', async () => {
  // The Deployment scaled to zero: no pod ready, and the dry run comes back without the sidecar.
  await stopWebhook(cluster);
  try {
    const { code, checks } = check();
    assert.is(code, 1);
    const failed = failing(checks);
    const ready = failed.find((c) => c.check === 'webhook pods ready');
    assert.ok(ready, JSON.stringify(failed));
    const dryRun = failed.find((c) => c.check.includes('dry-run'));
    assert.match(dryRun!.detail, /came back without pando-sidecar; API server warnings: .*has no pando-sidecar container/);
    assert.match(dryRun!.fix!, /the webhook is not serving: fix "webhook pods ready" first/);
  } finally {
    await startWebhook(cluster);
  }
});

test('check fails naming the cause when the caBundle is wrong', () => {
  const mwc = JSON.parse(kubectlOk(cluster, ['get', 'mutatingwebhookconfiguration', 'pando-webhook', '-o', 'json']));
  const original = mwc.webhooks[0].clientConfig.caBundle;
  const wrong = Buffer.from(readFileSync(cluster.caFile, 'utf8')).toString('base64'); // the API server's CA
  const setCa = (value: string) =>
    kubectlOk(cluster, [
      'patch',
      'mutatingwebhookconfiguration',
      'pando-webhook',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value }]),
    ]);
  setCa(wrong);
  try {
    const { code, checks } = check();
    assert.is(code, 1);
    const ca = failing(checks).find((c) => c.check === 'caBundle verifies the serving certificate');
    assert.ok(ca, JSON.stringify(failing(checks)));
    assert.match(ca!.detail, /none of the 1 CA certificate\(s\) in the caBundle signed the serving certificate/);
    assert.match(ca!.fix!, /create job .* --from=cronjob\/pando-webhook-tls-renew/);
  } finally {
    setCa(original);
  }
  assert.is(check().code, 0, 'healthy again');
});

test('enable sets a namespace up (idempotent); check fails naming the missing license Secret, and its fix works', () => {
  const namespace = plainNamespace(unique('e2e-plugin'));
  for (let round = 0; round < 2; round++) {
    const run = pando(['enable', namespace]);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`namespace/${namespace} labelled pandocore.xyz/enabled=true`));
  }
  assert.is(check(['-n', namespace]).code, 0);
  kubectlOk(cluster, ['-n', namespace, 'delete', 'secret', 'pando-license']);
  const { code, checks } = check(['-n', namespace]);
  assert.is(code, 1);
  const secret = failing(checks).find((c) => c.check === 'license Secret pando-license');
  assert.ok(secret, JSON.stringify(failing(checks)));
  assert.is(secret!.detail, 'missing');
  assert.is(secret!.fix, `kubectl pando enable ${namespace}`);
  // The fix, this time with the license from a file.
  const licenseFile = join(cluster.dir, 'license.txt');
  writeFileSync(licenseFile, 'license-from-a-file\n');
  assert.is(pando(['enable', namespace, '--license-file', licenseFile]).code, 0);
  const stored = JSON.parse(kubectlOk(cluster, ['-n', namespace, 'get', 'secret', 'pando-license', '-o', 'json']));
  assert.is(Buffer.from(stored.data['license-key'], 'base64').toString(), 'license-from-a-file');
  assert.is(check(['-n', namespace]).code, 0);
});

test('enable of a namespace that does not exist names --create; with it, the namespace is made and enabled', () => {
  const namespace = unique('e2e-create');
  const refused = pando(['enable', namespace]);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /not found: add --create/);
  const created = pando(['enable', namespace, '--create']);
  assert.is(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`namespace/${namespace} created`));
  const ns = JSON.parse(kubectlOk(cluster, ['get', 'namespace', namespace, '-o', 'json']));
  assert.is(ns.metadata.labels['pandocore.xyz/enabled'], 'true');
});

test('disable undoes enable: label and objects gone, and new pods are no longer injected; objects it did not make stay', () => {
  const namespace = plainNamespace(unique('e2e-disable'));
  // A license Secret made by hand before: enable keeps it, disable leaves it.
  kubectlOk(cluster, ['-n', namespace, 'create', 'secret', 'generic', 'pando-license', '--from-literal=license-key=by-hand']);
  const enabled = pando(['enable', namespace]);
  assert.is(enabled.code, 0, enabled.stderr);
  assert.match(enabled.stdout, /secret\/pando-license kept \(not made by kubectl pando\)/);
  const run = pando(['disable', namespace]);
  assert.is(run.code, 0, run.stderr);
  const ns = JSON.parse(kubectlOk(cluster, ['get', 'namespace', namespace, '-o', 'json']));
  assert.is(ns.metadata.labels['pandocore.xyz/enabled'], undefined);
  for (const kind of ['serviceaccount/pando-sidecar', 'rolebinding/pando-sidecar']) {
    assert.is(kubectl(cluster, ['-n', namespace, 'get', kind]).code, 1, `${kind} is still there`);
  }
  const secret = JSON.parse(kubectlOk(cluster, ['-n', namespace, 'get', 'secret', 'pando-license', '-o', 'json']));
  assert.is(Buffer.from(secret.data['license-key'], 'base64').toString(), 'by-hand');
  const checked = check(['-n', namespace]);
  assert.is(checked.code, 1);
  assert.ok(failing(checked.checks).some((c) => c.check === `${namespace} enabled`));
  const missing = pando(['disable', 'no-such-namespace']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /namespace no-such-namespace not found/);
});

test('status: each protected pod, whether it runs the configured sidecar, and what to restart', async () => {
  const name = unique('old');
  const old = pando(['inject', '-f', '-', '--image', 'registry.example/pando-sidecar:0.9.0'], JSON.stringify(deployment(name)));
  assert.is(old.code, 0, old.stderr);
  assert.is(kubectl(cluster, ['-n', demo, 'apply', '-f', '-'], old.stdout).code, 0);
  const [pod] = await podsOf(demo, `app=${name}`);
  const run = pando(['status', '-n', demo]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /configured sidecar image: ghcr\.io\/pandocore\/pando-sidecar:1\.0\.0/);
  assert.match(run.stdout, new RegExp(`${demo} +${pod.metadata.name} +registry.example/pando-sidecar:0.9.0 +monitor +no +Deployment/${name}`));
  // Its template was injected offline: a restart would bring 0.9.0 back, so status says re-inject.
  assert.match(run.stdout, new RegExp(`Injected offline[^\\n]*\\n(  .*\\n)*  deployment/${name} -n ${demo}\\n`));
  assert.not.match(run.stdout, new RegExp(`kubectl rollout restart deployment/${name} `));
  const json = JSON.parse(pando(['status', '-A', '-o', 'json']).stdout);
  assert.ok(json.pods.some((p: Obj) => p.pod === pod.metadata.name && p.current === false));
  assert.ok(
    json.pods.some((p: Obj) => p.current === true),
    'pods injected by the webhook run the configured image',
  );
});

test.run();
