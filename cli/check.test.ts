// kubectl pando check: the certificate verdict, the API server's warning header and the report
// a terminal shows; then every check against the fake API holding an install (the checks against
// a real API server are in e2e/suite/plugin.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCa, issueServingCert } from '../function/tls/certs';
import type { FakeCluster } from '../test/support/fake-api';
import { installed, onFakeApi, RELEASE_NAMESPACE } from '../test/support/installed';
import { renderChecks, runChecks, verifyServing, type CheckOptions, type CheckResult } from './check';
import { Kube, parseWarnings } from './kube';
import { runPlugin } from '../test/support/cli';

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
    { id: 'webhook-ready', category: 'webhook', check: 'webhook pods ready', ok: true, detail: 'knative: Ready=True' },
    {
      id: 'license-secret',
      category: 'namespace team-a',
      check: 'license Secret pando-license',
      ok: false,
      detail: 'missing',
      fix: 'kubectl pando enable team-a',
    },
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

/** runChecks through the plugin's own Kube client against the fake API serving this cluster. */
async function checksOn(cluster: FakeCluster, options: CheckOptions = {}): Promise<{ results: CheckResult[]; problems: string[]; requests: string[] }> {
  return onFakeApi(cluster, async (kubeconfig, fake) => {
    const results = await runChecks(new Kube({ kubeconfig }), options);
    return { results, problems: fake.state.problems, requests: fake.takeRequests() };
  });
}
const failed = (results: CheckResult[]) => results.filter((r) => !r.ok);
const byId = (results: CheckResult[], id: string, category = 'webhook') => results.find((r) => r.id === id && r.category === category);
const ALL_IDS = [
  'install-readable',
  'configured-values',
  'webhook-configuration',
  'webhook-ready',
  'tls-issued',
  'cabundle-verifies',
  'certificate-expiry',
  'namespaces-enabled',
  'service-account',
  'role-binding',
  'license-secret',
  'image-pull-secrets',
  'sidecar-pulled',
  'dry-run-injected',
];
const without = (objects: Record<string, any>[], kind: string, name: string, namespace?: string) =>
  objects.filter((o) => !(o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace));

test('a healthy install: every check passes, in order, through the real client; the dry-run comes back injected', async () => {
  const install = await installed();
  const { results, problems, requests } = await checksOn(install.cluster());
  assert.equal(failed(results), []);
  assert.equal(problems, []);
  assert.equal(
    results.map((r) => r.id),
    ALL_IDS,
  );
  assert.ok(results.slice(8).every((r) => r.category === 'namespace team-a'));
  assert.match(byId(results, 'dry-run-injected', 'namespace team-a')!.detail, /^injected/);
  assert.match(byId(results, 'cabundle-verifies')!.detail, /the certificate pando-webhook-https serves, for pando-webhook-https\.pando-system\.svc$/);
  assert.ok(requests.some((r) => r.startsWith('POST /api/v1/namespaces/team-a/pods?dryRun=All')));
  assert.not.ok(
    requests.some((r) => r.includes('/secrets/pando-webhook-tls')),
    'the serving Secret, with its key, is not read when the pods answer',
  );
  assert.match(renderChecks(results), /all 14 checks passed\n$/);
});

