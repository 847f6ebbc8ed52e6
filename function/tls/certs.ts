// Certificates for the webhook's own TLS: a CA and a serving certificate it signs, ECDSA P-256,
// made with @peculiar/x509 on node's webcrypto and returned as PEM. Checks use node's own
// X509Certificate, so what we accept is what node's TLS (and Go's, in the API server) accepts.
import 'reflect-metadata'; // @peculiar/x509 needs a Reflect polyfill, loaded before it
import { webcrypto, X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Tolerates API servers whose clock is a little behind ours. */
const BACKDATE_MS = 5 * 60 * 1000;

export const CA_DAYS = 3650;
export const SERVING_DAYS = 365;

export interface KeyPairPem {
  cert: string;
  key: string;
}

// Positive (top bit clear), never zero-led: Go's x509 rejects negative serial numbers.
const serialNumber = () => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString('hex');
};

async function newKeys() {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
}

async function keyPem(key: CryptoKey) {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function importSigningKey(pem: string) {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']) as Promise<CryptoKey>;
}

/** A self-signed CA that may sign only end-entity certificates. */
export async function createCa(commonName: string, now = new Date(), days = CA_DAYS): Promise<KeyPairPem> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

export interface ServingOptions {
  dnsNames: string[];
  ipAddresses?: string[];
  now?: Date;
  days?: number;
}

/** A TLS server certificate for the given names, signed by the CA; never outlives the CA. */
export async function issueServingCert(ca: KeyPairPem, options: ServingOptions): Promise<KeyPairPem> {
  const { dnsNames, ipAddresses = [], now = new Date(), days = SERVING_DAYS } = options;
  if (dnsNames.length === 0) throw new Error('a serving certificate needs at least one DNS name');
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await newKeys();
  const notAfter = Math.min(now.getTime() + days * DAY_MS, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${dnsNames[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.key),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** Every certificate in a PEM bundle, in order (node's parser; throws on a malformed one). */
export function parseBundle(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
}

export const daysLeft = (cert: X509Certificate, now: Date) => (new Date(cert.validTo).getTime() - now.getTime()) / DAY_MS;

/** Why a CA pair cannot be used to sign, or undefined when it can. */
export function caProblem(pair: Partial<KeyPairPem>, now: Date): string | undefined {
  if (!pair.cert || !pair.key) return 'missing';
  try {
    const [cert] = parseBundle(pair.cert);
    if (!cert) return 'no certificate';
    if (!cert.ca) return 'not a CA';
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return 'key does not match certificate';
    if (daysLeft(cert, now) <= 0) return 'expired';
    return undefined;
  } catch (error) {
    return `unreadable (${(error as Error).message})`;
  }
}

/** Why a serving pair must be reissued (for these names, by this CA, renewed this early), or undefined. */
export function servingProblem(pair: Partial<KeyPairPem>, caCert: string, dnsNames: string[], now: Date, renewBeforeDays: number): string | undefined {
  if (!pair.cert || !pair.key) return 'missing';
  try {
    const [cert] = parseBundle(pair.cert);
    const [ca] = parseBundle(caCert);
    if (!cert || !ca) return 'no certificate';
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return 'key does not match certificate';
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not issued by the current CA';
    const names = (cert.subjectAltName ?? '')
      .split(', ')
      .filter((n) => n.startsWith('DNS:'))
      .map((n) => n.slice(4))
      .sort();
    if (names.join(',') !== [...dnsNames].sort().join(',')) return `names ${names.join(',')} differ from ${dnsNames.join(',')}`;
    if (daysLeft(cert, now) <= renewBeforeDays) return 'due for renewal';
    return undefined;
  } catch (error) {
    return `unreadable (${(error as Error).message})`;
  }
}
