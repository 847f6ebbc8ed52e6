import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as core from 'kubernetes-models/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as admission from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as knative from '@kubernetes-models/knative/serving.knative.dev/v1';
import * as certManager from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { restrictedProblems } from '../testing/podsecurity';
import { loadSetupConfig } from '../tls/config';
import { K8sObject, renderInstall, renderNamespaceSetup } from './render';
import { parseValues } from './values';
import { NAMES } from './meta';
import { VARIANTS } from './variants';

type Validatable = { validate(): void };
type Model = new (data: any) => Validatable;
const MODELS: Record<string, Model> = {
  'v1/Namespace': core.Namespace, 'v1/ServiceAccount': core.ServiceAccount, 'v1/Secret': core.Secret, 'v1/Service': core.Service,
  'batch/v1/Job': batch.Job, 'batch/v1/CronJob': batch.CronJob,
  'rbac.authorization.k8s.io/v1/Role': rbac.Role, 'rbac.authorization.k8s.io/v1/RoleBinding': rbac.RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': rbac.ClusterRole, 'rbac.authorization.k8s.io/v1/ClusterRoleBinding': rbac.ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': admission.MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': admission.ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': admission.ValidatingAdmissionPolicyBinding,
  'serving.knative.dev/v1/Service': knative.Service,
  'cert-manager.io/v1/Issuer': certManager.Issuer, 'cert-manager.io/v1/Certificate': certManager.Certificate,
};

const rendered = Object.entries(VARIANTS).map(([name, raw]) => ({ name, values: parseValues(raw), objects: renderInstall(parseValues(raw)) }));
const find = (objects: K8sObject[], kind: string, apiVersion?: string) =>
  objects.find((o) => o.kind === kind && (!apiVersion || o.apiVersion === apiVersion)) as any;
const ksvcOf = (objects: K8sObject[]) => find(objects, 'Service', 'serving.knative.dev/v1');

test('every object of every variant validates against its API schema', () => {
  for (const { name, objects } of rendered) {
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      assert.ok(Model, `${name}: no model for ${o.apiVersion} ${o.kind}`);
      try {
        new Model(o).validate();
      } catch (error) {
        assert.unreachable(`${name}: ${o.kind} ${o.metadata.name}: ${(error as Error).message}`);
      }
    }
  }
});

test('the schema check is real: a wrong type is rejected', () => {
  const ksvc = structuredClone(ksvcOf(rendered[0].objects));
  ksvc.spec.template.spec.containers[0].ports[0].containerPort = '8080';
  assert.throws(() => new knative.Service(ksvc).validate(), /containerPort/);
  const mwc = structuredClone(find(rendered[0].objects, 'MutatingWebhookConfiguration'));
  delete mwc.webhooks[0].sideEffects;
  assert.throws(() => new admission.MutatingWebhookConfiguration(mwc).validate(), /sideEffects/);
});

test('every object carries the Kubernetes recommended labels', () => {
  const objects = [...rendered.flatMap((r) => r.objects), ...renderNamespaceSetup(parseValues({ licenseKey: 'k' }), 'team-a')];
  for (const o of objects) {
    const labels = o.metadata.labels ?? {};
    for (const key of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) {
      assert.ok(labels[`app.kubernetes.io/${key}`], `${o.kind} ${o.metadata.name} lacks app.kubernetes.io/${key}`);
    }
    assert.is(labels['app.kubernetes.io/name'], 'pando-webhook');
  }
});

test('namespaced objects sit in the values namespace, cluster objects have none', () => {
  const cluster = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
  for (const { name, values, objects } of rendered) {
    for (const o of objects) assert.is(o.metadata.namespace, cluster.has(o.kind) ? undefined : values.namespace, `${name}: ${o.kind}`);
    assert.is(objects[0].kind, 'Namespace'); // first, so one `kubectl apply -f` works
  }
});