test('each check has the same name on pass and fail; no hint sends anyone to task logs', async () => {
  const install = await installed({ PANDO_SIDECAR_IMAGE_PULL_SECRETS: 'regcred' });
  const healthy = await checksOn(install.cluster());
  let broken = install.objects;
  for (const [kind, name] of [
    ['ServiceAccount', 'pando-sidecar'],
    ['RoleBinding', 'pando-sidecar'],
    ['Secret', 'pando-license'],
  ]) {
    broken = without(broken, kind, name, 'team-a');
  }
  broken = broken.map((o) => (o.kind === 'Deployment' ? { ...o, status: { availableReplicas: 0 } } : o));
  broken = broken.map((o) => (o.kind === 'Job' ? { ...o, status: { conditions: [{ type: 'Failed', status: 'True' }] } } : o));
  const { results } = await checksOn(install.cluster(broken, { webhookServing: false }));
  assert.equal(
    failed(results).map((r) => r.id),
    // Not serving: the certificate it serves cannot be read either (never from the Secret).
    [
      'webhook-ready',
      'tls-issued',
      'cabundle-verifies',
      'certificate-expiry',
      'service-account',
      'role-binding',
      'license-secret',
      'image-pull-secrets',
      'dry-run-injected',
    ],
  );
  assert.equal(
    results.map((r) => `${r.id}: ${r.check}`),
    healthy.results.map((r) => `${r.id}: ${r.check}`),
  );
  for (const r of failed(results)) {
    assert.ok(r.fix, `${r.id} names a fix`);
    assert.not.match(r.fix!, /task logs/);
  }
  const dryRun = byId(results, 'dry-run-injected', 'namespace team-a')!;
  assert.is(
    dryRun.fix,
    'the webhook is not serving: fix "webhook pods ready" first (kubectl -n pando-system get pods; kubectl logs -n pando-system -l app.kubernetes.io/name=pando-webhook --tail=100)',
  );
  assert.match(dryRun.detail, /came back without pando-sidecar; API server warnings: failed calling webhook/);
  assert.is(
    byId(results, 'webhook-ready')!.fix,
    'kubectl -n pando-system describe deployment pando-webhook; kubectl logs -n pando-system -l app.kubernetes.io/name=pando-webhook --tail=100',
  );
  assert.is(byId(results, 'tls-issued')!.fix, 'kubectl -n pando-system logs job/pando-webhook-tls-setup');
  assert.is(byId(results, 'license-secret', 'namespace team-a')!.detail, 'missing');
});

test('on Knative: passes with the Knative Service Ready; when it is not, the failing check names the step (the Route) and its fix', async () => {
  const install = await installed();
  const conditions = (routes: string) => [
    { type: 'ConfigurationsReady', status: 'True' },
    { type: 'RoutesReady', status: routes, ...(routes === 'True' ? {} : { reason: 'LoadBalancerFailed', message: 'the gateway refused the route' }) },
    { type: 'Ready', status: routes, ...(routes === 'True' ? {} : { reason: 'LoadBalancerFailed', message: 'the gateway refused the route' }) },
  ];
  const onKnative = (routes: string) =>
    install.objects.map((o) =>
      o.kind === 'Deployment'
        ? {
            apiVersion: 'serving.knative.dev/v1',
            kind: 'Service',
            metadata: o.metadata,
            spec: { template: o.spec.template },
            status: { conditions: conditions(routes) },
          }
        : o,
    );
  const healthy = await checksOn(install.cluster(onKnative('True')));
  assert.equal(failed(healthy.results), []);
  assert.is(byId(healthy.results, 'webhook-ready')!.detail, 'knative: Ready=True');
  const { results } = await checksOn(install.cluster(onKnative('False')));
  assert.equal(
    failed(results).map((r) => r.id),
    ['webhook-ready'],
  );
  const ready = byId(results, 'webhook-ready')!;
  assert.is(ready.detail, 'knative: Ready=False; RoutesReady=False LoadBalancerFailed: the gateway refused the route');
  assert.is(ready.fix, 'kubectl -n pando-system describe ksvc pando-webhook; kubectl logs -n pando-system -l app.kubernetes.io/name=pando-webhook --tail=100');
});

