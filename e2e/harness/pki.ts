// The local control plane's credentials: a CA and the API server's serving certificate (for
// 127.0.0.1 and localhost), the ServiceAccount signing key pair, and an admin token.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueServingCert } from '../../function/tls/certs';

export interface Pki {
  caFile: string;
  certFile: string;
  keyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  tokenFile: string;
  adminToken: string;
}

export async function writePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const ca = await createCa('pando-local-cluster-ca');
  const serving = await issueServingCert(ca, { dnsNames: ['localhost', 'kubernetes', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
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
  };
}