// Knative's defaults (config-features), see pkg/apis/serving/k8s_validation.go and fieldmask.go.
const KNATIVE_POD_FIELDS = new Set(['serviceAccountName', 'containers', 'volumes', 'imagePullSecrets', 'enableServiceLinks', 'timeoutSeconds', 'containerConcurrency', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds']);
const KNATIVE_CONTAINER_FIELDS = new Set(['name', 'args', 'command', 'env', 'workingDir', 'envFrom', 'image', 'imagePullPolicy', 'livenessProbe', 'ports', 'readinessProbe', 'resources', 'securityContext', 'terminationMessagePath', 'terminationMessagePolicy', 'volumeMounts']);
// runAsGroup needs kubernetes.podspec-securitycontext; privileged is masked out.
const KNATIVE_SECURITY_FIELDS = new Set(['capabilities', 'readOnlyRootFilesystem', 'runAsUser', 'runAsNonRoot', 'allowPrivilegeEscalation', 'seccompProfile']);
const KNATIVE_RESERVED_PORTS = [8012, 8013, 8022, 8112, 9090, 9091, 8008];

test('the Knative Service is valid under Knative default config-features', () => {
  for (const { name, values, objects } of rendered) {
    const ksvc = ksvcOf(objects);
    const spec = ksvc.spec.template.spec;
    assert.is(ksvc.metadata.labels['networking.knative.dev/visibility'], 'cluster-local', name);
    for (const key of Object.keys(spec)) assert.ok(KNATIVE_POD_FIELDS.has(key), `${name}: pod field ${key}`);
    assert.is(spec.securityContext, undefined);
    assert.is(spec.containers.length, 1);
    const [c] = spec.containers;
    for (const key of Object.keys(c)) assert.ok(KNATIVE_CONTAINER_FIELDS.has(key), `${name}: container field ${key}`);
    for (const key of Object.keys(c.securityContext)) assert.ok(KNATIVE_SECURITY_FIELDS.has(key), `${name}: securityContext.${key}`);
    assert.is(c.securityContext.runAsNonRoot, true);
    assert.is(c.ports.length, 1);
    assert.ok(['', 'h2c', 'http1'].includes(c.ports[0].name ?? ''));
    assert.not.ok(KNATIVE_RESERVED_PORTS.includes(c.ports[0].containerPort));
    for (const e of c.env) {
      assert.is(e.valueFrom?.fieldRef, undefined, `${name}: ${e.name} uses fieldRef`);
      assert.not.ok(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'].includes(e.name), `${name}: reserved env ${e.name}`);
      if (e.name === 'PANDO_TLS_PORT') assert.not.ok(KNATIVE_RESERVED_PORTS.includes(Number(e.value)));
    }
    for (const m of c.volumeMounts ?? []) assert.is(m.readOnly, true, `${name}: mount ${m.name}`);
    for (const p of [c.readinessProbe, c.livenessProbe]) {
      assert.is(p.httpGet.port, undefined); // Knative fills in the declared port
      assert.ok(p.periodSeconds >= 1 && p.timeoutSeconds >= 1 && p.failureThreshold >= 1 && p.successThreshold >= 1);
    }
    const annotations = ksvc.spec.template.metadata.annotations;
    assert.is(annotations['autoscaling.knative.dev/min-scale'], String(values.replicas), name);
    assert.is(annotations['autoscaling.knative.dev/max-scale'], String(values.maxReplicas), name);
    assert.is(spec.serviceAccountName, NAMES.webhookAccount);
  }
});

test('the webhook account has no API token; only the TLS job account has one', () => {
  for (const { objects } of rendered) {
    const accounts = objects.filter((o) => o.kind === 'ServiceAccount') as any[];
    assert.is(accounts.find((a) => a.metadata.name === NAMES.webhookAccount).automountServiceAccountToken, false);
    for (const a of accounts.filter((x) => x.metadata.name !== NAMES.webhookAccount)) assert.is(a.metadata.name, NAMES.tlsSetup);
  }
});

test('direct route: the Service selects the Knative revision pods, 443 -> the function HTTPS port', () => {
  const { objects } = rendered[0];
  const svc = find(objects, 'Service', 'v1');
  assert.is.not(svc.metadata.name, ksvcOf(objects).metadata.name); // Knative owns a Service of that name
  assert.equal(svc.spec.selector, { 'serving.knative.dev/service': ksvcOf(objects).metadata.name });
  assert.equal(svc.spec.ports, [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }]);
  const env = ksvcOf(objects).spec.template.spec.containers[0].env;
  assert.ok(env.some((e: any) => e.name === 'PANDO_TLS_PORT' && e.value === '8443'));
  assert.equal(find(objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig, { service: { namespace: 'pando-system', name: svc.metadata.name, port: 443, path: '/' } });
});

test('MutatingWebhookConfiguration follows the good practices', () => {
  for (const { name, values, objects } of rendered) {
    const [hook] = find(objects, 'MutatingWebhookConfiguration').webhooks;
    assert.is(hook.failurePolicy, 'Ignore');
    assert.is(hook.sideEffects, 'None');
    assert.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 10);
    assert.is(hook.reinvocationPolicy, 'IfNeeded');
    assert.equal(hook.admissionReviewVersions, ['v1']);
    assert.equal(hook.rules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }]);
    assert.equal(hook.objectSelector, { matchLabels: { 'pandocore.xyz/protect': 'true' } });
    const [expr] = hook.namespaceSelector.matchExpressions;
    assert.equal([expr.key, expr.operator], ['kubernetes.io/metadata.name', 'NotIn']);
    for (const ns of [...values.excludedNamespaces, values.namespace]) assert.ok(expr.values.includes(ns), `${name}: ${ns}`);
    if (name === 'default') assert.ok(expr.values.includes('kube-system') && expr.values.includes('pando-system'));
    // Only namespaces set up by namespace:enable, where the pando-sidecar ServiceAccount exists.
    assert.equal(hook.namespaceSelector.matchExpressions[1], { key: 'pandocore.xyz/enabled', operator: 'In', values: ['true'] });
    assert.ok(hook.matchConditions.length >= 1);
  }
});

