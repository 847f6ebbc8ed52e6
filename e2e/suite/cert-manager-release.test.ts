// The pando release itself on the real cert-manager (issue 18): the running release switched with
// helm upgrade --set tls.certManager=true, cert-manager issues its CA and serving certificate,
// cainjector writes the caBundle, and the running webhook pods serve cert-manager's certificate;
// a renewal forced the way cmctl renew forces it is served without a restart while every pod
// created meanwhile is injected; kubectl pando check passes, and names the TLS step when the
// Certificate is not Ready. Then helm uninstall of that release while pods are created (none
// refused; every object of the manifest gone, the two Secrets cert-manager wrote left, as
// cert-manager does by default; cert-manager itself untouched), the documented cleanup, a fresh
// helm install with tls.certManager=true, and from it the switch back to the TLS setup Job, as
// every later suite expects the release.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CERT_MANAGER_NAMESPACE,
  CERT_MANAGER_RELEASE,
  installCertManager,
  missingCertManagerTools,
  podMemory,
  uninstallCertManagerAndWait,
} from '../harness/cert-manager';
import { helm, helmOk, kubectl, kubectlOk } from '../harness/kubeconfig';
import { helmInstall, installedDocuments, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { helmUpgrade, startWebhook, waitForWebhook, WEBHOOK_SERVICE } from '../harness/webhook';
import { waitFor } from '../harness/processes';
import { parseBundle } from '../../function/tls/certs';
import { skipSuite } from '../../test/support/skip';
import { assertInjected } from './checks';
import { cluster, createPod, createPodsWhile, enabledNamespace, pando, simplePod, unique, type Obj } from './context';

const SERVING = 'pando-webhook-serving';
const CA = 'pando-webhook-ca';
const SERVING_SECRET = 'pando-webhook-tls';
const WEBHOOK_PODS = 'app.kubernetes.io/name=pando-webhook,app.kubernetes.io/component=webhook';
const DNS_NAME = `${WEBHOOK_SERVICE}.${SYSTEM_NAMESPACE}.svc`;
const namespace = unique('cert-manager-release');

const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
const say = (line: string) => console.log(`cert-manager release: ${line}`);

/** The release's values as Helm holds them (user-supplied only). */
const certManagerValue = (): boolean => Boolean(JSON.parse(helmOk(cluster, ['get', 'values', RELEASE, '-n', SYSTEM_NAMESPACE, '-o', 'json'])).tls?.certManager);

/** The webhook pods' identities: the same UIDs and no restart mean nothing restarted them. */
function webhookPodIdentities(): string[] {
  const pods = getJson(['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', WEBHOOK_PODS]).items as Obj[];
  return pods
    .filter((pod) => !pod.metadata.deletionTimestamp)
    .map((pod) => `${pod.metadata.name} ${pod.metadata.uid} restarts=${pod.status.containerStatuses?.[0]?.restartCount}`)
    .sort();
}

const webhookPodIps = (): string[] =>
  (getJson(['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', WEBHOOK_PODS]).items as Obj[])
    .filter((pod) => !pod.metadata.deletionTimestamp && pod.status.podIP)
    .map((pod) => pod.status.podIP);

/** The certificate a webhook pod serves, as the API server asks for it (SNI: the Service's name). */
function servedCertificate(ip: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: ip, port: 8443, servername: DNS_NAME, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });
}
const servedSerials = async () => Promise.all(webhookPodIps().map(async (ip) => (await servedCertificate(ip)).serialNumber));

const secret = (name: string) => kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'secret', name, '-o', 'json']);
const secretCertificate = (name: string, key = 'tls.crt'): X509Certificate | undefined => {
  const run = secret(name);
  if (run.code !== 0) return undefined;
  const data = JSON.parse(run.stdout).data?.[key];
  return data ? new X509Certificate(Buffer.from(data, 'base64')) : undefined;
};
const caBundle = (): string =>
  Buffer.from(getJson(['get', 'mutatingwebhookconfiguration', 'pando-webhook']).webhooks[0].clientConfig.caBundle ?? '', 'base64').toString('utf8');
