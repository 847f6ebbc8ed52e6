// The chart's hardening, as the real helm renders it: the NetworkPolicy (selectors and ports: the
// local cluster's bridge CNI enforces no policy, so what is tested is the rendered policy), the
// PodDisruptionBudget on every platform, the OpenFaaS namespace rule, Pod Security restricted,
// and the policy that lets the TLS setup account change only the caBundle (its CEL evaluated
// by cel-js; the real API server compiles it in the e2e suite).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluate } from '@marcbachmann/cel-js';
import { helmAvailable, LICENSE, Obj, render, template } from '../support/chart';

const PLATFORMS: Record<string, { values: Obj; selector: Obj }> = {
  knative: { values: {}, selector: { 'serving.knative.dev/service': 'pando-webhook' } },
  deployment: {
    values: { platform: 'deployment' },
    selector: { 'app.kubernetes.io/name': 'pando-webhook', 'app.kubernetes.io/instance': 'pando-webhook', 'app.kubernetes.io/component': 'webhook' },
  },
  openfaas: { values: { platform: 'openfaas', openfaas: { adminOnlyNamespace: true } }, selector: { faas_function: 'pando-webhook' } },
};
const find = (objects: Obj[], kind: string, name?: string): Obj => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name)) as Obj;
const KNATIVE_PORTS = [8012, 8022, 8112, 9090, 9091];