test('the configured values line is there when no workload is found, naming the defaults the checks assume', async () => {
  const install = await installed();
  const { results } = await checksOn(install.cluster(without(install.objects, 'Deployment', 'pando-webhook', RELEASE_NAMESPACE)));
  const values = byId(results, 'configured-values')!;
  assert.ok(values.ok);
  assert.match(values.detail, /^no pando-webhook workload in pando-system, so the function's defaults: defaultMode=monitor sidecar\.image=/);
  const ready = byId(results, 'webhook-ready')!;
  assert.is(ready.ok, false);
  assert.is(ready.fix, 'helm status pando-webhook -n pando-system');
  // A workload whose settings the function would refuse: said, with where to change them.
  const bad = await installed({ PANDO_DEFAULT_MODE: 'loud' });
  const refused = byId((await checksOn(bad.cluster())).results, 'configured-values')!;
  assert.is(refused.ok, false);
  assert.match(refused.detail, /PANDO_DEFAULT_MODE/);
  assert.is(refused.fix, 'helm get values pando-webhook -n pando-system; helm upgrade ... --set ...');
});

test('no webhook configuration: a fatal failure, the checks after it are not run, and the report says so', async () => {
  const install = await installed();
  const { results } = await checksOn(install.cluster(without(install.objects, 'MutatingWebhookConfiguration', 'pando-webhook')));
  assert.equal(
    results.map((r) => r.id),
    ['install-readable', 'configured-values', 'webhook-configuration'],
  );
  assert.equal(results[2], {
    id: 'webhook-configuration',
    category: 'webhook',
    check: 'webhook configuration registered',
    ok: false,
    detail: 'MutatingWebhookConfiguration pando-webhook not found',
    fix: 'helm upgrade --install pando-webhook oci://ghcr.io/pandocore/charts/pando-webhook --namespace pando-system --create-namespace --set licenseKey=...',
    fatal: true,
  });
  assert.match(renderChecks(results), /fix: helm upgrade --install .*\n {9}\(the checks after it were not run: they need it\)\n\n1 of 3 checks failed\n$/);
});

test('sidecar.imagePullSecrets: a namespace without the Secret, or with one of another type, fails naming the command that makes it', async () => {
  const install = await installed({ PANDO_SIDECAR_IMAGE_PULL_SECRETS: 'regcred', PANDO_SIDECAR_IMAGE: 'registry.example:5000/pando/sidecar:1.0.0' });
  const missing = byId((await checksOn(install.cluster())).results, 'image-pull-secrets', 'namespace team-a')!;
  assert.equal(missing, {
    id: 'image-pull-secrets',
    category: 'namespace team-a',
    check: 'image pull Secrets of the sidecar',
    ok: false,
    detail: 'regcred missing (the node cannot pull registry.example:5000/pando/sidecar:1.0.0 for injected pods)',
    fix: 'kubectl pando enable team-a --pull-secret-from pando-system/regcred (copies a docker-registry Secret: kubectl -n pando-system create secret docker-registry regcred --docker-server=registry.example:5000 --docker-username=... --docker-password=...)',
  });
  const pullSecret = (type: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'regcred', namespace: 'team-a' },
    type,
    data: { '.dockerconfigjson': 'e30=' },
  });
  const wrongType = byId((await checksOn(install.cluster([...install.objects, pullSecret('Opaque')]))).results, 'image-pull-secrets', 'namespace team-a')!;
  assert.match(wrongType.detail, /^regcred is of type Opaque, not kubernetes\.io\/dockerconfigjson/);
  const present = byId(
    (await checksOn(install.cluster([...install.objects, pullSecret('kubernetes.io/dockerconfigjson')]))).results,
    'image-pull-secrets',
    'namespace team-a',
  )!;
  assert.equal([present.ok, present.detail], [true, 'regcred present']);
  const none = byId((await checksOn((await installed()).cluster())).results, 'image-pull-secrets', 'namespace team-a')!;
  assert.equal([none.ok, none.detail], [true, 'none configured (sidecar.imagePullSecrets)']);
});

