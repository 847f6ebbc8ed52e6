// The parts of kubectl pando check that need no cluster: the certificate verdict, the API
// server's warning header, and the report a terminal shows. (The checks against a real API
// server are in e2e/suite/plugin.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCa, issueServingCert } from '../function/tls/certs';
import { renderChecks, runChecks, verifyServing } from './check';
import type { Kube, Obj } from './kube';
import { parseWarnings } from './kube';

const NAME = 'pando-webhook-https.pando-system.svc';

test('the caBundle verifies a serving certificate it signed, for the service name; any CA of the bundle will do', async () => {
  const ca = await createCa('pando-webhook-ca');
  const other = await createCa('other-ca');
  const serving = await issueServingCert(ca, { dnsNames: [NAME] });
  const verdict = verifyServing(ca.cert, serving.cert, NAME);
  assert.ok(verdict.ok, verdict.detail);
  assert.ok(verdict.certificate);
  assert.ok(verifyServing(`${other.cert}\n${ca.cert}`, serving.cert, NAME).ok, 'a bundle during CA rotation');
});

test('a caBundle of another CA, a certificate for another name, or no certificate at all: each said plainly', async () => {
  const ca = await createCa('pando-webhook-ca');
  const other = await createCa('other-ca');
  const serving = await issueServingCert(ca, { dnsNames: [NAME] });
  assert.equal(verifyServing(other.cert, serving.cert, NAME).detail, 'none of the 1 CA certificate(s) in the caBundle signed the serving certificate');
  assert.equal(verifyServing(ca.cert, serving.cert, 'pando-webhook.elsewhere.svc').detail, 'the serving certificate is not for pando-webhook.elsewhere.svc');
  assert.equal(verifyServing('', serving.cert, NAME).detail, 'the caBundle holds no certificate');
  assert.equal(verifyServing(ca.cert, '', NAME).detail, 'no serving certificate');
  assert.match(
    verifyServing(ca.cert, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----', NAME).detail,
    /^the serving certificate does not parse/,
  );
});

test('warning headers, one or several, with escaped quotes', () => {
  assert.equal(parseWarnings(''), []);
  assert.equal(parseWarnings('299 - "pandocore: sidecar not injected"'), ['pandocore: sidecar not injected']);
  assert.equal(parseWarnings('299 - "first, with a comma", 299 - "a \\"quoted\\" word"'), ['first, with a comma', 'a "quoted" word']);
});

test('the report: one line per check under its category, the fix under each failure, a closing count', () => {
  const text = renderChecks([
    { category: 'webhook', check: 'webhook pods ready', ok: true, detail: 'knative: Ready=True' },
    { category: 'namespace team-a', check: 'license Secret pando-license', ok: false, detail: 'missing', fix: 'kubectl pando enable team-a' },
  ]);
  assert.is(
    text,
    [
      'webhook',
      '  [ok]   webhook pods ready: knative: Ready=True',
      '',
      'namespace team-a',
      '  [FAIL] license Secret pando-license: missing',
      '         fix: kubectl pando enable team-a',
      '',
      '1 of 2 checks failed',
      '',
    ].join('\n'),
  );
});

test('check reads the certificate the webhook serves (Service proxy), never the serving Secret with its key', async () => {
  const ca = await createCa('pando-webhook-ca');
  const serving = await issueServingCert(ca, { dnsNames: [NAME] });
  const mwc = {
    metadata: { name: 'pando-webhook' },
    webhooks: [
      {
        name: 'inject.pandocore.xyz',
        clientConfig: { service: { namespace: 'pando-system', name: 'pando-webhook-https', port: 443 }, caBundle: Buffer.from(ca.cert).toString('base64') },
      },
    ],
  };
  const requests: string[] = [];
  const kube = {
    get: async (_apiVersion: string, kind: string, name: string, namespace?: string) => {
      requests.push(`get ${kind} ${namespace ?? ''}/${name}`);
      return kind === 'MutatingWebhookConfiguration' ? mwc : undefined;
    },
    list: async () => [],
    serviceProxyGet: async (namespace: string, service: string, port: string, path: string): Promise<Obj> => {
      requests.push(`proxy ${namespace}/${service}:${port}${path}`);
      return { certificate: serving.cert };
    },
    dryRunPod: async () => {
      throw new Error('no cluster');
    },
  } as unknown as Kube;
  const results = await runChecks(kube);
  const verdict = results.find((r) => r.check === 'caBundle verifies the serving certificate');
  assert.ok(verdict?.ok, JSON.stringify(verdict));
  assert.ok(requests.includes('proxy pando-system/https:pando-webhook-https:443/tls/certificate'), requests.join('\n'));
  assert.not.ok(
    requests.some((r) => r.startsWith('get Secret pando-system/')),
    requests.join('\n'),
  );
});

test('without a Service proxy to the pods, check falls back to the serving Secret and says so', async () => {
  const ca = await createCa('pando-webhook-ca');
  const serving = await issueServingCert(ca, { dnsNames: [NAME] });
  const requests: string[] = [];
  const kube = {
    get: async (_apiVersion: string, kind: string, name: string, namespace?: string) => {
      requests.push(`get ${kind} ${namespace ?? ''}/${name}`);
      if (kind === 'Secret') return { data: { 'tls.crt': Buffer.from(serving.cert).toString('base64') } };
      return kind === 'MutatingWebhookConfiguration'
        ? {
            webhooks: [
              {
                name: 'inject.pandocore.xyz',
                clientConfig: {
                  service: { namespace: 'pando-system', name: 'pando-webhook-https', port: 443 },
                  caBundle: Buffer.from(ca.cert).toString('base64'),
                },
              },
            ],
          }
        : undefined;
    },
    list: async () => [],
    serviceProxyGet: async () => {
      throw new Error('no endpoints available for service "pando-webhook-https"');
    },
    dryRunPod: async () => {
      throw new Error('no cluster');
    },
  } as unknown as Kube;
  const verdict = (await runChecks(kube)).find((r) => r.check === 'caBundle verifies the serving certificate');
  assert.ok(verdict?.ok, JSON.stringify(verdict));
  assert.match(verdict!.detail, /pando-system\/pando-webhook-tls \(the Service proxy could not reach the webhook: .*no endpoints available/);
  assert.ok(requests.includes('get Secret pando-system/pando-webhook-tls'));
});

test.run();
