// The TLS setup job against a loopback fake Kubernetes API that checks every request: the real
// entry (node dist/function/tls/setup.js) for the first run and for failures, runSetup in
// process where the clock must move. After every run, the served certificate must verify
// against the caBundle the API server would use.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLogger } from '../log';
import { parseBundle } from './certs';
import { loadSetupConfig } from './config';
import { FakeApi, startFakeApi } from '../../test/support/fake-api';
import { startNode } from '../../test/support/child';
import { runSetup } from './job';
import { kubeClient } from '../kube/client';

const SETUP = join(__dirname, 'setup.js');
const DAY = 86400_000;
const CA = '/api/v1/namespaces/pando-system/secrets/pando-webhook-ca';
const TLS = '/api/v1/namespaces/pando-system/secrets/pando-webhook-tls';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pando-webhook';
const READS = [`GET ${CA}`, `GET ${TLS}`, `GET ${MWC}`];

let fake: FakeApi;
let dir: string;

const env = () => ({
  PATH: process.env.PATH,
  KUBERNETES_SERVICE_HOST: fake.host,
  KUBERNETES_SERVICE_PORT: String(fake.port),
  PANDO_KUBE_TOKEN_FILE: join(dir, 'token'),
  PANDO_KUBE_CA_FILE: join(dir, 'ca.crt'),
});

async function runEntry(extraEnv: Record<string, string> = {}) {
  const child = startNode([SETUP], { ...env(), ...extraEnv });
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, out: child.stdout() + child.stderr() };
}

async function runAt(now: Date) {
  const logs: string[] = [];
  const config = loadSetupConfig(env());
  await runSetup(
    config,
    kubeClient({ baseUrl: config.apiUrl, token: fake.token, ca: fake.caPem }),
    jsonLogger((l) => {
      logs.push(l);
    }),
    now,
  );
  return logs.join('');
}

/**
 * A handshake as the API server makes it: trusting only this caBundle, for the service's name.
 * At a future `at`, node checks the chain against its own clock, so we check dates ourselves.
 */
async function apiServerTrusts(bundle: string, serving: Record<string, string>, at?: Date) {
  const name = 'pando-webhook-https.pando-system.svc'; // the name the MutatingWebhookConfiguration calls
  const server = tls.createServer({ cert: serving['tls.crt'], key: serving['tls.key'] }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const validAt = (c: { validFrom: string; validTo: string }, t: Date) => new Date(c.validFrom) <= t && t < new Date(c.validTo);
  try {
    return await new Promise<boolean>((resolve) => {
      const port = (server.address() as AddressInfo).port;
      const socket = tls.connect({ host: '127.0.0.1', port, servername: name, ca: bundle, rejectUnauthorized: !at }, () => {
        const peer = socket.getPeerX509Certificate()!;
        socket.destroy();
        if (!at) return resolve(socket.authorized);
        resolve(
          peer.checkHost(name) === name &&
            validAt(peer, at) &&
            parseBundle(bundle).some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey) && validAt(ca, at)),
        );
      });
      socket.once('error', () => resolve(false));
    });
  } finally {
    server.close();
  }
}

const fingerprintOf = (pem: string) => parseBundle(pem)[0].fingerprint256;