if (helmAvailable(test, 'the chart hardening')) {
  test('NetworkPolicy: on by default, selecting the webhook pods of each platform, no egress, ingress to 8443 only (and queue-proxy on Knative)', () => {
    for (const [platform, { values, selector }] of Object.entries(PLATFORMS)) {
      const objects = render({ ...LICENSE, ...values });
      const policy = find(objects, 'NetworkPolicy');
      assert.ok(policy, platform);
      assert.equal(policy.spec.podSelector, { matchLabels: selector }, platform);
      assert.equal(find(objects, 'Service', 'pando-webhook-https').spec.selector, selector, `${platform}: the Service behind the webhook`);
      assert.equal(policy.spec.policyTypes, ['Ingress', 'Egress']);
      // Egress listed with no rule: nothing out. No `egress: []`, which the API server stores as
      // absent, so that each upgrade would write the object again (e2e/suite/gitops.test.ts).
      assert.is(policy.spec.egress, undefined, `${platform}: the function connects nowhere`);
      const [https, ...rest] = policy.spec.ingress;
      assert.equal(https, { ports: [{ port: 8443, protocol: 'TCP' }] }, platform);
      if (platform === 'knative') {
        assert.equal(rest, [
          {
            from: [
              {
                namespaceSelector: {
                  matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['knative-serving', 'kourier-system', 'istio-system'] }],
                },
              },
            ],
            ports: KNATIVE_PORTS.map((port) => ({ port, protocol: 'TCP' })),
          },
        ]);
      } else assert.equal(rest, [], `${platform}: nothing reaches 8080 but the kubelet from the node`);
    }
  });

  test('NetworkPolicy: apiServerCidrs narrow 8443; the Knative route has no 8443 rule; enabled=false renders none', () => {
    const narrowed = find(render({ ...LICENSE, networkPolicy: { apiServerCidrs: ['10.96.0.0/24', 'fd00::/64'] } }), 'NetworkPolicy');
    assert.equal(narrowed.spec.ingress[0], {
      ports: [{ port: 8443, protocol: 'TCP' }],
      from: [{ ipBlock: { cidr: '10.96.0.0/24' } }, { ipBlock: { cidr: 'fd00::/64' } }],
    });
    const local = find(render({ ...LICENSE, webhook: { route: 'knative-local-tls' } }), 'NetworkPolicy');
    assert.equal(
      local.spec.ingress.map((rule: Obj) => rule.ports.map((p: Obj) => p.port)),
      [KNATIVE_PORTS],
    );
    assert.is(find(render({ ...LICENSE, networkPolicy: { enabled: false } }), 'NetworkPolicy'), undefined);
    const bad = template({ ...LICENSE, networkPolicy: { apiServerCidrs: ['not-a-cidr'] } });
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr, /apiServerCidrs/);
  });

  test('a PodDisruptionBudget of one pod at a time on every platform, selecting the webhook pods', () => {
    for (const [platform, { values, selector }] of Object.entries(PLATFORMS)) {
      const pdb = find(render({ ...LICENSE, ...values }), 'PodDisruptionBudget');
      assert.ok(pdb, platform);
      assert.equal(pdb.spec, { maxUnavailable: 1, selector: { matchLabels: selector } }, platform);
    }
  });

  test('platform=openfaas: refused in openfaas-fn and without openfaas.adminOnlyNamespace=true', () => {
    const unconfirmed = template({ ...LICENSE, platform: 'openfaas' });
    assert.is.not(unconfirmed.code, 0);
    assert.match(unconfirmed.stderr, /openfaas\.adminOnlyNamespace=true to confirm that only cluster admins can deploy functions into pando-system/);
    const shared = template({ ...LICENSE, ...PLATFORMS.openfaas.values }, { namespace: 'openfaas-fn' });
    assert.is.not(shared.code, 0);
    assert.match(shared.stderr, /not in openfaas-fn/);
    assert.is(template({ ...LICENSE, ...PLATFORMS.openfaas.values }).code, 0);
    assert.is(
      template({ ...LICENSE, ...PLATFORMS.openfaas.values, tls: { certManager: true } }, { namespace: 'openfaas-fn' }).code,
      1,
      'cert-manager keeps its CA key there too',
    );
  });

  test('priorityClassName: none by default; when set, on the webhook pods and the TLS Jobs; refused on OpenFaaS, which has no such field', () => {
    const podSpecs = (objects: Obj[]) =>
      objects.flatMap((o) =>
        o.kind === 'Deployment' || o.kind === 'Job'
          ? [o.spec.template.spec]
          : o.kind === 'CronJob'
            ? [o.spec.jobTemplate.spec.template.spec]
            : o.kind === 'Service' && o.apiVersion?.startsWith('serving.knative.dev')
              ? [o.spec.template.spec]
              : [],
      );
    for (const platform of ['knative', 'deployment'] as const) {
      const plain = podSpecs(render({ ...LICENSE, ...PLATFORMS[platform].values }));
      assert.ok(plain.length >= 3, `${platform}: webhook, Job, CronJob`);
      for (const spec of plain) assert.is(spec.priorityClassName, undefined, platform);
      const set = podSpecs(render({ ...LICENSE, ...PLATFORMS[platform].values, priorityClassName: 'pando-critical' }));
      for (const spec of set) assert.is(spec.priorityClassName, 'pando-critical', platform);
    }
    const openfaas = template({ ...LICENSE, ...PLATFORMS.openfaas.values, priorityClassName: 'pando-critical' });
    assert.is.not(openfaas.code, 0);
    assert.match(openfaas.stderr, /OpenFaaS Function has no such field/);
    assert.is.not(template({ ...LICENSE, priorityClassName: 'Not A Name' }).code, 0, 'the values schema refuses a bad name');
  });

  test('namespace.create: the release namespace enforces Pod Security restricted by default', () => {
    const namespace = find(render({ ...LICENSE, namespace: { create: true } }), 'Namespace');
    assert.is(namespace.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    const baseline = find(render({ ...LICENSE, namespace: { create: true }, podSecurity: { enforce: 'baseline' } }), 'Namespace');
    assert.is(baseline.metadata.labels['pod-security.kubernetes.io/enforce'], 'baseline');
  });

  const objects = render(LICENSE);
  const mwc = find(objects, 'MutatingWebhookConfiguration');
  const caOnly = find(objects, 'ValidatingAdmissionPolicy', 'pando-webhook-tls-setup-cabundle-only');
  const SETUP = 'system:serviceaccount:pando-system:pando-webhook-tls-setup';
  /** The failing validations' messages, or undefined when the policy does not apply to the user. */
  const refusals = (username: string, oldObject: Obj, object: Obj) => {
    const context = { request: { userInfo: { username } }, object, oldObject };
    if (!caOnly.spec.matchConditions.every((c: Obj) => evaluate(c.expression, context) === true)) return undefined;
    return caOnly.spec.validations.filter((v: Obj) => evaluate(v.expression, context) !== true).map((v: Obj) => v.message);
  };
  const edited = (edit: (m: Obj) => void) => {
    const copy = structuredClone(mwc);
    edit(copy);
    return copy;
  };

  test('the TLS setup account may change the caBundle of the webhook configuration and nothing else', () => {
    assert.ok(caOnly, 'rendered with the TLS setup');
    assert.equal(caOnly.spec.matchConstraints.resourceRules[0].resourceNames, ['pando-webhook']);
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding', 'pando-webhook-tls-setup-cabundle-only');
    assert.equal(binding.spec, { policyName: 'pando-webhook-tls-setup-cabundle-only', validationActions: ['Deny'] });
    const withBundle = edited((m) => m.webhooks.forEach((w: Obj) => (w.clientConfig.caBundle = 'LS0tLS1CRUdJTi0tLS0t')));
    assert.equal(refusals(SETUP, mwc, withBundle), []);
    const forbidden: Array<[string, (m: Obj) => void]> = [
      ['another Service', (m) => (m.webhooks[0].clientConfig.service.name = 'attacker')],
      ['a URL', (m) => (m.webhooks[0].clientConfig = { url: 'https://attacker.example/' })],
      ['the rules', (m) => (m.webhooks[0].rules[0].operations = ['CREATE', 'UPDATE'])],
      ['failurePolicy', (m) => (m.webhooks[0].failurePolicy = 'Fail')],
      ['the namespaceSelector', (m) => (m.webhooks[0].namespaceSelector = {})],
      ['the objectSelector', (m) => delete m.webhooks[0].objectSelector],
      ['matchConditions', (m) => (m.webhooks[0].matchConditions = [])],
      ['timeoutSeconds', (m) => (m.webhooks[0].timeoutSeconds = 30)],
      ['a webhook added', (m) => m.webhooks.push({ ...m.webhooks[0], name: 'evil.example.com' })],
      ['a webhook renamed', (m) => (m.webhooks[0].name = 'evil.example.com')],
      ['an annotation', (m) => (m.metadata.annotations = { 'cert-manager.io/inject-ca-from': 'x/y' })],
    ];
    for (const [what, edit] of forbidden) assert.equal(refusals(SETUP, mwc, edited(edit))!.length, 1, what);
    assert.is(refusals('kubernetes-admin', mwc, edited(forbidden[0][1])), undefined, 'other users: not this policy');
  });
}

test.run();