/** The caBundle's CA certificates. cainjector (v1.21) merges: it adds a CA, keeping those not expired. */
const bundleCas = (): X509Certificate[] => parseBundle(caBundle());
const signedByBundle = (served: X509Certificate) => bundleCas().some((ca) => served.checkIssued(ca) && served.verify(ca.publicKey));
const certificate = (name: string): Obj | undefined => {
  const run = kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'certificate', name, '-o', 'json']);
  return run.code === 0 ? JSON.parse(run.stdout) : undefined;
};
const condition = (object: Obj | undefined, type: string): Obj | undefined => (object?.status?.conditions ?? []).find((c: Obj) => c.type === type);

/**
 * Until cert-manager's serving certificate is what everything agrees on: the Certificate Ready,
 * its Secret issued by cert-manager and signed by the Secret's ca.crt, the caBundle that CA
 * (cainjector), and every webhook pod serving the Secret's certificate (the kubelet's volume
 * update, the webhook's reload). Returns the serial.
 */
async function certManagerServed(timeoutMs = 180_000): Promise<string> {
  let serial = '';
  await waitFor(
    "the webhook pods serving cert-manager's certificate, the caBundle its CA",
    async () => {
      const now = certificate(SERVING);
      if (condition(now, 'Ready')?.status !== 'True') throw new Error(`Certificate ${SERVING} not Ready`);
      if (condition(now, 'Issuing')?.status === 'True') throw new Error(`Certificate ${SERVING} still issuing`);
      const stored = JSON.parse(secret(SERVING_SECRET).stdout || '{}');
      if (stored.metadata?.annotations?.['cert-manager.io/certificate-name'] !== SERVING)
        throw new Error(`Secret ${SERVING_SECRET} not issued by cert-manager yet`);
      const leaf = secretCertificate(SERVING_SECRET)!;
      const ca = secretCertificate(SERVING_SECRET, 'ca.crt')!;
      if (!leaf.verify(ca.publicKey)) throw new Error('tls.crt not signed by ca.crt yet');
      if (!bundleCas().some((cert) => cert.raw.equals(ca.raw))) throw new Error('the CA not in the caBundle yet');
      const served = await servedSerials();
      if (served.length === 0 || served.some((s) => s !== leaf.serialNumber)) throw new Error(`served ${served.join(', ')}, Secret ${leaf.serialNumber}`);
      serial = leaf.serialNumber;
      return true;
    },
    timeoutMs,
  );
  return serial;
}

/** Each object of a release manifest as kubectl names it (kind.group/name), with its namespace. */
const manifestObjects = (docs: Obj[]): Array<{ namespace: string; ref: string }> =>
  docs.map((doc) => {
    const group = String(doc.apiVersion).includes('/') ? `.${String(doc.apiVersion).split('/')[0]}` : '';
    return { namespace: doc.metadata.namespace ?? SYSTEM_NAMESPACE, ref: `${String(doc.kind).toLowerCase()}${group}/${doc.metadata.name}` };
  });

/** Those of the objects the API server still has (kubectl get -o name of each). */
function objectsPresent(objects: Array<{ namespace: string; ref: string }>): string[] {
  const present: string[] = [];
  for (const namespace of new Set(objects.map((object) => object.namespace))) {
    const refs = objects.filter((object) => object.namespace === namespace).map((object) => object.ref);
    present.push(
      ...kubectlOk(cluster, ['-n', namespace, 'get', ...refs, '--ignore-not-found', '-o', 'name'])
        .split('\n')
        .filter(Boolean),
    );
  }
  return present;
}

/** Helm's records of the release: helm list (every state by default in Helm 4) and its storage Secrets. */
const releaseRecords = (): string[] => [
  ...(JSON.parse(helmOk(cluster, ['list', '-n', SYSTEM_NAMESPACE, '-o', 'json'])) as Obj[]).map((r) => `${r.name} ${r.status}`),
  ...kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'secrets', '-l', `owner=helm,name=${RELEASE}`, '-o', 'name'])
    .split('\n')
    .filter(Boolean),
];

