// `helm test pando-webhook`, the chart's own check after install (templates/tests/), run by the
// real Helm on the node: with a namespace the release enables, its pod proves a labelled dry-run
// pod is injected; with none, it says so and passes on the webhook's reachability alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helm, helmOk, kubectl } from '../harness/kubeconfig';
import { ensureNamespace, keepOffNode } from '../harness/namespaces';
import { CHART, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { helmUpgrade, waitForWebhook } from '../harness/webhook';
import { cluster } from './context';

const namespace = 'e2e-helmtest';
/** helm upgrade --reuse-values --set-json namespaces=[]: the release enables no namespace. */
async function noNamespaces() {
  helmOk(cluster, ['upgrade', RELEASE, CHART, '-n', SYSTEM_NAMESPACE, '--reuse-values', '--set-json', 'namespaces=[]']);
  await waitForWebhook(cluster);
}

const helmTest = () => helm(cluster, ['test', RELEASE, '-n', SYSTEM_NAMESPACE, '--logs', '--timeout', '3m']);

test.after(async () => {
  await noNamespaces();
});

test('with a namespace the release enables: helm test passes, its pod saw a dry-run pod injected, and its objects are gone after', async () => {
  ensureNamespace(cluster, namespace);
  keepOffNode(cluster, namespace);
  await helmUpgrade(cluster, [`namespaces={${namespace}}`]);
  const run = helmTest();
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\[ok\] +a protected pod gets the sidecar \(server-side dry-run\): injected/);
  assert.is(kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'serviceaccount', 'pando-webhook-test']).code, 1, 'the test hook objects deleted once passed');
});

test('with no namespace enabled by the release: helm test says so and passes on the webhook answering through its Service', async () => {
  await noNamespaces();
  const run = helmTest();
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.ok(/no namespace is enabled by this release/.test(run.stdout), run.stdout + run.stderr);
  assert.match(run.stdout, /\[ok\] +caBundle verifies the serving certificate/);
});

test.run();
