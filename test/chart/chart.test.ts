// The Helm chart (manifests/pando-webhook) as the real helm renders it: every object of every
// value variant schema-valid, the Knative rules, the webhook good practices, RBAC by name, the
// values refused by values.schema.json, helm lint --strict, and Helm 4 and 3 agreeing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as admission from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as knative from '@kubernetes-models/knative/serving.knative.dev/v1';
import * as certManager from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { ENV, loadConfig } from '../../function/config';
import { loadServerConfig } from '../../function/host/config';
import { restrictedProblems } from '../support/podsecurity';
import { CHART, helm, helmAvailable, LICENSE, Obj, render, template, VARIANTS } from '../support/chart';
import { loadSetupConfig } from '../../function/tls/config';
import { parseValues } from '../../scripts/chart-values';
import { version } from '../../package.json';

type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': core.Namespace,
  'v1/ServiceAccount': core.ServiceAccount,
  'v1/Secret': core.Secret,
  'v1/Service': core.Service,
  'apps/v1/Deployment': apps.Deployment,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': networking.NetworkPolicy,
  'batch/v1/Job': batch.Job,
  'batch/v1/CronJob': batch.CronJob,
  'rbac.authorization.k8s.io/v1/Role': rbac.Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': rbac.RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': rbac.ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': rbac.ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': admission.MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': admission.ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': admission.ValidatingAdmissionPolicyBinding,
  'serving.knative.dev/v1/Service': knative.Service,
  'cert-manager.io/v1/Issuer': certManager.Issuer,
  'cert-manager.io/v1/Certificate': certManager.Certificate,
};
/**
 * OpenFaaS's Function (openfaas.com/v1) as its documentation describes the FunctionSpec: no
 * registry reachable here serves OpenFaaS's CRD or Go types, so this check is written from the
 * documented fields and their types, not from the CRD itself.
 */
function openfaasProblems(fn: Obj): string[] {
  const problems: string[] = [];
  const stringMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
  const stringList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const resources = (v: unknown) => stringMap(v) && Object.keys(v as object).every((k) => ['cpu', 'memory'].includes(k));
  const fields: Record<string, [(v: unknown) => boolean, string]> = {
    name: [(v) => typeof v === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v), 'not a DNS label'],
    image: [(v) => typeof v === 'string' && v.length > 0, 'not an image'],
    handler: [(v) => typeof v === 'string', 'not a string'],
    labels: [stringMap, 'not a map of strings'],
    annotations: [stringMap, 'not a map of strings'],
    environment: [stringMap, 'not a map of strings'],
    constraints: [stringList, 'not a list of strings'],
    secrets: [stringList, 'not a list of strings'],
    limits: [resources, 'not cpu and memory strings'],
    requests: [resources, 'not cpu and memory strings'],
    readOnlyRootFilesystem: [(v) => typeof v === 'boolean', 'not a boolean'],
  };
  if (fn.apiVersion !== 'openfaas.com/v1' || fn.kind !== 'Function') problems.push('not an openfaas.com/v1 Function');
  for (const required of ['name', 'image']) if (fn.spec?.[required] === undefined) problems.push(`spec.${required}: required`);
  for (const [key, value] of Object.entries(fn.spec ?? {})) {
    const rule = fields[key];
    if (!rule) problems.push(`spec.${key}: not a FunctionSpec field`);
    else if (!rule[0](value)) problems.push(`spec.${key}: ${rule[1]}`);
  }
  return problems;
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

test("Chart.yaml: apiVersion v2, version and appVersion equal package.json's, a kubeVersion floor", () => {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
  assert.is(chart.apiVersion, 'v2');
  assert.is(chart.version, version);
  assert.is(chart.appVersion, version);
  // matchConditions and ValidatingAdmissionPolicy are v1 (GA) from 1.30.
  assert.is(chart.kubeVersion, '>=1.30.0-0');
});

