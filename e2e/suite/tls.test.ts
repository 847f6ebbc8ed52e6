// The TLS setup program as the chart runs it, a Job of the image on the node: its ServiceAccount's
// RBAC allows what it needs and nothing more, a second run (the renewal CronJob's, started by hand)
// writes nothing, and a renewed certificate reaches the webhook pods through the kubelet's Secret
// volume and is served without a restart, while pods created meanwhile are all injected.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiClient } from '../harness/api';
import { kubectlOk } from '../harness/kubeconfig';
import { SYSTEM_NAMESPACE } from '../harness/release';
import { runTlsRenewal, webhookPodIps, webhookPods } from '../harness/webhook';
import { waitFor } from '../harness/processes';
import { api, cluster, createPodsWhile, enabledNamespace, unique } from './context';
import { assertInjected } from './checks';
import { readFileSync } from 'node:fs';

const secrets = `/api/v1/namespaces/${SYSTEM_NAMESPACE}/secrets`;
const mwc = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pando-webhook';

async function resourceVersions() {
  const read = async (path: string) => (await api.get(path)).body.metadata.resourceVersion as string;
  return { ca: await read(`${secrets}/pando-webhook-ca`), serving: await read(`${secrets}/pando-webhook-tls`), mwc: await read(mwc) };
}

/** The certificate a webhook pod serves, as the API server sees it (SNI and name of the Service). */
function servedCertificate(ip: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: ip, port: 8443, servername: 'pando-webhook-https.pando-system.svc', rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });
}

/** The serial numbers every webhook pod serves. */
const servedSerials = async () => Promise.all(webhookPodIps(cluster).map(async (ip) => (await servedCertificate(ip)).serialNumber));

test('the setup account may read and update its two Secrets and patch its webhook configuration, and nothing more', async () => {
  const token = kubectlOk(cluster, ['create', 'token', 'pando-webhook-tls-setup', '-n', SYSTEM_NAMESPACE, '--duration=10m']).trim();
  const job = apiClient({ server: cluster.server, token, ca: readFileSync(cluster.caFile, 'utf8') });
  try {
    assert.is((await job.get(`${secrets}/pando-webhook-tls`)).status, 200);
    assert.is((await job.get(`${secrets}/pando-webhook-ca`)).status, 200);
    assert.is((await job.get(mwc)).status, 200);
    const forbidden = [
      await job.get(`${secrets}/pando-license`),
      await job.get(secrets),
      await job.get('/api/v1/namespaces/pando-demo/secrets/pando-license'),
      await job.post(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted' } }),
      await job.delete(`${secrets}/pando-webhook-tls`),
      await job.get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'),
      await job.get('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/pando-sidecar-required'),
    ];
    assert.equal(
      forbidden.map((a) => a.status),
      forbidden.map(() => 403),
    );
  } finally {
    job.close();
  }
});

test('a second run of the setup (kubectl create job --from=cronjob/pando-webhook-tls-renew) changes nothing', async () => {
  const before = await resourceVersions();
  const job = await runTlsRenewal(cluster, unique('tls-again'));
  assert.match(kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'logs', `job/${job}`]), /"changed":false/);
  assert.equal(await resourceVersions(), before);
});

test('the caBundle the setup wrote verifies the certificate the webhook serves', async () => {
  const configuration = (await api.get(mwc)).body;
  const bundle = Buffer.from(configuration.webhooks[0].clientConfig.caBundle, 'base64').toString('utf8');
  const ips = webhookPodIps(cluster);
  assert.is(ips.length, 2);
  for (const ip of ips) {
    const served = await servedCertificate(ip);
    assert.ok(served.verify(new X509Certificate(bundle).publicKey), 'served certificate signed by the caBundle CA');
    assert.ok(served.checkHost('pando-webhook-https.pando-system.svc'));
  }
});

test('a renewal reaches the running webhook pods through the kubelet (new serial, no restart), and every pod created meanwhile is injected', async () => {
  const pods = webhookPods(cluster).map((pod) => pod.name);
  const before = await servedSerials();
  assert.is(new Set(before).size, 1, 'both pods serve the same certificate');
  // Drop the serving pair: the renewal issues a new one from the same CA (as when it nears expiry).
  const current = (await api.get(`${secrets}/pando-webhook-tls`)).body;
  assert.is((await api.put(`${secrets}/pando-webhook-tls`, { ...current, data: {} })).status, 200);
  const namespace = enabledNamespace('pando-demo');
  const { answers: created } = await createPodsWhile(namespace, async () => {
    await runTlsRenewal(cluster, unique('tls-renew'));
    // The kubelet brings the mounted Secret up to date (syncFrequency), the webhook reloads it.
    await waitFor('both webhook pods serving the renewed certificate', async () => (await servedSerials()).every((s) => !before.includes(s)), 120_000);
  });
  const after = await servedSerials();
  assert.is(new Set(after).size, 1, `both pods serve the renewed certificate: ${after.join(', ')}`);
  assert.equal(
    webhookPods(cluster).map((pod) => pod.name),
    pods,
    'the same pods: no restart',
  );
  assert.ok(created.length > 0);
  for (const answer of created) {
    assert.is(answer.status, 201);
    assertInjected(answer.body);
  }
});

test.run();