test.before.each(async () => {
  fake = await startFakeApi();
  dir = mkdtempSync(join(tmpdir(), 'pando-setup-'));
  writeFileSync(join(dir, 'token'), `${fake.token}\n`);
  writeFileSync(join(dir, 'ca.crt'), fake.caPem);
});
test.after.each(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

test('first run fills both Secrets and every webhook caBundle, in a safe order; second run writes nothing', async () => {
  const first = await runEntry();
  assert.is(first.code, 0, first.out);
  assert.equal(fake.takeRequests(), [...READS, `PUT ${CA}`, `PATCH ${MWC}`, `PUT ${TLS}`]);
  const ca = fake.secretText('pando-webhook-ca');
  const serving = fake.secretText('pando-webhook-tls');
  assert.equal(Object.keys(ca).sort(), ['ca.crt', 'ca.key']);
  assert.equal(Object.keys(serving).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  assert.is(serving['ca.crt'], ca['ca.crt']);
  const bundles = fake.bundles();
  assert.is(bundles.length, 2);
  for (const bundle of bundles)
    assert.equal(
      parseBundle(bundle).map((c) => c.fingerprint256),
      [fingerprintOf(ca['ca.crt'])],
    );
  assert.ok(await apiServerTrusts(bundles[0], serving), 'API server trusts the serving certificate');
  assert.not.match(first.out, /PRIVATE KEY|BEGIN CERTIFICATE/);
  for (const key of [ca['ca.key'], serving['tls.key']]) assert.not.ok(first.out.includes(key.split('\n')[1]), 'no key material in logs');

  const second = await runEntry();
  assert.is(second.code, 0, second.out);
  assert.equal(fake.takeRequests(), READS, 'second run only reads');
  assert.equal(fake.state.problems, []);
});

test('near expiry: a new serving certificate from the same CA, caBundle untouched', async () => {
  const start = new Date();
  await runAt(start);
  fake.takeRequests();
  const before = { ca: fake.secretText('pando-webhook-ca'), serving: fake.secretText('pando-webhook-tls'), bundles: fake.bundles() };
  const later = new Date(start.getTime() + 340 * DAY); // 25 days left, renewal at 30
  const logs = await runAt(later);
  assert.equal(fake.takeRequests(), [...READS, `PUT ${TLS}`]);
  const after = { ca: fake.secretText('pando-webhook-ca'), serving: fake.secretText('pando-webhook-tls'), bundles: fake.bundles() };
  assert.equal(after.ca, before.ca);
  assert.equal(after.bundles, before.bundles);
  assert.is.not(fingerprintOf(after.serving['tls.crt']), fingerprintOf(before.serving['tls.crt']));
  assert.ok(await apiServerTrusts(after.bundles[0], after.serving, later), 'new certificate trusted by the unchanged caBundle');
  assert.match(logs, /due for renewal/);
  await runAt(later);
  assert.equal(fake.takeRequests(), READS, 'renewed once, then nothing to do');
  assert.equal(fake.state.problems, []);
});

test('CA rotation: successor trusted first, serving certificate switched on the next run, trusted throughout', async () => {
  const start = new Date();
  await runAt(start);
  const oldCa = fingerprintOf(fake.secretText('pando-webhook-ca')['ca.crt']);
  let now = new Date(start.getTime() + 340 * DAY);
  const trustedNow = async () => {
    for (const bundle of fake.bundles()) assert.ok(await apiServerTrusts(bundle, fake.secretText('pando-webhook-tls'), now), `trusted at ${now.toISOString()}`);
  };
  // the serving certificate renewed yearly until the CA itself is due (3650 days, renewal at 30)
  for (let year = 1; year <= 10; year++) {
    now = new Date(start.getTime() + year * 340 * DAY);
    await runAt(now);
    await trustedNow();
  }
  now = new Date(start.getTime() + 3630 * DAY);
  fake.takeRequests();
  await runAt(now); // step 1
  assert.equal(fake.takeRequests(), [...READS, `PUT ${CA}`, `PATCH ${MWC}`]);
  await trustedNow();
  assert.is(fingerprintOf(fake.secretText('pando-webhook-tls')['ca.crt']), oldCa, 'serving certificate still from the old CA');
  assert.is(parseBundle(fake.bundles()[0]).length, 2);

  await runAt(now); // step 2
  assert.equal(fake.takeRequests(), [...READS, `PUT ${CA}`, `PUT ${TLS}`], 'caBundle already holds both CAs');
  await trustedNow();
  const newCa = fingerprintOf(fake.secretText('pando-webhook-ca')['ca.crt']);
  assert.is.not(newCa, oldCa);
  assert.is(fingerprintOf(fake.secretText('pando-webhook-tls')['ca.crt']), newCa);

  await runAt(now);
  assert.equal(fake.takeRequests(), READS, 'then nothing to do');
  now = new Date(start.getTime() + 3660 * DAY); // the old CA has expired: dropped from the bundle
  await runAt(now);
  assert.equal(fake.takeRequests(), [...READS, `PUT ${CA}`, `PATCH ${MWC}`]);
  assert.equal(
    parseBundle(fake.bundles()[0]).map((c) => c.fingerprint256),
    [newCa],
  );
  await trustedNow();
  assert.equal(fake.state.problems, []);
});

test('an API error stops the job with a non-zero exit and the reason', async () => {
  fake.state.fail = {
    method: 'PUT',
    path: TLS,
    status: 403,
    message: 'secrets "pando-webhook-tls" is forbidden: User "system:serviceaccount:pando-system:pando-webhook-tls" cannot update resource "secrets"',
  };
  const run = await runEntry();
  assert.is(run.code, 1);
  assert.match(
    run.out,
    /TLS setup failed: PUT \/api\/v1\/namespaces\/pando-system\/secrets\/pando-webhook-tls failed: HTTP 403: secrets \\"pando-webhook-tls\\" is forbidden/,
  );
  assert.not.match(run.out, /PRIVATE KEY/);
});

test('without its env, the job targets the objects the default install renders', () => {
  const config = loadSetupConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1' });
  assert.equal(config.dnsNames, ['pando-webhook-https.pando-system.svc', 'pando-webhook-https.pando-system.svc.cluster.local']);
  assert.equal([config.tlsSecret, config.caSecret, config.webhookConfiguration], ['pando-webhook-tls', 'pando-webhook-ca', 'pando-webhook']);
});

test('a missing webhook configuration, bad settings and an unreachable API each fail clearly', async () => {
  fake.state.mwc = undefined;
  const missing = await runEntry();
  assert.is(missing.code, 1);
  assert.match(missing.out, /GET \/apis\/admissionregistration.k8s.io\/v1\/mutatingwebhookconfigurations\/pando-webhook failed: HTTP 404/);
  const bad = await runEntry({ PANDO_RENEW_BEFORE_DAYS: 'soon', PANDO_NAMESPACE: 'Pando' });
  assert.is(bad.code, 1);
  assert.match(bad.out, /PANDO_RENEW_BEFORE_DAYS=\\"soon\\": must be a whole number/);
  assert.match(bad.out, /PANDO_NAMESPACE=\\"Pando\\"/);
  const untrusted = await runEntry({ PANDO_KUBE_CA_FILE: join(dir, 'token') });
  assert.is(untrusted.code, 1);
  assert.match(untrusted.out, /GET \/api\/v1\/namespaces\/pando-system\/secrets\/pando-webhook-ca failed/);
  assert.equal(fake.state.secrets.get('pando-webhook-tls')?.data, undefined, 'nothing written');
});

test.run();