test('a protected pod whose sidecar the node cannot pull fails the check, naming the pull Secret to set up', async () => {
  const pod = (name: string, waiting?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'team-a', labels: { 'pandocore.xyz/protect': 'true' } },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
    status: {
      initContainerStatuses: [
        { name: 'pando-sidecar', ready: !waiting, state: waiting ? { waiting: { reason: waiting, message: 'pull access denied' } } : { running: {} } },
      ],
    },
  });
  const image = 'registry.example:5000/pando/sidecar:1.0.0';
  const bare = await installed({ PANDO_SIDECAR_IMAGE: image });
  const fine = byId((await checksOn(bare.cluster([...bare.objects, pod('web-1')]))).results, 'sidecar-pulled', 'namespace team-a')!;
  assert.equal([fine.ok, fine.detail], [true, '1 protected pod(s), none waiting for the sidecar image']);

  const stuck = byId(
    (await checksOn(bare.cluster([...bare.objects, pod('web-1'), pod('web-2', 'ImagePullBackOff'), pod('web-3', 'ErrImagePull')]))).results,
    'sidecar-pulled',
    'namespace team-a',
  )!;
  assert.equal(stuck, {
    id: 'sidecar-pulled',
    category: 'namespace team-a',
    check: 'the sidecar image pulled for protected pods',
    ok: false,
    detail: `the node cannot pull ${image}: web-2 ImagePullBackOff, web-3 ErrImagePull`,
    // No pull Secret configured: the helm line first.
    fix: "when registry.example:5000 needs credentials: helm upgrade pando-webhook ... -n pando-system --reuse-values --set 'sidecar.imagePullSecrets={regcred}', then kubectl pando enable team-a --pull-secret-from pando-system/regcred; else fix sidecar.image (kubectl -n team-a describe pod POD names the pull error)",
  });

  const withSecrets = await installed({ PANDO_SIDECAR_IMAGE: image, PANDO_SIDECAR_IMAGE_PULL_SECRETS: 'private-reg' });
  const named = byId(
    (await checksOn(withSecrets.cluster([...withSecrets.objects, pod('web-2', 'ImagePullBackOff')]))).results,
    'sidecar-pulled',
    'namespace team-a',
  )!;
  assert.is(
    named.fix,
    'when registry.example:5000 needs credentials: kubectl pando enable team-a --pull-secret-from pando-system/private-reg; else fix sidecar.image (kubectl -n team-a describe pod POD names the pull error)',
  );
});

test('-n NS: only that namespace, which must be enabled', async () => {
  const install = await installed();
  const objects = [...install.objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } }];
  const { results } = await checksOn(install.cluster(objects), { namespace: 'team-b' });
  const enabled = byId(results, 'namespaces-enabled')!;
  assert.equal(
    [enabled.check, enabled.ok, enabled.detail, enabled.fix],
    ['team-b enabled', false, 'the webhook does not select it', 'kubectl pando enable team-b'],
  );
  assert.ok(results.slice(8).every((r) => r.category === 'namespace team-b'));
  assert.is(byId(results, 'dry-run-injected', 'namespace team-b')!.detail, 'the pod came back without pando-sidecar and no warning');
});

test('a refusal by the API server is a failed check that names the credentials, not a crash', async () => {
  const install = await installed();
  await onFakeApi(install.cluster(), async (kubeconfig, fake) => {
    fake.state.fail = { method: 'GET', path: '/api/v1/namespaces/team-a/serviceaccounts/pando-sidecar', status: 403, message: 'forbidden' };
    const results = await runChecks(new Kube({ kubeconfig }));
    const account = byId(results, 'service-account', 'namespace team-a')!;
    assert.is(account.ok, false);
    assert.match(account.detail, /^could not check: GET \/api\/v1\/namespaces\/team-a\/serviceaccounts\/pando-sidecar failed: HTTP 403/);
    assert.match(account.fix!, /^kubectl auth can-i --list/);
    assert.ok(byId(results, 'dry-run-injected', 'namespace team-a')!.ok, 'the checks after it still ran');
  });
});

