import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseAssignment, runRender, splitSetArg } from './cli';

const files: Record<string, string> = {
  'a.yaml': 'replicas: 3\nmaxReplicas: 8\nsidecar:\n  image: registry.example/a:1\n',
  'b.yaml': 'replicas: 4\n',
  'license.txt': 'KEY-123\n',
  'list.yaml': '- not a map\n',
};
const readFile = (path: string) => {
  if (!(path in files)) throw new Error(`no such file ${path}`);
  return files[path];
};
const render = (...argv: string[]) => runRender(argv, readFile);
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS()).filter(Boolean);
const ksvcOf = (yaml: string) => docs(yaml).find((d) => d.apiVersion === 'serving.knative.dev/v1');
const mwcOf = (yaml: string) => docs(yaml).find((d) => d.kind === 'MutatingWebhookConfiguration');

test('--set splits at commas outside braces; \\, is a literal comma', () => {
  assert.equal(splitSetArg('a=1,b={x,y},c=2'), ['a=1', 'b={x,y}', 'c=2']);
  assert.equal(splitSetArg('a=x\\,y'), ['a=x,y']);
  assert.equal(parseAssignment('excludedNamespaces={kube-system, monitoring}'), ['excludedNamespaces', ['kube-system', 'monitoring']]);
  assert.equal(parseAssignment('excludedNamespaces={}'), ['excludedNamespaces', []]);
  assert.equal(parseAssignment('tls.certManager=true'), ['tls.certManager', 'true']);
  assert.throws(() => parseAssignment('=x'), /dotted key/);
  assert.throws(() => parseAssignment('novalue'), /key=value/);
});

