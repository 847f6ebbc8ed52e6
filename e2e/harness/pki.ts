// The local control plane's credentials: a CA and the API server's serving certificate (for
// 127.0.0.1, localhost, the node IP and the kubernetes Service's ClusterIP, which pods use), its
// client certificate for the kubelet (logs, exec), the ServiceAccount signing key pair, and an
// admin token.
import 'reflect-metadata'; // @peculiar/x509 needs a Reflect polyfill, loaded before it
import { createPrivateKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { createCa, issueServingCert, type KeyPairPem } from '../../function/tls/certs';
import { NETWORK } from './host';

export interface Pki {
  caFile: string;
  certFile: string;
  keyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  tokenFile: string;
  adminToken: string;
  kubeletClientCertFile: string;
  kubeletClientKeyFile: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A TLS client certificate (CN user, O group) signed by the CA. */
async function issueClientCert(ca: KeyPairPem, user: string, group: string): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = new x509.X509Certificate(ca.cert);
  const caKeyDer = createPrivateKey(ca.key).export({ format: 'der', type: 'pkcs8' });
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `1${randomBytes(15).toString('hex')}`,
    subject: `CN=${user}, O=${group}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(Math.min(now + 365 * 86_400_000, caCert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: await webcrypto.subtle.importKey('pkcs8', caKeyDer, ALGORITHM, false, ['sign']),
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { cert: cert.toString('pem'), key };
}

export async function writePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const ca = await createCa('pando-local-cluster-ca');
  const serving = await issueServingCert(ca, {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', NETWORK.nodeIp, NETWORK.serviceCidr.replace(/\.0\/\d+$/, '.1')],
  });
  const kubeletClient = await issueClientCert(ca, 'kube-apiserver-kubelet-client', 'system:masters');
  const accountKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const adminToken = randomBytes(24).toString('hex');
  return {
    caFile: file('ca.crt', ca.cert),
    certFile: file('apiserver.crt', serving.cert),
    keyFile: file('apiserver.key', serving.key),
    serviceAccountKeyFile: file('sa.key', accountKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    serviceAccountPublicKeyFile: file('sa.pub', accountKeys.publicKey.export({ type: 'spki', format: 'pem' }) as string),
    // token,user,uid,"group,..." : the static admin of this local cluster.
    tokenFile: file('tokens.csv', `${adminToken},pando-admin,pando-admin,"system:masters"\n`),
    adminToken,
    kubeletClientCertFile: file('apiserver-kubelet-client.crt', kubeletClient.cert),
    kubeletClientKeyFile: file('apiserver-kubelet-client.key', kubeletClient.key),
  };
}
