// What the TLS setup job should write, from what it read. No I/O here: the job reads the two
// Secrets and the webhook configuration, calls planTls, then writes only what changed.
//
// CA Secret keys: ca.crt + ca.key (the active CA, signs serving certificates), next-ca.crt +
// next-ca.key (its successor, during a CA rotation), previous-ca.crt (the CA just replaced, still
// trusted until it expires). Serving Secret keys: tls.crt, tls.key, ca.crt (its issuer).
//
// The API server must trust the serving certificate at every moment, so:
//   serving cert missing, wrong names, other CA, or due   new one from the active CA; caBundle unchanged
//   CA missing or unusable (first run)                    new CA, new serving cert, caBundle set
//   CA due for renewal, no successor yet (run N)          successor created and added to the caBundle;
//                                                         the serving cert stays on the old CA
//   successor already in every webhook's caBundle (N+1)   successor becomes active, serving cert reissued
//                                                         by it; old CA kept in the caBundle until it expires
import type { X509Certificate } from 'node:crypto';
import { caProblem, createCa, daysLeft, issueServingCert, KeyPairPem, parseBundle, servingProblem } from './certs';

export type SecretText = Record<string, string>;

export interface TlsState {
  ca: SecretText;
  serving: SecretText;
  /** The caBundle of each webhook in the configuration, decoded ('' when unset). */
  bundles: string[];
}

export interface TlsGoals {
  caName: string;
  dnsNames: string[];
  renewBeforeDays: number;
  now: Date;
}

export interface TlsEvent {
  msg: string;
  reason?: string;
  fingerprint?: string;
  notAfter?: string;
}

export interface TlsPlan {
  ca?: SecretText;
  serving?: SecretText;
  /** The PEM bundle every webhook must carry, when some webhook does not carry it yet. */
  bundle?: string;
  events: TlsEvent[];
}

const describe = (pem: string) => {
  const [cert] = parseBundle(pem);
  return { fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() };
};

const fingerprints = (pem: string): string[] => {
  try {
    return parseBundle(pem)
      .map((c: X509Certificate) => c.fingerprint256)
      .sort();
  } catch {
    return [];
  }
};

const sameData = (a: SecretText, b: SecretText) => {
  const keys = Object.keys(a).sort();
  return keys.join() === Object.keys(b).sort().join() && keys.every((k) => a[k] === b[k]);
};

export async function planTls(state: TlsState, goals: TlsGoals): Promise<TlsPlan> {
  const { now, renewBeforeDays } = goals;
  const events: TlsEvent[] = [];
  let active: KeyPairPem = { cert: state.ca['ca.crt'], key: state.ca['ca.key'] };
  let next: KeyPairPem | undefined = { cert: state.ca['next-ca.crt'], key: state.ca['next-ca.key'] };
  if (caProblem(next, now)) next = undefined;
  let previous: string | undefined = state.ca['previous-ca.crt'];

  const activeProblem = caProblem(active, now);
  if (activeProblem) {
    active = await createCa(goals.caName, now);
    next = undefined;
    previous = undefined;
    events.push({ msg: 'CA created', reason: activeProblem, ...describe(active.cert) });
  } else if (daysLeft(parseBundle(active.cert)[0], now) <= renewBeforeDays) {
    const nextTrusted = next && state.bundles.length > 0 && state.bundles.every((b) => fingerprints(b).includes(parseBundle(next!.cert)[0].fingerprint256));
    if (!next) {
      next = await createCa(goals.caName, now);
      events.push({ msg: 'CA rotation step 1: successor CA created and added to the caBundle', ...describe(next.cert) });
    } else if (nextTrusted) {
      previous = active.cert;
      active = next;
      next = undefined;
      events.push({ msg: 'CA rotation step 2: successor CA now signs the serving certificate', ...describe(active.cert) });
    }
  }
  if (previous && (caProblemOfCert(previous, now) || previous === active.cert)) previous = undefined;

  const ca: SecretText = {
    'ca.crt': active.cert,
    'ca.key': active.key,
    ...(next ? { 'next-ca.crt': next.cert, 'next-ca.key': next.key } : {}),
    ...(previous ? { 'previous-ca.crt': previous } : {}),
  };

  let serving: KeyPairPem = { cert: state.serving['tls.crt'], key: state.serving['tls.key'] };
  const servingIssue = servingProblem(serving, active.cert, goals.dnsNames, now, renewBeforeDays);
  // During step 1 a still-valid certificate waits for step 2, which reissues it from the successor.
  const deferred = servingIssue === 'due for renewal' && next !== undefined;
  if (servingIssue && !deferred) {
    serving = await issueServingCert(active, { dnsNames: goals.dnsNames, now });
    events.push({ msg: 'serving certificate issued', reason: servingIssue, ...describe(serving.cert) });
  }
  const servingData: SecretText = { 'tls.crt': serving.cert, 'tls.key': serving.key, 'ca.crt': active.cert };

  const bundle =
    [active.cert, next?.cert, previous]
      .filter((c): c is string => !!c)
      .map((c) => c.trim())
      .join('\n') + '\n';
  const wanted = fingerprints(bundle).join();
  const bundleStale = state.bundles.some((b) => fingerprints(b).join() !== wanted);

  return {
    ca: sameData(ca, state.ca) ? undefined : ca,
    serving: sameData(servingData, state.serving) ? undefined : servingData,
    bundle: bundleStale ? bundle : undefined,
    events,
  };
}

function caProblemOfCert(pem: string, now: Date): string | undefined {
  try {
    const [cert] = parseBundle(pem);
    return cert && daysLeft(cert, now) > 0 ? undefined : 'expired';
  } catch {
    return 'unreadable';
  }
}