test('caBundle source per TLS mode', () => {
  const annotations = (variant: string) => find(rendered.find((r) => r.name === variant)!.objects, 'MutatingWebhookConfiguration').metadata.annotations;
  assert.is(annotations('default'), undefined); // the TLS setup job writes it
  assert.equal(annotations('tls.certManager=true'), { 'cert-manager.io/inject-ca-from': `pando-system/${NAMES.servingCertificate}` });
  assert.equal(annotations('webhook.route=knative-local-tls'), { 'cert-manager.io/inject-ca-from-secret': 'cert-manager/knative-selfsigned-ca' });
});

test('cert-manager mode: issuer chain and a serving certificate for the Service DNS names', () => {
  const objects = rendered.find((r) => r.name === 'tls.certManager=true')!.objects;
  const certs = objects.filter((o) => o.kind === 'Certificate') as any[];
  const ca = certs.find((c) => c.spec.isCA);
  const serving = certs.find((c) => !c.spec.isCA);
  assert.is(ca.spec.issuerRef.name, NAMES.selfSignedIssuer);
  assert.is(serving.spec.issuerRef.name, NAMES.caIssuer);
  assert.is(serving.spec.secretName, NAMES.servingSecret);
  assert.equal(serving.spec.dnsNames, ['pando-webhook-https.pando-system.svc', 'pando-webhook-https.pando-system.svc.cluster.local']);
  assert.is(serving.spec.renewBefore, '720h');
  assert.not.ok(objects.some((o) => o.kind === 'Job' || o.kind === 'Secret'));
});

test('TLS setup job: contract env, own account, RBAC only on named objects, empty Secrets', () => {
  const objects = rendered[0].objects;
  const job = find(objects, 'Job');
  const [c] = job.spec.template.spec.containers;
  assert.equal(c.command, ['node', 'dist/function/tls/setup.js']);
  assert.is(c.image, find(objects, 'Service', 'serving.knative.dev/v1').spec.template.spec.containers[0].image);
  assert.equal(Object.fromEntries(c.env.map((e: any) => [e.name, e.value])), {
    PANDO_NAMESPACE: 'pando-system', PANDO_SERVICE_NAME: 'pando-webhook-https', PANDO_TLS_SECRET: 'pando-webhook-tls',
    PANDO_CA_SECRET: 'pando-webhook-ca', PANDO_WEBHOOK_CONFIGURATION: 'pando-webhook', PANDO_RENEW_BEFORE_DAYS: '30',
  });
  assert.is(job.spec.template.spec.serviceAccountName, NAMES.tlsSetup);
  assert.equal(find(objects, 'CronJob').spec.jobTemplate.spec, job.spec);
  assert.equal(find(objects, 'Role').rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['pando-webhook-tls', 'pando-webhook-ca'], verbs: ['get', 'update'] }]);
  assert.equal(objects.filter((o) => o.kind === 'ClusterRole').map((o: any) => o.rules), [
    [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['pando-webhook'], verbs: ['get', 'patch'] }],
  ]);
  const secrets = objects.filter((o) => o.kind === 'Secret') as any[];
  assert.equal(secrets.map((s) => [s.metadata.name, s.type, s.data, s.stringData]), [
    ['pando-webhook-ca', 'Opaque', undefined, undefined], ['pando-webhook-tls', 'Opaque', undefined, undefined],
  ]);
  for (const b of objects.filter((o) => o.kind.endsWith('RoleBinding')) as any[]) {
    if (b.metadata.name === NAMES.tlsSetup) assert.equal(b.subjects, [{ kind: 'ServiceAccount', name: NAMES.tlsSetup, namespace: 'pando-system' }]);
  }
});

