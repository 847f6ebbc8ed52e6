// The generated certificates, checked by node's own TLS in a real loopback handshake.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { caProblem, createCa, daysLeft, issueServingCert, servingProblem } from './certs';
import { serviceDnsNames } from './config';

const names = serviceDnsNames('pando-webhook', 'pando-system');

/** Handshake with a server holding `serving`, trusting only `caPem`; resolves with the error, if any. */
async function handshake(serving: { cert: string; key: string }, caPem: string, servername: string) {
  const server = tls.createServer({ cert: serving.cert, key: serving.key }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<Error | undefined>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: caPem }, () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', resolve);
      socket.setTimeout(3000, () => {
        socket.destroy();
        resolve(new Error('handshake timed out'));
      });
    });
  } finally {
    server.close();
  }
}

test('the service DNS names are <service>.<namespace>.svc and .svc.cluster.local', () => {
  assert.equal(names, ['pando-webhook.pando-system.svc', 'pando-webhook.pando-system.svc.cluster.local']);
});

test('node TLS accepts the serving certificate for both DNS names, verified against the CA', async () => {
  const ca = await createCa('test CA');
  const serving = await issueServingCert(ca, { dnsNames: names });
  for (const name of names) assert.is(await handshake(serving, ca.cert, name), undefined, name);
});

test('node TLS rejects the serving certificate for another name, and under another CA', async () => {
  const ca = await createCa('test CA');
  const serving = await issueServingCert(ca, { dnsNames: names });
  const wrongName = await handshake(serving, ca.cert, 'pando-webhook.default.svc');
  assert.is((wrongName as NodeJS.ErrnoException)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  const otherCa = await createCa('other CA');
  const untrusted = await handshake(serving, otherCa.cert, names[0]);
  assert.ok(untrusted, 'a certificate from another CA must not verify');
});

test('the CA lasts 10 years and signs only; the serving certificate lasts 1 year, ECDSA P-256, server auth', async () => {
  const now = new Date();
  const ca = await createCa('test CA', now);
  const serving = await issueServingCert(ca, { dnsNames: names, now });
  const caCert = new X509Certificate(ca.cert);
  const cert = new X509Certificate(serving.cert);
  assert.ok(caCert.ca && !cert.ca);
  assert.ok(Math.abs(daysLeft(caCert, now) - 3650) < 1);
  assert.ok(Math.abs(daysLeft(cert, now) - 365) < 1);
  assert.is(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
  assert.ok(/^[0-7]/.test(cert.serialNumber), 'serial number is positive');
  assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey));
});

test('a serving certificate never outlives its CA', async () => {
  const now = new Date();
  const ca = await createCa('short CA', now, 10);
  const cert = new X509Certificate((await issueServingCert(ca, { dnsNames: names, now })).cert);
  assert.ok(daysLeft(cert, now) <= 10);
});

test('caProblem and servingProblem say why a pair cannot be kept', async () => {
  const now = new Date();
  const ca = await createCa('test CA', now);
  const other = await createCa('other CA', now);
  const serving = await issueServingCert(ca, { dnsNames: names, now });
  assert.is(caProblem(ca, now), undefined);
  assert.is(caProblem({}, now), 'missing');
  assert.is(caProblem({ cert: ca.cert, key: other.key }, now), 'key does not match certificate');
  assert.is(caProblem({ cert: serving.cert, key: serving.key }, now), 'not a CA');
  assert.is(caProblem(ca, new Date(now.getTime() + 3651 * 86400_000)), 'expired');
  assert.is(servingProblem(serving, ca.cert, names, now, 30), undefined);
  assert.is(servingProblem(serving, other.cert, names, now, 30), 'not issued by the current CA');
  assert.match(servingProblem(serving, ca.cert, ['x.pando-system.svc'], now, 30) ?? '', /differ/);
  assert.is(servingProblem(serving, ca.cert, names, new Date(now.getTime() + 340 * 86400_000), 30), 'due for renewal');
  assert.match(servingProblem({ cert: 'junk', key: 'junk' }, ca.cert, names, now, 30) ?? '', /unreadable|no certificate/);
});

test.run();
