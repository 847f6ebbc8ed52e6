// cert-manager for real, on the local node: its controller, cainjector and webhook (built from
// cert-manager's Go module by npm run tools) run as pods of local images, installed with
// cert-manager's own chart. A self-signed Certificate gets its Secret, cert-manager's webhook
// refuses what its validation refuses, cainjector writes a caBundle, and our chart's
// tls.certManager=true objects are issued: the serving certificate signed by the chart's CA, and
// that CA injected into the chart's own webhook configuration.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helmOk, kubectl, kubectlOk, parseDocuments } from '../harness/kubeconfig';
import { CHART, LOCAL_LICENSE } from '../harness/release';
import {
  CERT_MANAGER_COMPONENTS,
  CERT_MANAGER_NAMESPACE,
  certManagerImage,
  installCertManager,
  missingCertManagerTools,
  podMemory,
  uninstallCertManager,
} from '../harness/cert-manager';
import { waitFor } from '../harness/processes';
import { skipSuite } from '../../test/support/skip';
import { cluster, unique, type Obj } from './context';

const namespace = unique('cert-manager-e2e');
const chartNamespace = unique('cert-manager-chart');
const injectionTarget = `pando-e2e-inject-${namespace}`;
const chartWebhookCopy = `pando-e2e-chart-inject-${chartNamespace}`;
// No namespace carries this label: the webhook configurations made here never admit anything.
const NOWHERE = { matchLabels: { 'pando.local/no-namespace-has-this': 'true' } };

