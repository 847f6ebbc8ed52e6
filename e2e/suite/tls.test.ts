// The TLS setup program against the real API server, with a TokenRequest token of its own
// ServiceAccount: RBAC allows what it needs and nothing more, a second run writes nothing, and
// a renewed certificate is picked up by the running webhook while the API server keeps trusting it.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiClient } from '../harness/api';
import { runTlsSetup, syncTlsFiles, SYSTEM_NAMESPACE } from '../harness/cluster';
import { api, cluster, createPod, enabledNamespace, simplePod, unique } from './context';
import { assertInjected } from './checks';
import { readFileSync } from 'node:fs';

const secrets = `/api/v1/namespaces/${SYSTEM_NAMESPACE}/secrets`;
const mwc = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pando-webhook';

async function resourceVersions() {
  const read = async (path: string) => (await api.get(path)).body.metadata.resourceVersion as string;
  return { ca: await read(`${secrets}/pando-webhook-ca`), serving: await read(`${secrets}/pando-webhook-tls`), mwc: await read(mwc) };
}

/** The certificate the webhook serves, as the API server sees it (SNI and name of the Service). */
function servedCertificate(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: cluster.ports.webhookHttps, servername: 'pando-webhook-https.pando-system.svc', rejectUnauthorized: false },
      () => {
        const raw = socket.getPeerCertificate().raw;
        socket.end();
        resolve(new X509Certificate(raw));
      },
    );
    socket.on('error', reject);
  });
}

test('the setup account may read and update its two Secrets and patch its webhook configuration, and nothing more', async () => {
  const { token } = runTlsSetup(cluster);
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

test('a second run of the setup changes nothing', async () => {
  const before = await resourceVersions();
  const run = runTlsSetup(cluster);
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /"changed":false/);
  assert.equal(await resourceVersions(), before);
});

test('the caBundle the setup wrote verifies the certificate the webhook serves', async () => {
  const configuration = (await api.get(mwc)).body;
  const bundle = Buffer.from(configuration.webhooks[0].clientConfig.caBundle, 'base64').toString('utf8');
  const served = await servedCertificate();
  assert.ok(served.verify(new X509Certificate(bundle).publicKey), 'served certificate signed by the caBundle CA');
  assert.ok(served.checkHost('pando-webhook-https.pando-system.svc'));
});

test('a renewed serving certificate is picked up by the running webhook, and pods are still injected', async () => {
  const before = await servedCertificate();
  // Drop the serving pair: the next run issues a new one from the same CA (as on renewal).
  const current = (await api.get(`${secrets}/pando-webhook-tls`)).body;
  assert.is((await api.put(`${secrets}/pando-webhook-tls`, { ...current, data: {} })).status, 200);
  const run = runTlsSetup(cluster);
  assert.is(run.code, 0, run.stdout + run.stderr);
  await syncTlsFiles(cluster);
  const after = await servedCertificate();
  assert.is.not(after.serialNumber, before.serialNumber);
  const namespace = enabledNamespace('pando-demo');
  const answer = await createPod(namespace, simplePod(unique('renewed')));
  assert.is(answer.status, 201);
  assertInjected(answer.body);
});

test.run();