test('without a Service proxy to the pods, the caBundle check fails saying why, and never reads the serving Secret (it holds the key)', async () => {
  const install = await installed();
  const cluster = { ...install.cluster(), serviceProxy: () => undefined };
  const { results, requests } = await checksOn(cluster);
  const verdict = byId(results, 'cabundle-verifies')!;
  assert.is(verdict.ok, false, JSON.stringify(verdict));
  assert.match(
    verdict.detail,
    /no serving certificate from the certificate pando-webhook-https serves \(the Service proxy could not reach the webhook: .*no endpoints available/,
  );
  assert.not.ok(
    requests.some((r) => r.includes('/secrets/pando-webhook-tls')),
    requests.join('\n'),
  );
});

test('--only: those checks after reading the install, -n NS without the namespace list; an unknown id is a usage error', async () => {
  const install = await installed();
  const { results } = await checksOn(install.cluster(), { namespace: 'team-a', only: ['license-secret'] });
  assert.equal(
    results.map((r) => `${r.category}/${r.id}`),
    ['webhook/install-readable', 'namespace team-a/license-secret'],
  );
  await onFakeApi(install.cluster(), async (kubeconfig) => {
    const { code, stderr } = await runPlugin(['check', '--only', 'license-secret,no-such-check', '--kubeconfig', kubeconfig]);
    assert.is(code, 2);
    assert.match(stderr, /^kubectl pando: --only no-such-check: no such check \(install-readable, configured-values, /);
  });
});

/** The install as tls.certManager=true leaves it: no TLS Job, the serving Certificate, cainjector's annotation. */
function withCertManager(objects: Record<string, any>[], ready: Record<string, string> | undefined): Record<string, any>[] {
  const certificate = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'pando-webhook-serving', namespace: RELEASE_NAMESPACE },
    spec: { secretName: 'pando-webhook-tls', issuerRef: { name: 'pando-webhook-ca', kind: 'Issuer', group: 'cert-manager.io' } },
    status: { conditions: ready ? [{ type: 'Ready', ...ready }] : [] },
  };
  return [
    ...objects
      .filter((o) => o.kind !== 'Job')
      .map((o) =>
        o.kind === 'MutatingWebhookConfiguration'
          ? { ...o, metadata: { ...o.metadata, annotations: { 'cert-manager.io/inject-ca-from': `${RELEASE_NAMESPACE}/pando-webhook-serving` } } }
          : o,
      ),
    ...(ready ? [certificate] : []),
  ];
}

test("tls.certManager=true: every check passes with the Certificate Ready; not Ready, the TLS check fails with cert-manager's reason and the describe command", async () => {
  const install = await installed();
  const healthy = await checksOn(
    install.cluster(withCertManager(install.objects, { status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired' })),
  );
  assert.equal(failed(healthy.results), []);
  assert.is(byId(healthy.results, 'tls-issued')!.detail, 'cert-manager Certificate pando-webhook-serving Ready=True');

  const stuck = { status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' };
  const { results } = await checksOn(install.cluster(withCertManager(install.objects, stuck)));
  assert.equal(
    failed(results).map((r) => r.id),
    ['tls-issued'],
  );
  const issued = byId(results, 'tls-issued')!;
  assert.is(issued.detail, 'cert-manager Certificate pando-webhook-serving Ready=False (DoesNotExist: Issuing certificate as Secret does not exist)');
  assert.is(issued.fix, 'kubectl -n pando-system describe certificate pando-webhook-serving; kubectl get certificates -n pando-system');
});

test('tls.certManager=true without the Certificate (cert-manager or its CRDs missing): the TLS check says so instead of looking for a Job', async () => {
  const install = await installed();
  const { results } = await checksOn(install.cluster(withCertManager(install.objects, undefined)));
  const issued = byId(results, 'tls-issued')!;
  assert.is(issued.ok, false);
  assert.is(
    issued.detail,
    'no cert-manager Certificate pando-webhook-serving in pando-system, though the webhook configuration injects its CA (tls.certManager=true)',
  );
  assert.match(issued.fix!, /^kubectl get crd certificates\.cert-manager\.io; helm get values pando-webhook -n pando-system/);
});

test.run();
