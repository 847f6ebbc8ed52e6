// kubectl pando check: the install's troubleshooting list, run for the user. Checks are data: a
// category, what is checked, and on failure the command that fixes it. The last check proves the
// whole path: a server-side dry-run of a protected pod must come back with the sidecar.
import type { X509Certificate } from 'node:crypto';
import { hasSidecar, SIDECAR_CLUSTER_ROLE } from '../function/pod';
import { daysLeft, parseBundle } from '../function/tls/certs';
import { describeError, Kube, type Obj } from './kube';
import { CERTIFICATE_PATH } from '../function/tls/files';
import { enabledNamespaces, findInstall, namesOf, SERVING_SECRET, workloadReadiness, type Install } from './install';

export interface CheckResult {
  category: string;
  check: string;
  ok: boolean;
  detail: string;
  /** The command (or step) that fixes a failure. */
  fix?: string;
}

/** A certificate that expires sooner fails the check: the renewal (30 days before) did not run. */
export const EXPIRY_FAIL_DAYS = 7;

/** Whether the caBundle verifies the serving certificate for the service's DNS name. */
export function verifyServing(caBundle: string, servingPem: string, dnsName: string): { ok: boolean; detail: string; certificate?: X509Certificate } {
  let serving: X509Certificate | undefined;
  try {
    [serving] = parseBundle(servingPem);
  } catch (error) {
    return { ok: false, detail: `the serving certificate does not parse: ${(error as Error).message}` };
  }
  if (!serving) return { ok: false, detail: 'no serving certificate' };
  const certificate = serving;
  if (!serving.checkHost(dnsName)) return { ok: false, detail: `the serving certificate is not for ${dnsName}`, certificate };
  let cas: X509Certificate[];
  try {
    cas = parseBundle(caBundle);
  } catch (error) {
    return { ok: false, detail: `the caBundle does not parse: ${(error as Error).message}`, certificate };
  }
  if (cas.length === 0) return { ok: false, detail: 'the caBundle holds no certificate', certificate };
  const issuer = cas.find((ca) => serving.checkIssued(ca) && serving.verify(ca.publicKey));
  if (!issuer) return { ok: false, detail: `none of the ${cas.length} CA certificate(s) in the caBundle signed the serving certificate`, certificate };
  return { ok: true, detail: `signed by ${issuer.subject.replace(/\n/g, ', ')}, for ${dnsName}`, certificate };
}

export interface CheckOptions {
  /** Check this namespace only (it must be enabled); otherwise every enabled namespace. */
  namespace?: string;
  /** The release namespace, when the webhook configuration is missing and cannot say. */
  systemNamespace?: string;
}