test("values.yaml holds exactly the schema defaults, the seed's values first, each commented", () => {
  const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  const values = parse(text);
  assert.equal(parseValues({ ...values, ...LICENSE }), parseValues({ ...LICENSE }));
  const keys = Object.keys(values);
  assert.equal(keys.slice(0, 6), ['licenseKey', 'defaultMode', 'excludedNamespaces', 'sidecar', 'replicas', 'tls']);
  assert.equal(
    [values.defaultMode, values.excludedNamespaces, values.replicas, values.tls.certManager],
    ['monitor', ['kube-system', 'kube-public', 'kube-node-lease'], 2, false],
  );
  // Every key line is preceded by a comment line (or is a scalar under a commented parent).
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (/^[a-zA-Z]+:/.test(line)) assert.ok(lines[i - 1].trimStart().startsWith('#'), `values.yaml: ${line} has no comment`);
  });
});

if (helmAvailable(test, 'the chart rendered by helm')) {
  const rendered = Object.entries(VARIANTS).map(([name, raw]) => {
    const values = parseValues({ ...LICENSE, ...raw });
    return { name, values, objects: render({ ...LICENSE, ...raw }) };
  });
  const byName = (name: string) => rendered.find((r) => r.name === name)!;
  const find = (objects: Obj[], kind: string, apiVersion?: string) =>
    objects.find((o) => o.kind === kind && (!apiVersion || o.apiVersion === apiVersion)) as any;
  const ksvcOf = (objects: Obj[]) => find(objects, 'Service', 'serving.knative.dev/v1');
  const webhookPodSpec = (objects: Obj[]) => ksvcOf(objects)?.spec.template.spec ?? find(objects, 'Deployment')?.spec.template.spec;

  test('every object of every variant validates against its API schema (OpenFaaS aside, see below)', () => {
    for (const { name, objects } of rendered) {
      assert.ok(objects.length > 5, name);
      for (const o of objects) {
        if (o.apiVersion === 'openfaas.com/v1') continue;
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

  test('the OpenFaaS Function keeps to the documented FunctionSpec (fields, types), with nothing unknown', () => {
    const fn = find(byName('platform=openfaas').objects, 'Function');
    assert.equal(openfaasProblems(fn), []);
    assert.equal(openfaasProblems({ ...fn, spec: { ...fn.spec, replicas: 2 } }), ['spec.replicas: not a FunctionSpec field']);
    assert.equal(openfaasProblems({ ...fn, spec: { ...fn.spec, secrets: 'pando-webhook-tls' } }), ['spec.secrets: not a list of strings']);
  });

  test('the OpenFaaS Function carries the image, the env, the TLS Secret and the scale labels', () => {
    const fn = find(byName('platform=openfaas').objects, 'Function');
    assert.is(fn.apiVersion, 'openfaas.com/v1');
    assert.is(fn.spec.name, fn.metadata.name);
    assert.is(fn.spec.image, `ghcr.io/pandocore/pando-webhook:${version}`);
    assert.equal(fn.spec.secrets, ['pando-webhook-tls']);
    assert.is(fn.spec.environment.PANDO_TLS_CERT_FILE, '/var/openfaas/secrets/tls.crt');
    assert.is(fn.spec.labels['com.openfaas.scale.min'], '2');
    for (const value of Object.values(fn.spec.environment)) assert.type(value, 'string');
    const service = find(byName('platform=openfaas').objects, 'Service', 'v1');
    assert.equal(service.spec.selector, { faas_function: 'pando-webhook' });
  });

  test('every object carries the recommended labels; namespaced objects sit in the release namespace', () => {
    for (const { name, values, objects } of rendered) {
      for (const o of objects) {
        const labels = o.metadata.labels ?? {};
        for (const key of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) {
          assert.ok(labels[`app.kubernetes.io/${key}`], `${name}: ${o.kind} ${o.metadata.name} lacks app.kubernetes.io/${key}`);
        }
        assert.is(labels['app.kubernetes.io/managed-by'], 'Helm');
        const expected = CLUSTER_SCOPED.has(o.kind) ? undefined : values.namespaces.includes(o.metadata.namespace) ? o.metadata.namespace : 'pando-system';
        assert.is(o.metadata.namespace, expected, `${name}: ${o.kind} ${o.metadata.name}`);
      }
    }
  });

  test('every env the chart renders passes loadConfig and means the value it came from', () => {
    for (const { name, values, objects } of rendered) {
      const fn = find(objects, 'Function');
      const container = webhookPodSpec(objects)?.containers[0];
      const env: Record<string, string> = fn ? fn.spec.environment : Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));
      const config = loadConfig(env);
      assert.is(config.defaultMode, values.defaultMode, name);
      assert.equal([...config.excludedNamespaces], values.excludedNamespaces, name);
      assert.is(config.sidecarImage, values.sidecar.image, name);
      assert.is(config.systemNamespace, 'pando-system', name);
      assert.equal(config.resources, {
        cpuRequest: values.sidecar.resources.requests.cpu,
        memoryRequest: values.sidecar.resources.requests.memory,
        cpuLimit: values.sidecar.resources.limits.cpu,
        memoryLimit: values.sidecar.resources.limits.memory,
      });
      assert.equal(config.probe, { port: values.sidecar.healthPort, ...values.sidecar.probe });
      assert.equal(config.licenseSecret, { name: values.license.secretName, key: values.license.secretKey });
      assert.is(config.nativeSidecar, values.sidecar.native === 'auto' ? true : values.sidecar.native, `${name}: sidecar.native on 1.37`);
      for (const variable of Object.keys(ENV)) assert.ok(variable in env, `${name}: ${variable}`);
      const server = loadServerConfig({ ...env, PORT: '8080' });
      assert.is(server.tls?.port, values.webhook.route === 'direct' ? 8443 : undefined, name);
    }
  });

  test('sidecar.native: auto is decided by the cluster version (on from 1.33, where it is GA); true and false are kept', () => {
    const nativeOf = (values: Obj, kubeVersion: string) => {
      const env = webhookPodSpec(render({ ...LICENSE, ...values }, { kubeVersion }))?.containers[0].env;
      return env.find((e: Obj) => e.name === 'PANDO_SIDECAR_NATIVE')?.value;
    };
    assert.is(nativeOf({}, '1.37.2'), 'true');
    assert.is(nativeOf({}, '1.33.0'), 'true');
    assert.is(nativeOf({}, '1.32.9'), 'false');
    assert.is(nativeOf({}, '1.30.0'), 'false');
    assert.is(nativeOf({ sidecar: { native: true } }, '1.30.0'), 'true');
    assert.is(nativeOf({ sidecar: { native: false } }, '1.37.2'), 'false');
  });

  // Knative's defaults (config-features): pkg/apis/serving/k8s_validation.go and fieldmask.go.
  const KNATIVE_POD_FIELDS = new Set(['serviceAccountName', 'containers', 'volumes', 'imagePullSecrets', 'enableServiceLinks', 'timeoutSeconds']);
  const KNATIVE_SECURITY_FIELDS = new Set([
    'capabilities',
    'readOnlyRootFilesystem',
    'runAsUser',
    'runAsNonRoot',
    'allowPrivilegeEscalation',
    'seccompProfile',
  ]);
  test("the Knative Service keeps to Knative's default config-features", () => {
    for (const { name, values, objects } of rendered.filter((r) => ksvcOf(r.objects))) {
      const ksvc = ksvcOf(objects);
      const spec = ksvc.spec.template.spec;
      assert.is(ksvc.metadata.labels['networking.knative.dev/visibility'], 'cluster-local', name);
      for (const key of Object.keys(spec)) assert.ok(KNATIVE_POD_FIELDS.has(key), `${name}: pod field ${key}`);
      const [c] = spec.containers;
      for (const key of Object.keys(c.securityContext)) assert.ok(KNATIVE_SECURITY_FIELDS.has(key), `${name}: securityContext.${key}`);
      assert.is(c.ports.length, 1);
      for (const e of c.env) assert.is(e.valueFrom, undefined, `${name}: ${e.name}`);
      for (const m of c.volumeMounts ?? []) assert.is(m.readOnly, true);
      for (const p of [c.readinessProbe, c.livenessProbe]) assert.is(p.httpGet.port, undefined);
      const annotations = ksvc.spec.template.metadata.annotations;
      assert.is(annotations['autoscaling.knative.dev/min-scale'], String(values.replicas), name);
      assert.is(annotations['autoscaling.knative.dev/max-scale'], String(values.maxReplicas), name);
    }
    const hpa = ksvcOf(byName('autoscaling.class=hpa').objects).spec.template.metadata.annotations;
    assert.equal(
      [hpa['autoscaling.knative.dev/class'], hpa['autoscaling.knative.dev/metric'], hpa['autoscaling.knative.dev/target']],
      ['hpa.autoscaling.knative.dev', 'cpu', '70'],
    );
  });

  test('the HTTPS Service selects the webhook pods of each platform, 443 -> 8443', () => {
    const selectors: Record<string, Obj> = {
      default: { 'serving.knative.dev/service': 'pando-webhook' },
      'platform=deployment': {
        'app.kubernetes.io/name': 'pando-webhook',
        'app.kubernetes.io/instance': 'pando-webhook',
        'app.kubernetes.io/component': 'webhook',
      },
      'platform=openfaas': { faas_function: 'pando-webhook' },
    };
    for (const [variant, selector] of Object.entries(selectors)) {
      const svc = find(byName(variant).objects, 'Service', 'v1');
      assert.equal(svc.spec.selector, selector, variant);
      assert.equal(svc.spec.ports, [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }]);
      assert.equal(find(byName(variant).objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.service, {
        namespace: 'pando-system',
        name: 'pando-webhook-https',
        port: 443,
        path: '/',
      });
    }
    const deployment = find(byName('platform=deployment').objects, 'Deployment');
    for (const [key, value] of Object.entries(selectors['platform=deployment'])) assert.is(deployment.spec.template.metadata.labels[key], value);
    assert.equal(deployment.spec.selector.matchLabels, selectors['platform=deployment']);
    const pdb = find(byName('platform=deployment').objects, 'PodDisruptionBudget');
    assert.equal(pdb.spec.selector.matchLabels, selectors['platform=deployment']);
    assert.is(deployment.spec.replicas, 2);
  });

  test('MutatingWebhookConfiguration follows the good practices', () => {
    for (const { name, values, objects } of rendered) {
      for (const hook of find(objects, 'MutatingWebhookConfiguration').webhooks) {
        assert.is(hook.failurePolicy, 'Ignore');
        assert.is(hook.sideEffects, 'None');
        assert.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 10);
        assert.is(hook.reinvocationPolicy, 'IfNeeded');
        assert.equal(hook.admissionReviewVersions, ['v1']);
        assert.equal(hook.rules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }]);
        assert.equal(hook.objectSelector, { matchLabels: { 'pandocore.xyz/protect': 'true' } });
        // Without it, no condition at all: the API server sends every protected pod.
        assert.is(hook.matchConditions?.length ?? 0, values.webhook.skipInjected ? 1 : 0, name);
      }
      const [labelled, listed] = find(objects, 'MutatingWebhookConfiguration').webhooks;
      const notExcluded = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...new Set([...values.excludedNamespaces, 'pando-system'])] };
      if (values.webhook.scope === 'all') {
        // Every namespace not excluded, as the original instructions assume: one webhook, no label.
        assert.equal(labelled.namespaceSelector.matchExpressions, [notExcluded], name);
        assert.is(listed, undefined, name);
        continue;
      }
      assert.equal(labelled.namespaceSelector.matchExpressions, [notExcluded, { key: 'pandocore.xyz/enabled', operator: 'In', values: ['true'] }], name);
      if (values.namespaces.length)
        assert.equal(listed.namespaceSelector.matchExpressions, [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: values.namespaces }]);
      else assert.is(listed, undefined);
    }
  });

  test('platform=deployment: each webhook pod keeps serving 5 s after it is told to stop (preStop), within its grace period', () => {
    const deployment = find(byName('platform=deployment').objects, 'Deployment');
    const spec = deployment.spec.template.spec;
    assert.equal(spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 5 } } });
    const drain = Number(spec.containers[0].env.find((e: Obj) => e.name === 'PANDO_DRAIN_TIMEOUT_SECONDS')?.value ?? 25);
    assert.ok(spec.terminationGracePeriodSeconds > 5 + drain, `grace ${spec.terminationGracePeriodSeconds} s > preStop 5 s + drain ${drain} s`);
  });

  test('namespaces=[...]: each listed namespace gets its account, RoleBinding and license Secret', () => {
    const objects = byName('namespaces=[team-a,team-b]').objects;
    for (const ns of ['team-a', 'team-b']) {
      const inNs = objects.filter((o) => o.metadata.namespace === ns);
      assert.equal(inNs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
        'RoleBinding/pando-sidecar',
        'Secret/pando-license',
        'ServiceAccount/pando-sidecar',
      ]);
      const secret = inNs.find((o) => o.kind === 'Secret')!;
      assert.is(Buffer.from(secret.data['license-key'], 'base64').toString(), LICENSE.licenseKey);
      assert.equal(inNs.find((o) => o.kind === 'RoleBinding')!.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pando-sidecar' });
    }
  });

  test('the license: a Secret in the release namespace, or none with license.create=false', () => {
    const secret = find(rendered[0].objects, 'Secret', 'v1');
    const license = rendered[0].objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'pando-license')!;
    assert.ok(secret);
    assert.is(Buffer.from(license.data['license-key'], 'base64').toString(), LICENSE.licenseKey);
    assert.not.ok(byName('license.create=false').objects.some((o) => o.metadata.name === 'pando-license'));
  });

  test('caBundle source per TLS mode, and the cert-manager chain', () => {
    const annotations = (variant: string) => find(byName(variant).objects, 'MutatingWebhookConfiguration').metadata.annotations;
    assert.is(annotations('default'), undefined); // the TLS setup Job writes it
    assert.equal(annotations('tls.certManager=true'), { 'cert-manager.io/inject-ca-from': 'pando-system/pando-webhook-serving' });
    assert.equal(annotations('webhook.route=knative-local-tls'), { 'cert-manager.io/inject-ca-from-secret': 'cert-manager/knative-selfsigned-ca' });
    const objects = byName('tls.certManager=true').objects;
    const serving = objects.find((o) => o.kind === 'Certificate' && !o.spec.isCA)!;
    assert.equal(serving.spec.dnsNames, ['pando-webhook-https.pando-system.svc', 'pando-webhook-https.pando-system.svc.cluster.local']);
    assert.is(serving.spec.renewBefore, '720h');
    assert.not.ok(objects.some((o) => o.kind === 'Job' || o.kind === 'CronJob'));
  });

  test('TLS setup: contract env read by the setup code, own account, RBAC only on named objects, empty Secrets', () => {
    for (const { name, values, objects } of rendered.filter((r) => find(r.objects, 'Job'))) {
      const job = find(objects, 'Job');
      const [c] = job.spec.template.spec.containers;
      assert.equal(c.command, ['node', 'dist/tls-setup.js']);
      const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value]));
      const config = loadSetupConfig({ ...env, KUBERNETES_SERVICE_HOST: '127.0.0.1' });
      const service = find(objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.service;
      assert.equal(config.dnsNames, [`${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}.svc.cluster.local`], name);
      assert.is(config.renewBeforeDays, values.tls.renewBeforeDays);
      assert.equal(find(objects, 'Role').rules, [
        { apiGroups: [''], resources: ['secrets'], resourceNames: [config.tlsSecret, config.caSecret], verbs: ['get', 'update'] },
      ]);
      assert.equal(find(objects, 'CronJob').spec.jobTemplate.spec.template, job.spec.template);
      const tlsSecrets = objects.filter((o) => o.kind === 'Secret' && o.metadata.name.startsWith('pando-webhook-'));
      assert.equal(
        tlsSecrets.map((s) => [s.metadata.name, s.data]),
        [
          ['pando-webhook-ca', undefined],
          ['pando-webhook-tls', undefined],
        ],
      );
      assert.match(job.metadata.name, /^pando-webhook-tls-setup-[0-9a-f]{8}$/);
    }
    // The Job is named after its template: a new image makes a new Job, the same one keeps it.
    const jobName = (raw: Obj) => find(render({ ...LICENSE, ...raw }), 'Job').metadata.name;
    assert.is(jobName({}), jobName({ sidecar: { image: 'registry.example/other:1' } }));
    assert.is.not(jobName({}), jobName({ image: 'registry.example/pando-webhook:9.9.9' }));
    // tls.setupJobTtlSeconds: a day by default; 0 keeps the finished Job (GitOps tools see it missing otherwise).
    const ttl = (raw: Obj) => find(render({ ...LICENSE, ...raw }), 'Job').spec.ttlSecondsAfterFinished;
    assert.is(ttl({}), 86400);
    assert.is(ttl({ tls: { setupJobTtlSeconds: 0 } }), undefined);
    assert.is(ttl({ tls: { setupJobTtlSeconds: 600 } }), 600);
  });

  test('every rule of every role: no wildcard, no create/delete/list, Secrets and webhooks only by name', () => {
    for (const { objects } of rendered) {
      for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
        for (const rule of role.rules) {
          for (const list of [rule.apiGroups, rule.resources, rule.verbs]) assert.not.ok(list.includes('*'));
          for (const verb of ['create', 'delete', 'deletecollection', 'list', 'watch', 'escalate', 'bind'])
            assert.not.ok(rule.verbs.includes(verb), `${role.metadata.name}: ${verb}`);
          if (rule.resources.includes('secrets') || rule.resources.includes('mutatingwebhookconfigurations')) assert.ok(rule.resourceNames?.length);
        }
      }
      const accounts = objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.namespace === 'pando-system');
      assert.is(accounts.find((a) => a.metadata.name === 'pando-webhook')!.automountServiceAccountToken, false);
    }
  });

  test('our pods meet Pod Security restricted (webhook on each platform, TLS Job and CronJob)', () => {
    for (const { name, objects } of rendered) {
      const pods: Array<[string, Obj]> = [];
      const job = find(objects, 'Job');
      if (job) pods.push(['job', { spec: job.spec.template.spec }], ['cronjob', { spec: find(objects, 'CronJob').spec.jobTemplate.spec.template.spec }]);
      const webhook = webhookPodSpec(objects);
      if (webhook) pods.push(['webhook', { spec: webhook }]);
      for (const [what, pod] of pods) assert.equal(restrictedProblems(pod), [], `${name}: ${what}`);
    }
  });

  test('namespace.create: the release namespace with Pod Security labels, first', () => {
    const objects = byName('namespace.create=true').objects;
    assert.is(objects[0].kind, 'Namespace');
    assert.is(objects[0].metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.is(objects[0].metadata.labels['pod-security.kubernetes.io/warn'], 'restricted');
    assert.not.ok(rendered[0].objects.some((o) => o.kind === 'Namespace'));
  });

  test('safety net: Warn+Audit by default, Deny on request, allowing everything while the webhook configuration is absent', () => {
    for (const { name, values, objects } of rendered) {
      const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding' && o.metadata.name === 'pando-sidecar-required')!;
      const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === 'pando-sidecar-required')!;
      assert.equal(binding.spec.validationActions, values.safetyNet.deny ? ['Deny'] : ['Warn', 'Audit'], name);
      assert.equal(policy.spec.paramKind, { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration' });
      assert.equal(binding.spec.paramRef, { name: find(objects, 'MutatingWebhookConfiguration').metadata.name, parameterNotFoundAction: 'Allow' });
      const labelled = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
      assert.equal(policy.spec.matchConstraints.namespaceSelector, { matchExpressions: [labelled.namespaceSelector.matchExpressions[0]] });
    }
  });

  test('values.schema.json makes both Helms refuse bad values, naming the value', () => {
    const cases: Array<[Obj, RegExp]> = [
      [{}, /\/licenseKey/],
      [{ ...LICENSE, replicas: -1 }, /\/replicas.*minimum/],
      [{ ...LICENSE, defaultMode: 'bogus' }, /\/defaultMode.*'monitor', 'enforce', 'debug'/],
      [{ ...LICENSE, bogus: 1 }, /additional properties 'bogus' not allowed/],
      [{ ...LICENSE, sidecar: { image: 'UPPER CASE' } }, /\/sidecar\/image/],
      [{ ...LICENSE, platform: 'lambda' }, /\/platform/],
      [{ ...LICENSE, namespaces: ['Team_A'] }, /\/namespaces\/0/],
    ];
    for (const helmBinary of ['helm', 'helm3'] as const) {
      for (const [values, message] of cases) {
        const run = template(values, { helm: helmBinary });
        assert.is.not(run.code, 0, `${helmBinary} accepted ${JSON.stringify(values)}`);
        assert.match(run.stderr, message, `${helmBinary}: ${run.stderr}`);
      }
    }
    // Rules beyond the schema fail in the templates.
    assert.match(template({ ...LICENSE, maxReplicas: 1 }).stderr, /maxReplicas \(1\) must be at least replicas \(2\)/);
    assert.match(template({ ...LICENSE, namespaces: ['kube-system'] }).stderr, /namespaces: kube-system is never injected/);
    assert.is(template({ license: { create: false } }).code, 0, 'no license needed when the chart does not store it');
  });

  test('helm lint --strict passes with Helm 4 and Helm 3', () => {
    for (const helmBinary of ['helm', 'helm3'] as const) {
      const run = helm(['lint', '--strict', CHART, '--set', `licenseKey=${LICENSE.licenseKey}`, '--kube-version', '1.37.2'], { helm: helmBinary });
      assert.is(run.code, 0, `${helmBinary}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  test('Helm 4 and Helm 3 render every variant to the same objects (their order of kinds Helm does not know may differ)', () => {
    const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sorted = (objects: Obj[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));
    for (const [name, raw] of Object.entries(VARIANTS)) {
      const v4 = render({ ...LICENSE, ...raw }, { helm: 'helm' });
      const v3 = render({ ...LICENSE, ...raw }, { helm: 'helm3' });
      assert.equal(sorted(v3), sorted(v4), name);
    }
  });

  test('helm package makes the chart archive that task chart:push sends', () => {
    const out = mkdtempSync(join(tmpdir(), 'pando-chart-'));
    const run = helm(['package', CHART, '--destination', out]);
    assert.is(run.code, 0, run.stderr);
    assert.ok(readdirSync(out).includes(`pando-webhook-${version}.tgz`), readdirSync(out).join(' '));
    rmSync(out, { recursive: true, force: true });
  });

  test('NOTES.txt tells the next steps', () => {
    const run = helm(['install', 'pando-webhook', CHART, '--dry-run=client', '-n', 'pando-system', '--set', `licenseKey=${LICENSE.licenseKey}`]);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /kubectl pando enable team-a/);
    assert.match(run.stdout, /kubectl pando check -n team-a/);
    assert.match(run.stdout, /--labels=pandocore.xyz\/protect=true/);
    assert.match(run.stdout, /helm get values pando-webhook -n pando-system/);
    const notes = run.stdout.slice(run.stdout.indexOf('NOTES:'));
    assert.ok(notes.length > 100 && !notes.includes(LICENSE.licenseKey), 'NOTES never print the license');
  });
}

test.run();