/** The serving Certificate's CertificateRequests (revision, created, conditions): why a revision moved. */
const servingRequests = (): string =>
  (getJson(['-n', SYSTEM_NAMESPACE, 'get', 'certificaterequests']).items as Obj[])
    .map(
      (r) =>
        `${r.metadata.annotations?.['cert-manager.io/certificate-revision']} ${r.metadata.creationTimestamp} ${JSON.stringify(r.status?.conditions ?? [])}`,
    )
    .join('; ');

const releaseInstalled = () => helm(cluster, ['status', RELEASE, '-n', SYSTEM_NAMESPACE]).code === 0;

/** The Secrets of the release namespace cert-manager wrote (it annotates each with its Certificate). */
const certManagerSecrets = (): Obj[] =>
  (getJson(['-n', SYSTEM_NAMESPACE, 'get', 'secrets']).items as Obj[]).filter((s) => s.metadata.annotations?.['cert-manager.io/certificate-name']);

/** cert-manager's own pods: name, UID, restarts, ready. */
function certManagerPods(): string[] {
  const pods = getJson(['-n', CERT_MANAGER_NAMESPACE, 'get', 'pods']).items as Obj[];
  return pods
    .map((pod) => {
      const ready = (pod.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
      const restarts = (pod.status.containerStatuses ?? []).map((c: Obj) => c.restartCount).join('+');
      return `${pod.metadata.name} ${pod.metadata.uid} restarts=${restarts} ready=${ready}`;
    })
    .sort();
}

/**
 * After helm uninstall of a cert-manager release: the documented cleanup of the two Secrets
 * cert-manager leaves (docs/deploy.md), then the local cluster's release as `up` installs it.
 */
async function reinstallOnJob() {
  kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'secret', SERVING_SECRET, CA, '--ignore-not-found']);
  helmInstall(cluster);
  await waitForWebhook(cluster);
  await startWebhook(cluster);
}

const injectedCount = (answers: Array<{ status: number; body: Obj }>) =>
  answers.filter(
    (a) => a.status === 201 && (a.body.spec?.initContainers ?? []).concat(a.body.spec?.containers ?? []).some((c: Obj) => c.name === 'pando-sidecar'),
  ).length;

/**
 * Back to the TLS setup Job: cert-manager's Secrets are kubernetes.io/tls and not Helm's, so
 * Helm cannot take them over (nor change their type): delete the Certificates first (else
 * cert-manager writes the Secrets again), then the Secrets, then helm upgrade, whose TLS Job
 * makes a new CA and serving certificate and writes the caBundle (docs/deploy.md).
 */
async function switchBackToJob() {
  kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'certificate', SERVING, CA, '--ignore-not-found']);
  // Their CertificateRequests go with them (owner references): no issuance is left to write a Secret.
  const requests = () => kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'certificaterequests', '-o', 'name']).trim();
  await waitFor('the CertificateRequests gone', async () => requests() === '', 60_000);
  kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'secret', SERVING_SECRET, CA, '--ignore-not-found']);
  await helmUpgrade(cluster, ['tls.certManager=false']);
}

