// Certificate reload: a renewed pair is served from the next connection; a broken pair keeps the
// old one and is tried once per change, not once per connection.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLogger } from '../log';
import { createCa, issueServingCert, KeyPairPem } from './certs';
import { readPair, reloadOnChange } from './files';

const NAME = 'pando-webhook-https.pando-system.svc';

const serialOf = (port: number, ca: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', servername: NAME, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });

test('a broken pair keeps the old certificate and is logged once; the next good pair is served', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-files-'));
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const write = (pair: KeyPairPem) => {
    writeFileSync(files.certFile, pair.cert);
    writeFileSync(files.keyFile, pair.key);
  };
  const ca = await createCa('test CA');
  const [first, second, third] = [
    await issueServingCert(ca, { dnsNames: [NAME] }),
    await issueServingCert(ca, { dnsNames: [NAME] }),
    await issueServingCert(ca, { dnsNames: [NAME] }),
  ];
  write(first);
  const lines: string[] = [];
  const loaded = readPair(files);
  const server = https.createServer({ cert: loaded.cert, key: loaded.key });
  reloadOnChange(
    server,
    files,
    loaded,
    jsonLogger((l) => {
      lines.push(l);
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const firstSerial = await serialOf(port, ca.cert);
    write({ cert: second.cert, key: third.key }); // a key of another certificate
    for (let i = 0; i < 5; i++) assert.is(await serialOf(port, ca.cert), firstSerial);
    assert.is(lines.filter((l) => l.includes('reload failed')).length, 1);
    write(third);
    const thirdSerial = await serialOf(port, ca.cert);
    assert.is.not(thirdSerial, firstSerial);
    assert.ok(lines.some((l) => l.includes('TLS certificate reloaded')));
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