test('every rule of every role: no wildcard, no create/delete, no secrets list', () => {
  for (const { objects } of rendered) {
    for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole') as any[]) {
      for (const rule of role.rules) {
        for (const list of [rule.apiGroups, rule.resources, rule.verbs]) assert.not.ok(list.includes('*'));
        for (const verb of ['create', 'delete', 'deletecollection', 'list', 'watch', 'escalate', 'bind']) assert.not.ok(rule.verbs.includes(verb), `${role.metadata.name}: ${verb}`);
        if (rule.resources.includes('secrets') || rule.resources.includes('mutatingwebhookconfigurations')) assert.ok(rule.resourceNames?.length);
      }
    }
  }
});

test('our pods meet Pod Security restricted (job, cron job, and the webhook container as Knative runs it)', () => {
  for (const { name, objects } of rendered) {
    const pods: Array<[string, any]> = [];
    const job = find(objects, 'Job');
    if (job) pods.push(['job', { spec: job.spec.template.spec }], ['cronjob', { spec: find(objects, 'CronJob').spec.jobTemplate.spec.template.spec }]);
    pods.push(['webhook', { spec: { ...ksvcOf(objects).spec.template.spec } }]);
    for (const [what, pod] of pods) assert.equal(restrictedProblems(pod), [], `${name}: ${what}`);
  }
});

test('namespace Pod Security labels: enforce as configured, warn and audit restricted', () => {
  for (const { values, objects } of rendered) {
    const labels = objects[0].metadata.labels!;
    assert.is(labels['pod-security.kubernetes.io/enforce'], values.podSecurity.enforce);
    assert.is(labels['pod-security.kubernetes.io/warn'], 'restricted');
    assert.is(labels['pod-security.kubernetes.io/audit'], 'restricted');
  }
});

test('safety net: Warn+Audit by default, Deny on request, every namespace the webhook could be enabled in', () => {
  for (const { name, values, objects } of rendered) {
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding');
    const policy = find(objects, 'ValidatingAdmissionPolicy');
    assert.equal(binding.spec.validationActions, values.safetyNet.deny ? ['Deny'] : ['Warn', 'Audit'], name);
    assert.is(binding.spec.policyName, policy.metadata.name);
    const webhookSelector = find(objects, 'MutatingWebhookConfiguration').webhooks[0].namespaceSelector;
    assert.equal(policy.spec.matchConstraints.namespaceSelector, { matchExpressions: [webhookSelector.matchExpressions[0]] });
    assert.equal(policy.spec.matchConstraints.objectSelector, find(objects, 'MutatingWebhookConfiguration').webhooks[0].objectSelector);
  }
});

test('knative-local-tls route: no own Service, TLS objects or mount; the MWC targets Knative', () => {
  const objects = rendered.find((r) => r.name === 'webhook.route=knative-local-tls')!.objects;
  assert.not.ok(objects.some((o) => ['Job', 'CronJob', 'Secret', 'Certificate'].includes(o.kind) || (o.kind === 'Service' && o.apiVersion === 'v1')));
  const c = ksvcOf(objects).spec.template.spec.containers[0];
  assert.is(c.volumeMounts, undefined);
  assert.not.ok(c.env.some((e: any) => e.name.startsWith('PANDO_TLS_')));
  assert.is(find(objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.service.name, NAMES.knativeService);
});

test('hpa: CPU-based Knative autoscaling with the configured target', () => {
  const annotations = ksvcOf(rendered.find((r) => r.name === 'autoscaling.class=hpa')!.objects).spec.template.metadata.annotations;
  assert.is(annotations['autoscaling.knative.dev/class'], 'hpa.autoscaling.knative.dev');
  assert.is(annotations['autoscaling.knative.dev/metric'], 'cpu');
  assert.is(annotations['autoscaling.knative.dev/target'], '70');
});

test('the rendered Job env is what the TLS setup code reads, naming the objects the install has', () => {
  for (const { name, values, objects } of rendered.filter((r) => find(r.objects, 'Job'))) {
    const env = Object.fromEntries(find(objects, 'Job').spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    const config = loadSetupConfig({ ...env, KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    const mwc = find(objects, 'MutatingWebhookConfiguration');
    const service = mwc.webhooks[0].clientConfig.service;
    assert.is(config.namespace, values.namespace, name);
    assert.equal(config.dnsNames, [`${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}.svc.cluster.local`], name);
    assert.is(config.webhookConfiguration, mwc.metadata.name);
    assert.is(config.tlsSecret, ksvcOf(objects).spec.template.spec.volumes[0].secret.secretName);
    assert.equal([config.tlsSecret, config.caSecret], find(objects, 'Role').rules[0].resourceNames);
    assert.equal(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name).sort(), [config.caSecret, config.tlsSecret].sort());
    assert.is(config.renewBeforeDays, values.tls.renewBeforeDays);
  }
});

test.run();