const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const apply = (docs: Obj[]) => kubectlOk(cluster, ['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));
const secretData = (ns: string, name: string, key: string) => Buffer.from(getJson(['-n', ns, 'get', 'secret', name]).data[key] ?? '', 'base64');
const certificateReady = (ns: string, name: string, seconds = 90) =>
  kubectlOk(cluster, ['-n', ns, 'wait', '--for=condition=Ready', `certificate/${name}`, `--timeout=${seconds}s`]);

async function caBundleOf(name: string, expected: Buffer): Promise<Buffer> {
  let bundle = Buffer.alloc(0);
  await waitFor(
    `cainjector writing the caBundle of ${name}`,
    async () => {
      const config = getJson(['get', 'mutatingwebhookconfiguration', name]);
      bundle = Buffer.from(config.webhooks[0].clientConfig.caBundle ?? '', 'base64');
      return bundle.equals(expected);
    },
    60_000,
  );
  return bundle;
}

const missing = missingCertManagerTools(cluster.tools);
if (missing.length) {
  skipSuite(test, 'cert-manager on the node', `${missing.join(', ')} not in ${cluster.tools} (npm run tools builds them)`);
} else {
  test.before(async () => {
    const seconds = await installCertManager(cluster, (line) => console.log(`cert-manager: ${line}`));
    console.log(`cert-manager: installed and answering in ${seconds.toFixed(1)} s`);
    kubectlOk(cluster, ['create', 'namespace', namespace]);
    kubectlOk(cluster, ['create', 'namespace', chartNamespace]);
  });

  test.after(() => {
    kubectl(cluster, ['delete', 'mutatingwebhookconfiguration', injectionTarget, chartWebhookCopy, '--ignore-not-found']);
    kubectl(cluster, ['delete', 'namespace', namespace, chartNamespace, '--wait=false']);
    uninstallCertManager(cluster);
  });

  test("cert-manager's controller, cainjector and webhook run as pods of the local images, each Ready", () => {
    const pods = getJson(['-n', CERT_MANAGER_NAMESPACE, 'get', 'pods']).items as Obj[];
    for (const component of CERT_MANAGER_COMPONENTS) {
      const pod = pods.find((p) => p.metadata.labels?.['app.kubernetes.io/component'] === component && !p.metadata.deletionTimestamp);
      assert.ok(pod, `no ${component} pod among ${pods.map((p) => p.metadata.name).join(', ')}`);
      assert.is(pod.status.phase, 'Running', `${pod.metadata.name}: ${JSON.stringify(pod.status.containerStatuses)}`);
      assert.is(pod.status.conditions.find((c: Obj) => c.type === 'Ready')?.status, 'True', pod.metadata.name);
      assert.is(pod.spec.containers[0].image, certManagerImage(component));
      console.log(`cert-manager: ${pod.metadata.name} Running, Ready, restarts ${pod.status.containerStatuses[0].restartCount}`);
    }
  });

  test('a self-signed Issuer and a Certificate give a Secret with the certificate issued for its names', () => {
    apply([
      { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'self', namespace }, spec: { selfSigned: {} } },
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'demo', namespace },
        spec: {
          secretName: 'demo-tls',
          dnsNames: [`demo.${namespace}.svc`],
          privateKey: { algorithm: 'ECDSA', size: 256 },
          issuerRef: { name: 'self', kind: 'Issuer', group: 'cert-manager.io' },
        },
      },
    ]);
    certificateReady(namespace, 'demo');
    const secret = getJson(['-n', namespace, 'get', 'secret', 'demo-tls']);
    assert.is(secret.type, 'kubernetes.io/tls');
    assert.is(secret.metadata.annotations['cert-manager.io/certificate-name'], 'demo');
    const certificate = new X509Certificate(secretData(namespace, 'demo-tls', 'tls.crt'));
    assert.is(certificate.subjectAltName, `DNS:demo.${namespace}.svc`);
    assert.ok(certificate.verify(certificate.publicKey), 'self-signed: it verifies with its own key');
    assert.ok(certificate.checkPrivateKey(createPrivateKey(secretData(namespace, 'demo-tls', 'tls.key'))), 'tls.key is its key');
  });

  test("cert-manager's webhook refuses a Certificate its validation refuses (no name to certify)", () => {
    const invalid = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'nameless', namespace },
      spec: { secretName: 'nameless-tls', issuerRef: { name: 'self' } },
    };
    const run = kubectl(cluster, ['create', '-f', '-'], JSON.stringify(invalid));
    assert.is.not(run.code, 0, 'created');
    assert.match(run.stderr, 'admission webhook "webhook.cert-manager.io" denied the request');
  });

  test("cainjector writes the Certificate's CA into a MutatingWebhookConfiguration annotated cert-manager.io/inject-ca-from", async () => {
    apply([
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: injectionTarget, annotations: { 'cert-manager.io/inject-ca-from': `${namespace}/demo` } },
        webhooks: [
          {
            name: 'never.pando.local',
            clientConfig: { service: { namespace, name: 'none', path: '/' } },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
            namespaceSelector: NOWHERE,
            failurePolicy: 'Ignore',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
          },
        ],
      },
    ]);
    const ca = secretData(namespace, 'demo-tls', 'ca.crt');
    assert.ok(ca.length > 0, 'the Secret has ca.crt');
    await caBundleOf(injectionTarget, ca);
  });

  test("our chart's tls.certManager=true objects: both Certificates Ready, the serving one signed by the chart's CA, that CA injected into the chart's webhook configuration", async () => {
    const rendered = parseDocuments(
      helmOk(cluster, ['template', 'pando-webhook', CHART, '-n', chartNamespace, '--set', 'tls.certManager=true', '--set', `licenseKey=${LOCAL_LICENSE}`]),
    );
    const issuance = rendered.filter((doc) => doc.apiVersion === 'cert-manager.io/v1');
    assert.equal(issuance.map((doc) => `${doc.kind}/${doc.metadata.name}`).sort(), [
      'Certificate/pando-webhook-ca',
      'Certificate/pando-webhook-serving',
      'Issuer/pando-webhook-ca',
      'Issuer/pando-webhook-selfsigned',
    ]);
    apply(issuance);
    certificateReady(chartNamespace, 'pando-webhook-ca');
    certificateReady(chartNamespace, 'pando-webhook-serving');
    console.log(kubectlOk(cluster, ['get', 'certificates', '-n', chartNamespace]).trimEnd());

    const serving = issuance.find((doc) => doc.metadata.name === 'pando-webhook-serving')!;
    const caSecret = issuance.find((doc) => doc.metadata.name === 'pando-webhook-ca')!.spec.secretName;
    const caCertificate = new X509Certificate(secretData(chartNamespace, caSecret, 'tls.crt'));
    const servingCertificate = new X509Certificate(secretData(chartNamespace, serving.spec.secretName, 'tls.crt'));
    assert.ok(caCertificate.ca, 'the CA Certificate is a CA');
    assert.is(servingCertificate.subjectAltName, serving.spec.dnsNames.map((name: string) => `DNS:${name}`).join(', '));
    assert.ok(servingCertificate.checkIssued(caCertificate) && servingCertificate.verify(caCertificate.publicKey), 'signed by the CA');
    assert.ok(secretData(chartNamespace, serving.spec.secretName, 'ca.crt').equals(secretData(chartNamespace, caSecret, 'tls.crt')));

    // The chart's own webhook configuration, renamed and pointed at no namespace (the release's
    // is installed already), keeps the annotation it renders.
    const webhookConfiguration = rendered.find((doc) => doc.kind === 'MutatingWebhookConfiguration')!;
    assert.is(webhookConfiguration.metadata.annotations['cert-manager.io/inject-ca-from'], `${chartNamespace}/pando-webhook-serving`);
    const copy = structuredClone(webhookConfiguration);
    copy.metadata.name = chartWebhookCopy;
    for (const webhook of copy.webhooks) webhook.namespaceSelector = NOWHERE;
    apply([copy]);
    await caBundleOf(chartWebhookCopy, secretData(chartNamespace, caSecret, 'tls.crt'));
    // After some minutes of work the kubelet's summary has every pod's figure.
    console.log(`cert-manager: memory (working set) ${podMemory(cluster, CERT_MANAGER_NAMESPACE)}`);
  });
}

test.run();