export async function runChecks(kube: Kube, options: CheckOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (category: string, check: string, ok: boolean, detail: string, fix?: string): void =>
    void results.push({ category, check, ok, detail, ...(ok ? {} : { fix }) });
  const attempt = async (category: string, check: string, body: () => Promise<unknown>) => {
    try {
      await body();
    } catch (error) {
      add(category, check, false, `could not check: ${describeError(error)}`, 'kubectl auth can-i --list (the plugin reads the install with your credentials)');
    }
  };

  let install: Install = { namespace: options.systemNamespace ?? 'pando-system' };
  await attempt('webhook', 'webhook configuration registered', async () => {
    install = await findInstall(kube, options.systemNamespace);
    const hooks: Obj[] = install.webhookConfiguration?.webhooks ?? [];
    add(
      'webhook',
      'webhook configuration registered',
      hooks.length > 0,
      install.webhookConfiguration
        ? `MutatingWebhookConfiguration pando-webhook, ${hooks.length} webhook(s), failurePolicy ${hooks[0]?.failurePolicy}`
        : 'MutatingWebhookConfiguration pando-webhook not found',
      `helm upgrade --install pando-webhook oci://ghcr.io/pandocore/charts/pando-webhook --namespace ${install.namespace} --create-namespace --set licenseKey=...`,
    );
  });
  const ns = install.namespace;
  const hooks: Obj[] = install.webhookConfiguration?.webhooks ?? [];
  const service = hooks[0]?.clientConfig?.service;
  // Who issues the serving certificate: the chart's TLS Job, cert-manager, or Knative (the MWC's
  // annotations say, as the chart writes them).
  const annotations: Record<string, string> = install.webhookConfiguration?.metadata?.annotations ?? {};
  const knativeCaSecret = annotations['cert-manager.io/inject-ca-from-secret'];
  const certManager = annotations['cert-manager.io/inject-ca-from'] !== undefined;
  const rerunTls = certManager
    ? `kubectl -n ${ns} describe certificate pando-webhook-serving   # cert-manager issues and renews it`
    : `kubectl -n ${ns} create job pando-webhook-tls-now --from=cronjob/pando-webhook-tls-renew`;

  await attempt('webhook', 'caBundle verifies the serving certificate', async () => {
    if (hooks.length === 0) return add('webhook', 'caBundle verifies the serving certificate', false, 'no webhook configuration', 'install the chart first');
    const missing = hooks.filter((h) => !h.clientConfig?.caBundle).map((h) => h.name);
    if (missing.length > 0) return add('webhook', 'caBundle verifies the serving certificate', false, `no caBundle on ${missing.join(', ')}`, rerunTls);
    if (knativeCaSecret) {
      // Knative's cluster-local route: the certificate is Knative's; the dry-run below proves the path.
      return add(
        'webhook',
        'caBundle verifies the serving certificate',
        true,
        `caBundle present, injected from ${knativeCaSecret} (Knative issues the certificate)`,
      );
    }
    // The certificate the webhook serves, as it reports it, through the API server's Service proxy.
    // Only when that cannot reach the pods (no endpoints, no services/proxy right) is the Secret
    // read, as before: it holds the private key too, so the answer says which source it used.
    let crt: string;
    let source = `the certificate ${service?.name} serves`;
    try {
      const served = await kube.serviceProxyGet(service?.namespace ?? ns, `https:${service?.name}`, String(service?.port ?? 443), CERTIFICATE_PATH);
      crt = typeof served.certificate === 'string' ? served.certificate : '';
    } catch (error) {
      const secret = await kube.get('v1', 'Secret', SERVING_SECRET, ns);
      crt = secret?.data?.['tls.crt'] ? Buffer.from(secret.data['tls.crt'], 'base64').toString('utf8') : '';
      source = `${ns}/${SERVING_SECRET} (the Service proxy could not reach the webhook: ${describeError(error).slice(0, 120)})`;
    }
    if (!crt) return add('webhook', 'caBundle verifies the serving certificate', false, `no serving certificate from ${source}`, rerunTls);
    const dnsName = `${service?.name}.${service?.namespace}.svc`;
    let certificate: X509Certificate | undefined;
    for (const hook of hooks) {
      const verdict = verifyServing(Buffer.from(hook.clientConfig.caBundle, 'base64').toString('utf8'), crt, dnsName);
      certificate = verdict.certificate;
      if (!verdict.ok) return add('webhook', 'caBundle verifies the serving certificate', false, `${hook.name}: ${verdict.detail}`, rerunTls);
    }
    add('webhook', 'caBundle verifies the serving certificate', true, `every webhook's caBundle verifies ${source}, for ${dnsName}`);
    const days = certificate ? Math.floor(daysLeft(certificate, new Date())) : -1;
    add(
      'webhook',
      'serving certificate not about to expire',
      days >= EXPIRY_FAIL_DAYS,
      certificate ? `expires ${new Date(certificate.validTo).toISOString()} (in ${days} days)` : 'no expiry date',
      certManager ? rerunTls : `${rerunTls}   # the CronJob renews it ${EXPIRY_FAIL_DAYS}+ days ahead; check its schedule and last runs`,
    );
  });

  let webhookReady: boolean | undefined;
  await attempt('webhook', 'webhook pods ready', async () => {
    if (!install.workload) {
      webhookReady = false;
      const forbidden = install.forbidden ? ` (you may not read: ${install.forbidden.join(', ')})` : '';
      return add(
        'webhook',
        'webhook pods ready',
        false,
        `no Knative Service, Deployment or OpenFaaS Function pando-webhook in ${ns}${forbidden}`,
        `helm status pando-webhook -n ${ns}`,
      );
    }
    const { platform, object } = install.workload;
    const readiness = workloadReadiness(platform, object);
    const describe = { knative: 'ksvc', deployment: 'deployment', openfaas: 'function.openfaas.com' }[platform];
    webhookReady = readiness.ready;
    add('webhook', 'webhook pods ready', readiness.ready, `${platform}: ${readiness.detail}`, `kubectl -n ${ns} describe ${describe} pando-webhook; task logs`);
  });

  await attempt('webhook', 'TLS certificate issued', async () => {
    const certificate = await kube.get('cert-manager.io/v1', 'Certificate', 'pando-webhook-serving', ns);
    if (certificate) {
      const ready = (certificate.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
      return add(
        'webhook',
        'TLS certificate issued',
        ready?.status === 'True',
        `cert-manager Certificate pando-webhook-serving Ready=${ready?.status ?? 'unknown'}`,
        `kubectl -n ${ns} describe certificate pando-webhook-serving`,
      );
    }
    if (knativeCaSecret) return add('webhook', 'TLS certificate issued', true, 'Knative cluster-local TLS: Knative issues the certificate');
    const jobs = (await kube.list('batch/v1', 'Job', ns, 'app.kubernetes.io/component=tls')).sort((a, b) =>
      String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
    );
    const latest = jobs[0];
    if (!latest)
      return add('webhook', 'TLS certificate issued', false, `no TLS setup Job in ${ns}`, 'helm upgrade pando-webhook ... (the chart runs the TLS setup Job)');
    const condition = (type: string) => (latest.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === 'True');
    const state = condition('Complete') ? 'completed' : condition('Failed') ? 'failed' : 'not finished';
    add(
      'webhook',
      'TLS certificate issued',
      state === 'completed',
      `Job ${latest.metadata.name} ${state}`,
      `kubectl -n ${ns} logs job/${latest.metadata.name}`,
    );
  });

  await attempt('webhook', 'configured values', async () => {
    if (!install.workload) return;
    if (install.configProblems)
      return add(
        'webhook',
        'configured values',
        false,
        install.configProblems.join('; '),
        `helm get values pando-webhook -n ${ns}; helm upgrade ... --set ...`,
      );
    const c = install.config!;
    add(
      'webhook',
      'configured values',
      true,
      `defaultMode=${c.defaultMode} sidecar.image=${c.sidecarImage} sidecar.native=${c.nativeSidecar} excludedNamespaces=${[...c.excludedNamespaces].join(',') || '(none)'}`,
    );
  });

  // The namespaces: each needs its account, binding and license before a pod there can run.
  const { serviceAccount: account, licenseSecret: license } = namesOf(install);
  let namespaces: string[] = [];
  await attempt('namespaces', 'enabled namespaces', async () => {
    const { labelled, listed } = await enabledNamespaces(kube, install);
    const all = [...new Set([...labelled, ...listed])].sort();
    if (options.namespace) {
      const enabled = all.includes(options.namespace);
      add(
        'namespaces',
        `${options.namespace} enabled`,
        enabled,
        enabled ? 'the webhook selects it' : 'the webhook does not select it',
        `kubectl pando enable ${options.namespace}`,
      );
      namespaces = [options.namespace];
    } else {
      add('namespaces', 'enabled namespaces', all.length > 0, all.length > 0 ? all.join(', ') : 'none', 'kubectl pando enable NAMESPACE');
      namespaces = all;
    }
  });
  for (const namespace of namespaces) {
    const category = `namespace ${namespace}`;
    const fix = `kubectl pando enable ${namespace}`;
    await attempt(category, 'ServiceAccount', async () => {
      const found = await kube.get('v1', 'ServiceAccount', account, namespace);
      add(category, `ServiceAccount ${account}`, Boolean(found), found ? 'present' : 'missing', fix);
    });
    await attempt(category, 'RoleBinding', async () => {
      const bindings = await kube.list('rbac.authorization.k8s.io/v1', 'RoleBinding', namespace);
      const binding = bindings.find(
        (b) =>
          b.roleRef?.kind === 'ClusterRole' &&
          b.roleRef?.name === SIDECAR_CLUSTER_ROLE &&
          (b.subjects ?? []).some((s: Obj) => s.kind === 'ServiceAccount' && s.name === account && (s.namespace ?? namespace) === namespace),
      );
      add(
        category,
        `RoleBinding of ClusterRole ${SIDECAR_CLUSTER_ROLE} to ${account}`,
        Boolean(binding),
        binding ? `RoleBinding ${binding.metadata.name}` : 'missing',
        fix,
      );
    });
    await attempt(category, 'license Secret', async () => {
      const secret = await kube.get('v1', 'Secret', license.name, namespace);
      const value = secret?.data?.[license.key];
      const ok = typeof value === 'string' && value.length > 0;
      add(category, `license Secret ${license.name}`, ok, !secret ? 'missing' : ok ? `key ${license.key} present` : `no key ${license.key}`, fix);
    });
    await attempt(category, 'a protected pod gets the sidecar (server-side dry-run)', async () => {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { generateName: 'pando-check-', labels: { 'pandocore.xyz/protect': 'true' } },
        // Pod Security restricted, so a namespace that enforces it admits the probe too.
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.k8s.io/pause:3.10',
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65535,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
        },
      };
      const answer = await kube.dryRunPod(namespace, pod).catch((error) => ({ error }));
      if ('error' in answer) {
        return add(
          category,
          'a protected pod gets the sidecar (server-side dry-run)',
          false,
          `refused: ${describeError(answer.error)}`,
          'the lines above; task logs',
        );
      }
      const injected = hasSidecar(answer.pod.spec ?? {});
      const warnings = answer.warnings.length > 0 ? `; API server warnings: ${answer.warnings.join(' | ')}` : '';
      add(
        category,
        'a protected pod gets the sidecar (server-side dry-run)',
        injected,
        injected ? `injected${warnings}` : `the pod came back without pando-sidecar${warnings || ' and no warning'}`,
        webhookReady === false
          ? `the webhook is not serving: fix "webhook pods ready" first (kubectl -n ${ns} get pods; task logs)`
          : `the webhook's log line for the pod says why (task logs); ${fix}`,
      );
    });
  }
  return results;
}

/** One line per check, grouped by category, as a terminal shows it. */
export function renderChecks(results: CheckResult[]): string {
  const lines: string[] = [];
  let category = '';
  for (const r of results) {
    if (r.category !== category) {
      category = r.category;
      lines.push(`${lines.length ? '\n' : ''}${category}`);
    }
    lines.push(`  ${r.ok ? '[ok]  ' : '[FAIL]'} ${r.check}: ${r.detail}`);
    if (!r.ok && r.fix) lines.push(`         fix: ${r.fix}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push('', failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks failed`);
  return `${lines.join('\n')}\n`;
}