const missing = missingCertManagerTools(cluster.tools);
if (missing.length) {
  skipSuite(test, 'the release on cert-manager', `${missing.join(', ')} not in ${cluster.tools} (npm run tools builds them)`);
} else {
  let podsBefore: string[] = [];

  test.before(async () => {
    const installed = await installCertManager(cluster, say);
    say(`cert-manager installed and answering in ${installed.toFixed(1)} s`);
    enabledNamespace(namespace);
    podsBefore = webhookPodIdentities();
    assert.is(podsBefore.length, 2, podsBefore.join('; '));
  });

  test.after(async () => {
    // A test that failed half-way must not leave later suites a release on cert-manager.
    try {
      if (!releaseInstalled()) await reinstallOnJob();
      else if (certManagerValue()) await switchBackToJob();
    } finally {
      kubectl(cluster, ['delete', 'namespace', namespace, '--wait=false']);
      await uninstallCertManagerAndWait(cluster);
    }
  });

  test('helm upgrade --set tls.certManager=true: the Certificates Ready, cainjector writes the caBundle, the running pods serve the certificate, protected pods injected', async () => {
    const started = Date.now();
    const { answers } = await createPodsWhile(namespace, async () => {
      await helmUpgrade(cluster, ['tls.certManager=true']);
      say(`helm upgrade --reuse-values --set tls.certManager=true done in ${seconds(started)} s`);
      return certManagerServed();
    });
    say(`both webhook pods serving cert-manager's certificate ${seconds(started)} s after the upgrade began`);
    // Reported, not asserted: cainjector adds cert-manager's CA beside the Job's (it merges), so the
    // pods' previous certificate stays trusted until the kubelet swaps the files; a call that fails
    // would let its pod pass uninjected (failurePolicy Ignore). docs/deploy.md gives the counts.
    say(`pods created during the switch: ${answers.length}, injected ${injectedCount(answers)}`);

    // The original troubleshooting line, verbatim.
    const listed = kubectlOk(cluster, ['get', 'certificates', '-n', 'pando-system']);
    console.log(listed.trimEnd());
    assert.match(listed, new RegExp(`^${SERVING}\\s+True\\s+${SERVING_SECRET}\\s`, 'm'));
    assert.match(listed, new RegExp(`^${CA}\\s+True\\s+${CA}\\s`, 'm'));

    // The TLS Job's objects went with the upgrade; cainjector is asked for the CA.
    assert.is(kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'cronjob', 'pando-webhook-tls-renew']).code, 1, 'the renewal CronJob is gone');
    const configuration = getJson(['get', 'mutatingwebhookconfiguration', 'pando-webhook']);
    assert.is(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${SYSTEM_NAMESPACE}/${SERVING}`);
    const served = await servedCertificate(webhookPodIps()[0]);
    assert.ok(served.checkHost(DNS_NAME), `served for ${DNS_NAME}`);
    assert.ok(served.checkIssued(secretCertificate(CA)!), "signed by cert-manager's CA Certificate");
    assert.ok(signedByBundle(served), 'the caBundle verifies it');
    say(
      `caBundle: ${bundleCas()
        .map((ca) => ca.subject.replace(/\n/g, ', '))
        .join(' + ')}`,
    );
    assert.is(getJson(['-n', SYSTEM_NAMESPACE, 'get', 'secret', SERVING_SECRET]).type, 'kubernetes.io/tls');

    assert.equal(webhookPodIdentities(), podsBefore, 'the same webhook pods, never restarted');
    for (let i = 0; i < 5; i++) {
      const answer = await createPod(namespace, simplePod(unique('after-switch')));
      assert.is(answer.status, 201, JSON.stringify(answer.body));
      assertInjected(answer.body);
    }
  });

  test('kubectl pando check passes on the cert-manager install', () => {
    const run = pando(['check']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, `[ok]   TLS certificate issued: cert-manager Certificate ${SERVING} Ready=True`);
    assert.match(run.stdout, /\[ok\] {3}caBundle verifies the serving certificate: /);
  });

  test('a renewal forced as cmctl renew forces it (the Issuing condition, through the status subresource): a new serial served by the same pods, every pod created meanwhile injected', async () => {
    const before = await servedSerials();
    assert.is(new Set(before).size, 1, `both pods serve one certificate: ${before.join(', ')}`);
    const bundleBefore = caBundle();
    const current = certificate(SERVING)!;
    const revision = current.status.revision;
    const conditionsBefore: Obj[] = current.status.conditions ?? [];
    const started = Date.now();
    const { result: serial, answers } = await createPodsWhile(namespace, async () => {
      const issuing = {
        type: 'Issuing',
        status: 'True',
        reason: 'ManuallyTriggered',
        message: 'Certificate re-issuance manually triggered',
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        observedGeneration: current.metadata.generation,
      };
      kubectlOk(cluster, [
        '-n',
        SYSTEM_NAMESPACE,
        'patch',
        'certificate',
        SERVING,
        '--subresource=status',
        '--type=json',
        '-p',
        // cmctl sets the condition in place of any Issuing one, on the object it read (resourceVersion).
        JSON.stringify([
          { op: 'test', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion },
          { op: 'replace', path: '/status/conditions', value: [...conditionsBefore.filter((c: Obj) => c.type !== 'Issuing'), issuing] },
        ]),
      ]);
      await waitFor('a new certificate in the Secret', async () => secretCertificate(SERVING_SECRET)?.serialNumber !== before[0], 60_000);
      say(`renewal: Secret ${SERVING_SECRET} holds a new certificate ${seconds(started)} s after the Issuing condition`);
      return certManagerServed(120_000);
    });
    say(`renewal: both webhook pods serve it ${seconds(started)} s after; ${answers.length} pods created meanwhile, ${injectedCount(answers)} injected`);
    assert.not.ok(before.includes(serial), 'a new serial');
    assert.is(
      certificate(SERVING)!.status.revision,
      revision + 1,
      `cert-manager's revision moved by one (conditions before: ${JSON.stringify(conditionsBefore)}; requests: ${servingRequests()})`,
    );
    assert.is(caBundle(), bundleBefore, 'the same CA: the caBundle did not change');
    assert.equal(webhookPodIdentities(), podsBefore, 'the same webhook pods, never restarted');
    assert.ok(answers.length > 0);
    for (const answer of answers) {
      assert.is(answer.status, 201, JSON.stringify(answer.body));
      assertInjected(answer.body);
    }
    say(`memory (working set) after the renewal: ${podMemory(cluster, CERT_MANAGER_NAMESPACE)}`);
  });

  test('kubectl pando check fails the TLS step when the Certificate is not Ready (its Issuer missing), and passes once it is again', async () => {
    const issuerPath = [{ op: 'replace', path: '/spec/issuerRef/name', value: 'pando-e2e-no-such-issuer' }];
    kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'patch', 'certificate', SERVING, '--type=json', '-p', JSON.stringify(issuerPath)]);
    try {
      await waitFor('the Certificate not Ready', async () => condition(certificate(SERVING), 'Ready')?.status === 'False', 60_000);
      const run = pando(['check']);
      assert.is.not(run.code, 0, run.stdout);
      const failures = run.stdout.split('\n').filter((line) => line.includes('[FAIL]'));
      assert.equal(
        failures.map((line) => line.trim().split(':')[0]),
        ['[FAIL] TLS certificate issued'],
        run.stdout,
      );
      assert.match(failures[0], new RegExp(`cert-manager Certificate ${SERVING} Ready=False \\(\\w+: `));
      say(`not Ready: ${failures[0].trim()}`);
      assert.match(run.stdout, `fix: kubectl -n ${SYSTEM_NAMESPACE} describe certificate ${SERVING}`);
    } finally {
      issuerPath[0].value = CA;
      kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'patch', 'certificate', SERVING, '--type=json', '-p', JSON.stringify(issuerPath)]);
    }
    await certManagerServed();
    const run = pando(['check']);
    assert.is(run.code, 0, run.stdout + run.stderr);
  });

  test('helm uninstall of the cert-manager release: no pod refused while it runs, no object of its manifest left, the two Secrets cert-manager wrote left (no owner reference), cert-manager untouched', async () => {
    const objects = manifestObjects(installedDocuments(cluster));
    const kinds = new Set(objects.map((object) => object.ref.split('/')[0]));
    for (const kind of [
      'issuer.cert-manager.io',
      'certificate.cert-manager.io',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io',
      'validatingadmissionpolicy.admissionregistration.k8s.io',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io',
      'deployment.apps',
      'service',
      'clusterrole.rbac.authorization.k8s.io',
    ])
      assert.ok(kinds.has(kind), `the manifest has a ${kind}: ${[...kinds].join(', ')}`);
    // The check below sees them all while they exist: an empty answer afterwards means gone.
    assert.is(objectsPresent(objects).length, objects.length, 'every object of the manifest found before the uninstall');
    assert.is(certManagerSecrets().length, 2);
    const certManagerBefore = certManagerPods();
    assert.ok(
      certManagerBefore.every((pod) => pod.endsWith('ready=true')),
      certManagerBefore.join('; '),
    );

    const started = Date.now();
    const { answers } = await createPodsWhile(namespace, async () => {
      helmOk(cluster, ['uninstall', RELEASE, '-n', SYSTEM_NAMESPACE, '--wait', '--timeout', '180s']);
      say(`helm uninstall --wait done in ${seconds(started)} s`);
      await waitFor('the webhook pods gone', async () => getJson(['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', WEBHOOK_PODS]).items.length === 0, 120_000);
    });
    const warned = answers.filter((answer) => ((answer as { warnings?: string[] }).warnings ?? []).length > 0).length;
    say(
      `uninstall: ${answers.length} pods created while it ran, ${injectedCount(answers)} injected, ${warned} warned by the safety net, none refused expected`,
    );
    assert.ok(answers.length > 0);
    for (const answer of answers) assert.is(answer.status, 201, JSON.stringify(answer.body));

    assert.equal(objectsPresent(objects), [], `none of the ${objects.length} objects of the manifest left`);
    assert.is(
      kubectlOk(cluster, [
        'get',
        'all,secrets,serviceaccounts,roles,rolebindings',
        '-n',
        SYSTEM_NAMESPACE,
        '-l',
        `app.kubernetes.io/instance=${RELEASE}`,
        '-o',
        'name',
      ]).trim(),
      '',
    );
    assert.equal(releaseRecords(), [], 'no release left (not even failed), no record of it');
    // cert-manager's CertificateRequests belong to the Certificates: the garbage collector takes them.
    await waitFor(
      'the CertificateRequests gone',
      async () => kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'certificaterequests', '-o', 'name']).trim() === '',
      60_000,
    );

    // What cert-manager leaves on purpose: a Certificate's Secret outlives it unless the controller
    // runs with --enable-certificate-owner-ref (chart value enableCertificateOwnerRef, default false).
    const controllerArgs = getJson(['-n', CERT_MANAGER_NAMESPACE, 'get', 'deployment', CERT_MANAGER_RELEASE]).spec.template.spec.containers[0].args as string[];
    assert.not.ok(
      controllerArgs.some((arg) => arg.startsWith('--enable-certificate-owner-ref')),
      controllerArgs.join(' '),
    );
    const left = certManagerSecrets();
    assert.equal(left.map((s) => `${s.metadata.name} ${s.type} from ${s.metadata.annotations['cert-manager.io/certificate-name']}`).sort(), [
      `${CA} kubernetes.io/tls from ${CA}`,
      `${SERVING_SECRET} kubernetes.io/tls from ${SERVING}`,
    ]);
    for (const s of left) assert.is(s.metadata.ownerReferences, undefined, `${s.metadata.name} has no owner to be collected with`);
    say(`left after the uninstall: Secrets ${left.map((s) => s.metadata.name).join(', ')} (cert-manager's, no owner reference)`);

    // cert-manager is not ours: the same pods, Ready, never restarted, its webhook admitting.
    assert.equal(certManagerPods(), certManagerBefore);
    const probe = JSON.stringify({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'pando-e2e-after-uninstall', namespace: SYSTEM_NAMESPACE },
      spec: { selfSigned: {} },
    });
    const admitted = kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], probe);
    assert.is(admitted.code, 0, admitted.stderr);
  });

  test("the Secrets left stop a default reinstall (Helm adopts no Secret it did not create); after the documented cleanup, a fresh helm install with tls.certManager=true: Certificates Ready, the caBundle cert-manager's CA alone, pods injected", async () => {
    // The local cluster's own install line (Job mode), as a user reinstalling with defaults runs it.
    let refusal = '';
    try {
      helmInstall(cluster);
    } catch (error) {
      refusal = (error as Error).message;
    }
    assert.match(refusal, /Secret "pando-webhook-(ca|tls)" in namespace "pando-system" exists and cannot be imported into the current release/);
    assert.equal(releaseRecords(), [], 'the refused install recorded no release');
    say(`a default install over them: ${refusal.split('\n').pop()}`);

    // The cleanup docs/deploy.md gives, then the local cluster's install on cert-manager.
    kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'secret', SERVING_SECRET, CA]);
    const started = Date.now();
    helmInstall({ ...cluster, helmSet: [...cluster.helmSet, 'tls.certManager=true'] });
    say(`helm install with tls.certManager=true done in ${seconds(started)} s`);
    await waitForWebhook(cluster);
    await startWebhook(cluster);
    await certManagerServed();
    say(`fresh install on cert-manager: pods serving its certificate and injecting ${seconds(started)} s after helm install began`);

    assert.is(certManagerValue(), true);
    const listed = kubectlOk(cluster, ['get', 'certificates', '-n', 'pando-system']);
    assert.match(listed, new RegExp(`^${SERVING}\\s+True\\s+${SERVING_SECRET}\\s`, 'm'));
    assert.match(listed, new RegExp(`^${CA}\\s+True\\s+${CA}\\s`, 'm'));
    const cas = bundleCas();
    assert.is(cas.length, 1, 'a new webhook configuration: only the CA cainjector wrote');
    assert.ok(cas[0].raw.equals(secretCertificate(SERVING_SECRET, 'ca.crt')!.raw));
    podsBefore = webhookPodIdentities();
    assert.is(podsBefore.length, 2, podsBefore.join('; '));
    for (let i = 0; i < 5; i++) {
      const answer = await createPod(namespace, simplePod(unique('after-install')));
      assert.is(answer.status, 201, JSON.stringify(answer.body));
      assertInjected(answer.body);
    }
    const run = pando(['check']);
    assert.is(run.code, 0, run.stdout + run.stderr);
  });

  test('switched back to the TLS setup Job: no Issuer or Certificate left, the Job issues, the same pods serve its certificate, pods injected', async () => {
    const started = Date.now();
    const { answers } = await createPodsWhile(namespace, async () => {
      await switchBackToJob();
      await waitFor(
        "the webhook pods serving the TLS Job's certificate, verified by the caBundle",
        async () => {
          const served = await Promise.all(webhookPodIps().map(servedCertificate));
          return served.length === 2 && served.every((cert) => signedByBundle(cert) && cert.serialNumber === secretCertificate(SERVING_SECRET)?.serialNumber);
        },
        120_000,
      );
    });
    say(`switched back to the TLS Job in ${seconds(started)} s; pods created during the switch: ${answers.length}, injected ${injectedCount(answers)}`);
    assert.is(certManagerValue(), false);
    assert.is(kubectlOk(cluster, ['get', 'issuers,certificates', '-n', SYSTEM_NAMESPACE, '-o', 'name']).trim(), '');
    const configuration = getJson(['get', 'mutatingwebhookconfiguration', 'pando-webhook']);
    assert.is(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
    assert.is(getJson(['-n', SYSTEM_NAMESPACE, 'get', 'secret', SERVING_SECRET]).metadata.annotations?.['cert-manager.io/certificate-name'], undefined);
    kubectlOk(cluster, ['-n', SYSTEM_NAMESPACE, 'get', 'cronjob', 'pando-webhook-tls-renew']);
    assert.equal(webhookPodIdentities(), podsBefore, 'the same webhook pods, never restarted');
    for (let i = 0; i < 5; i++) {
      const answer = await createPod(namespace, simplePod(unique('after-back')));
      assert.is(answer.status, 201, JSON.stringify(answer.body));
      assertInjected(answer.body);
    }
    const run = pando(['check']);
    assert.is(run.code, 0, run.stdout + run.stderr);
  });
}

test.run();