test('--set reaches the rendered objects, lists included', () => {
  const out = render('--set', 'replicas=3,maxReplicas=7', '--set', 'excludedNamespaces={kube-system,monitoring}', '--set=defaultMode=enforce');
  assert.is(out.code, 0, out.stderr);
  const annotations = ksvcOf(out.stdout).spec.template.metadata.annotations;
  assert.is(annotations['autoscaling.knative.dev/min-scale'], '3');
  assert.is(annotations['autoscaling.knative.dev/max-scale'], '7');
  const env = Object.fromEntries(ksvcOf(out.stdout).spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
  assert.is(env.PANDO_EXCLUDED_NAMESPACES, 'kube-system,monitoring');
  assert.is(env.PANDO_DEFAULT_MODE, 'enforce');
  assert.equal(mwcOf(out.stdout).webhooks[0].namespaceSelector.matchExpressions[0].values, ['kube-system', 'monitoring', 'pando-system']);
});

test('later -f files win, and --set wins over every -f whatever the order', () => {
  const out = render('--set', 'replicas=5', '-f', 'a.yaml', '-f', 'b.yaml');
  assert.is(out.code, 0, out.stderr);
  const ksvc = ksvcOf(out.stdout);
  assert.is(ksvc.spec.template.metadata.annotations['autoscaling.knative.dev/min-scale'], '5');
  assert.ok(ksvc.spec.template.spec.containers[0].env.some((e: any) => e.value === 'registry.example/a:1'));
});

test('bad arguments and values: exit 2, one message naming every problem', () => {
  const out = render('--set', 'replicas=lots,safetyNet.deny=maybe', '--set', 'nope.deeper=1', '-f', 'missing.yaml', '-f', 'list.yaml', '--frobnicate', '--set', 'tls=1');
  assert.is(out.code, 2);
  assert.is(out.stdout, '');
  for (const part of ['replicas:', 'safetyNet.deny:', 'nope:', 'missing.yaml', 'list.yaml: is not a map', '"--frobnicate"', 'tls']) {
    assert.ok(out.stderr.includes(part), `${part} not in:\n${out.stderr}`);
  }
  assert.ok(out.stderr.startsWith('invalid values:\n'));
  assert.ok(out.stderr.includes('usage: npm run render'));
});

test('--namespace-setup prints the three per-namespace objects, license from --set-file', () => {
  const out = render('--namespace-setup', 'team-a', '--set-file', 'licenseKey=license.txt');
  assert.is(out.code, 0, out.stderr);
  const [account, binding, secret] = docs(out.stdout);
  assert.equal([account.kind, binding.kind, secret.kind], ['ServiceAccount', 'RoleBinding', 'Secret']);
  for (const o of [account, binding, secret]) assert.is(o.metadata.namespace, 'team-a');
  assert.is(account.metadata.name, 'pando-sidecar');
  assert.equal(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pando-sidecar' });
  assert.equal(binding.subjects, [{ kind: 'ServiceAccount', name: 'pando-sidecar', namespace: 'team-a' }]);
  assert.equal(secret.stringData, { 'license-key': 'KEY-123' }); // trailing newline dropped
  assert.is(secret.metadata.name, 'pando-license');
});

test('--namespace-setup refuses a missing license, a bad name and an excluded namespace', () => {
  const out = render('--namespace-setup', 'kube-system');
  assert.is(out.code, 2);
  assert.ok(out.stderr.includes('licenseKey: required'));
  assert.ok(out.stderr.includes('never injects there'));
  assert.ok(render('--namespace-setup', 'Team_A', '--set', 'licenseKey=x').stderr.includes('DNS-1123'));
});

test('a license key given with --set is not echoed into the output header', () => {
  const out = render('--namespace-setup', 'team-a', '--set', 'licenseKey=SECRET-999');
  assert.is(out.code, 0, out.stderr);
  assert.is(out.stdout.split('SECRET-999').length, 2); // only in the Secret itself
  assert.ok(out.stdout.includes('licenseKey, redacted'));
  const escaped = render('--namespace-setup', 'team-a', '--set', 'licenseKey=abc\\,SECRET-PART');
  assert.is(escaped.code, 0, escaped.stderr);
  assert.not.ok(escaped.stdout.split('\n').filter((l) => l.startsWith('#')).some((l) => l.includes('SECRET-PART')));
});

test('the install never contains a Secret with data', () => {
  const out = render('--set', 'licenseKey=SECRET-999');
  assert.is(out.code, 0, out.stderr);
  assert.not.ok(out.stdout.includes('SECRET-999'));
  for (const d of docs(out.stdout).filter((o) => o.kind === 'Secret')) assert.equal([d.data, d.stringData], [undefined, undefined]);
});

test('the built tool: YAML on stdout and exit 0; exit 2 with the problems on stderr', () => {
  const tool = join(__dirname, '..', 'tools', 'render.js');
  const ok = spawnSync(process.execPath, [tool, '--set', 'replicas=3'], { encoding: 'utf8', timeout: 20_000 });
  assert.is(ok.status, 0, ok.stderr);
  assert.ok(docs(ok.stdout).length > 10);
  const bad = spawnSync(process.execPath, [tool, '--set', 'replicas=0'], { encoding: 'utf8', timeout: 20_000 });
  assert.is(bad.status, 2);
  assert.ok(bad.stderr.includes('replicas:'));
  const stdin = spawnSync(process.execPath, [tool, '-f', '-'], { input: 'replicas: 4\nmaxReplicas: 4\n', encoding: 'utf8', timeout: 20_000 });
  assert.is(stdin.status, 0, stdin.stderr);
  assert.is(ksvcOf(stdin.stdout).spec.template.metadata.annotations['autoscaling.knative.dev/max-scale'], '4');
  // As task namespace:enable pipes the stored license in.
  const setup = spawnSync(process.execPath, [tool, '--namespace-setup', 'team-b', '--set-file', 'licenseKey=-'], { input: 'KEY-FROM-PIPE', encoding: 'utf8', timeout: 20_000 });
  assert.is(setup.status, 0, setup.stderr);
  assert.equal(docs(setup.stdout)[2].stringData, { 'license-key': 'KEY-FROM-PIPE' });
});

test.run();
