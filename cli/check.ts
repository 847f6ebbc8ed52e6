// kubectl pando check: the install's troubleshooting list, run for the user. Each check is one
// record (a stable id, its category, what it checks, where to read the fix, whether the checks
// after it mean anything when it fails, and the function that runs it); one small loop runs them.
// The last check proves the whole path: a server-side dry-run of a protected pod must come back
// with the sidecar.
import type { X509Certificate } from 'node:crypto';
import { hasSidecar, SIDECAR_CLUSTER_ROLE, SIDECAR_NAME } from '../function/pod';
import { daysLeft, parseBundle } from '../function/tls/certs';
import { describeError, Kube, type Obj } from './kube';
import { CERTIFICATE_PATH } from '../function/tls/files';
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from '../function/names';
import { enabledNamespaces, findInstall, configOf, workloadReadiness, type Install } from './read-install';

export interface CheckResult {
  /** Stable, for scripts: the same whatever the outcome. */
  id: string;
  category: string;
  /** What is checked: the same words on pass and fail. */
  check: string;
  ok: boolean;
  detail: string;
  /** The command (or step) that fixes a failure. */
  fix?: string;
  /** A failure that stopped the checks after it. */
  fatal?: boolean;
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
  /** Only these checks (ids), after reading the install: what a narrow account may run (helm test). */
  only?: string[];
}

/** What the checks read and what one check leaves for a later one. */
interface Context {
  kube: Kube;
  options: CheckOptions;
  install: Install;
  /** The certificate the webhook serves, once the caBundle check has read it. */
  servingCertificate?: X509Certificate;
  webhookReady?: boolean;
  /** The namespaces the per-namespace checks run in, once found. */
  namespaces: string[];
}

interface Verdict {
  ok: boolean;
  detail: string;
  /** A fix more precise than the check's hint, when the failure tells which. */
  fix?: string;
}

interface Check {
  id: string;
  /** What is checked; the configured object names are part of it. */
  description: string | ((context: Context) => string);
  /** Where the fix is, shown on failure. */
  hint: (context: Context, namespace: string) => string;
  /** A failure makes the checks after it meaningless: they are not run. */
  fatal: boolean;
  run: (context: Context, namespace: string) => Promise<Verdict>;
}

const releaseNamespace = (context: Context) => context.install.namespace;
const hooksOf = (context: Context): Obj[] => context.install.webhookConfiguration?.webhooks ?? [];
/** Every platform's webhook pods carry this label (templates/_helpers.tpl "pando.labels"). */
export const logsCommand = (namespace: string) => `kubectl logs -n ${namespace} -l app.kubernetes.io/name=pando-webhook --tail=100`;
const caAnnotations = (context: Context): Record<string, string> => context.install.webhookConfiguration?.metadata?.annotations ?? {};
/** Knative's cluster-local route: the caBundle comes from Knative's CA Secret (the chart's annotation). */
const knativeCaSecret = (context: Context) => caAnnotations(context)['cert-manager.io/inject-ca-from-secret'];
const usesCertManager = (context: Context) => caAnnotations(context)['cert-manager.io/inject-ca-from'] !== undefined;
const SERVING_CERTIFICATE = OBJECT_NAMES.servingCertificate;
/** Who issues the serving certificate, and how to make it issue one now. */
const reissueTls = (context: Context) =>
  usesCertManager(context)
    ? `kubectl -n ${releaseNamespace(context)} describe certificate ${SERVING_CERTIFICATE}   # cert-manager issues and renews it`
    : `kubectl -n ${releaseNamespace(context)} create job ${OBJECT_NAMES.servingSecret}-now --from=cronjob/${OBJECT_NAMES.tlsRenew}`;
const enableFix = (_: Context, namespace: string) => `kubectl pando enable ${namespace}`;
const PULL_FAILURES = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'];

/** A refused read: the plugin works with the user's own rights. */
const CREDENTIALS_FIX = 'kubectl auth can-i --list (the plugin reads the install with your credentials)';

const INSTALL_CHECKS: Check[] = [
  {
    id: 'install-readable',
    description: 'the install can be read with your credentials',
    hint: () => CREDENTIALS_FIX,
    fatal: true,
    run: async (context) => {
      context.install = await findInstall(context.kube, context.options.systemNamespace);
      const forbidden = context.install.forbidden ? `; you may not read ${context.install.forbidden.join(', ')}` : '';
      return { ok: true, detail: `release namespace ${context.install.namespace}${forbidden}` };
    },
  },
  {
    id: 'configured-values',
    description: 'configured values',
    hint: (context) => `helm get values pando-webhook -n ${releaseNamespace(context)}; helm upgrade ... --set ...`,
    fatal: false,
    run: async ({ install }) => {
      if (install.configProblems) return { ok: false, detail: install.configProblems.join('; ') };
      const c = configOf(install);
      const source = install.workload ? '' : `no pando-webhook workload in ${install.namespace}, so the function's defaults: `;
      return {
        ok: true,
        detail:
          `${source}defaultMode=${c.defaultMode} sidecar.image=${c.sidecarImage} sidecar.native=${c.nativeSidecar} ` +
          `sidecar.imagePullSecrets=${c.imagePullSecrets.join(',') || '(none)'} excludedNamespaces=${[...c.excludedNamespaces].join(',') || '(none)'}`,
      };
    },
  },
  {
    id: 'webhook-configuration',
    description: 'webhook configuration registered',
    hint: (context) =>
      `helm upgrade --install pando-webhook oci://ghcr.io/pandocore/charts/pando-webhook --namespace ${releaseNamespace(context)} --create-namespace --set licenseKey=...`,
    fatal: true,
    run: async (context) => {
      const hooks = hooksOf(context);
      if (!context.install.webhookConfiguration) return { ok: false, detail: `MutatingWebhookConfiguration ${OBJECT_NAMES.webhook} not found` };
      return {
        ok: hooks.length > 0,
        detail: `MutatingWebhookConfiguration ${OBJECT_NAMES.webhook}, ${hooks.length} webhook(s), failurePolicy ${hooks[0]?.failurePolicy}`,
      };
    },
  },
  {
    id: 'webhook-ready',
    description: 'webhook pods ready',
    hint: (context) => `kubectl -n ${releaseNamespace(context)} get pods; ${logsCommand(releaseNamespace(context))}`,
    fatal: false,
    run: async (context) => {
      const { install } = context;
      context.webhookReady = false;
      if (!install.workload) {
        const forbidden = install.forbidden ? ` (you may not read: ${install.forbidden.join(', ')})` : '';
        return {
          ok: false,
          detail: `no Knative Service, Deployment or OpenFaaS Function pando-webhook in ${install.namespace}${forbidden}`,
          fix: `helm status pando-webhook -n ${install.namespace}`,
        };
      }
      const { platform, object } = install.workload;
      const readiness = workloadReadiness(platform, object);
      context.webhookReady = readiness.ready;
      const describe = { knative: 'ksvc', deployment: 'deployment', openfaas: 'function.openfaas.com' }[platform];
      return {
        ok: readiness.ready,
        detail: `${platform}: ${readiness.detail}`,
        fix: `kubectl -n ${install.namespace} describe ${describe} pando-webhook; ${logsCommand(install.namespace)}`,
      };
    },
  },
  {
    id: 'tls-issued',
    description: 'TLS certificate issued',
    hint: (context) => `kubectl -n ${releaseNamespace(context)} logs -l app.kubernetes.io/component=tls --tail=100`,
    fatal: false,
    run: async (context) => {
      const ns = releaseNamespace(context);
      const certificate = await context.kube.get('cert-manager.io/v1', 'Certificate', SERVING_CERTIFICATE, ns);
      if (certificate) {
        const ready = (certificate.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
        // cert-manager's reason and message name the step that stopped (issuer missing, request denied...).
        const why = ready && ready.status !== 'True' ? ` (${[ready.reason, ready.message].filter(Boolean).join(': ')})` : '';
        return {
          ok: ready?.status === 'True',
          detail: `cert-manager Certificate ${SERVING_CERTIFICATE} Ready=${ready?.status ?? 'unknown'}${why}`,
          fix: `kubectl -n ${ns} describe certificate ${SERVING_CERTIFICATE}; kubectl get certificates -n ${ns}`,
        };
      }
      // The webhook configuration asks cainjector for this Certificate's CA: without it (or without
      // cert-manager's CRDs), nothing issues the certificate, and there is no TLS Job to look at.
      if (usesCertManager(context)) {
        return {
          ok: false,
          detail: `no cert-manager Certificate ${SERVING_CERTIFICATE} in ${ns}, though the webhook configuration injects its CA (tls.certManager=true)`,
          fix: `kubectl get crd certificates.cert-manager.io; helm get values pando-webhook -n ${ns}   # cert-manager installed? the release's tls.certManager?`,
        };
      }
      if (knativeCaSecret(context)) return { ok: true, detail: 'Knative cluster-local TLS: Knative issues the certificate' };
      const jobs = (await context.kube.list('batch/v1', 'Job', ns, 'app.kubernetes.io/component=tls')).sort((a, b) =>
        String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
      );
      const latest = jobs[0];
      if (!latest) return { ok: false, detail: `no TLS setup Job in ${ns}`, fix: 'helm upgrade pando-webhook ... (the chart runs the TLS setup Job)' };
      const condition = (type: string) => (latest.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === 'True');
      const state = condition('Complete') ? 'completed' : condition('Failed') ? 'failed' : 'not finished';
      return { ok: state === 'completed', detail: `Job ${latest.metadata.name} ${state}`, fix: `kubectl -n ${ns} logs job/${latest.metadata.name}` };
    },
  },
  {
    id: 'cabundle-verifies',
    description: 'caBundle verifies the serving certificate',
    hint: reissueTls,
    fatal: false,
    run: async (context) => {
      const hooks = hooksOf(context);
      const missing = hooks.filter((h) => !h.clientConfig?.caBundle).map((h) => h.name);
      if (missing.length > 0) return { ok: false, detail: `no caBundle on ${missing.join(', ')}` };
      const fromKnative = knativeCaSecret(context);
      // Knative's cluster-local route: the certificate is Knative's; the dry-run proves the path.
      if (fromKnative) return { ok: true, detail: `caBundle present, injected from ${fromKnative} (Knative issues the certificate)` };
      const { certificate, source } = await servedCertificate(context);
      if (!certificate) return { ok: false, detail: `no serving certificate from ${source}` };
      const service = hooks[0]?.clientConfig?.service;
      const dnsName = `${service?.name}.${service?.namespace}.svc`;
      for (const hook of hooks) {
        const verdict = verifyServing(Buffer.from(hook.clientConfig.caBundle, 'base64').toString('utf8'), certificate, dnsName);
        if (verdict.certificate) context.servingCertificate = verdict.certificate;
        if (!verdict.ok) return { ok: false, detail: `${hook.name}: ${verdict.detail}` };
      }
      return { ok: true, detail: `every webhook's caBundle verifies ${source}, for ${dnsName}` };
    },
  },
  {
    id: 'certificate-expiry',
    description: 'serving certificate not about to expire',
    hint: (context) =>
      usesCertManager(context)
        ? reissueTls(context)
        : `${reissueTls(context)}   # the CronJob renews it ${EXPIRY_FAIL_DAYS}+ days ahead; check its schedule and last runs`,
    fatal: false,
    run: async (context) => {
      if (knativeCaSecret(context)) return { ok: true, detail: 'Knative issues and renews the certificate' };
      const certificate = context.servingCertificate;
      if (!certificate) return { ok: false, detail: 'no serving certificate was read (see the caBundle check)' };
      const days = Math.floor(daysLeft(certificate, new Date()));
      return { ok: days >= EXPIRY_FAIL_DAYS, detail: `expires ${new Date(certificate.validTo).toISOString()} (in ${days} days)` };
    },
  },
  {
    id: 'namespaces-enabled',
    // With -n NS, that namespace's: the same words whether it is enabled or not.
    description: (context) => (context.options.namespace ? `${context.options.namespace} enabled` : 'enabled namespaces'),
    hint: (context) => `kubectl pando enable ${context.options.namespace ?? 'NAMESPACE'}`,
    fatal: false,
    run: async (context) => {
      const { labelled, listed } = await enabledNamespaces(context.kube, context.install);
      const all = [...new Set([...labelled, ...listed])].sort();
      const only = context.options.namespace;
      if (only === undefined) {
        context.namespaces = all;
        return { ok: all.length > 0, detail: all.length > 0 ? all.join(', ') : 'none' };
      }
      context.namespaces = [only];
      return { ok: all.includes(only), detail: all.includes(only) ? 'the webhook selects it' : 'the webhook does not select it' };
    },
  },
];

/** Each enabled namespace needs its account, binding, license and pull secrets before a protected pod there can run. */
const NAMESPACE_CHECKS: Check[] = [
  {
    id: 'service-account',
    description: (context) => `ServiceAccount ${configOf(context.install).serviceAccount}`,
    hint: enableFix,
    fatal: false,
    run: async (context, namespace) => {
      const found = await context.kube.get('v1', 'ServiceAccount', configOf(context.install).serviceAccount, namespace);
      return { ok: Boolean(found), detail: found ? 'present' : 'missing' };
    },
  },
  {
    id: 'role-binding',
    description: (context) => `RoleBinding of ClusterRole ${SIDECAR_CLUSTER_ROLE} to ${configOf(context.install).serviceAccount}`,
    hint: enableFix,
    fatal: false,
    run: async (context, namespace) => {
      const account = configOf(context.install).serviceAccount;
      const bindings = await context.kube.list('rbac.authorization.k8s.io/v1', 'RoleBinding', namespace);
      const binding = bindings.find(
        (b) =>
          b.roleRef?.kind === 'ClusterRole' &&
          b.roleRef?.name === SIDECAR_CLUSTER_ROLE &&
          (b.subjects ?? []).some((s: Obj) => s.kind === 'ServiceAccount' && s.name === account && (s.namespace ?? namespace) === namespace),
      );
      return { ok: Boolean(binding), detail: binding ? `RoleBinding ${binding.metadata.name}` : 'missing' };
    },
  },
  {
    id: 'license-secret',
    description: (context) => `license Secret ${configOf(context.install).licenseSecret.name}`,
    hint: enableFix,
    fatal: false,
    run: async (context, namespace) => {
      const license = configOf(context.install).licenseSecret;
      const secret = await context.kube.get('v1', 'Secret', license.name, namespace);
      const value = secret?.data?.[license.key];
      const ok = typeof value === 'string' && value.length > 0;
      return { ok, detail: !secret ? 'missing' : ok ? `key ${license.key} present` : `no key ${license.key}` };
    },
  },
  {
    id: 'image-pull-secrets',
    description: 'image pull Secrets of the sidecar',
    hint: (context, namespace) => {
      const [name = 'NAME'] = configOf(context.install).imagePullSecrets;
      const source = releaseNamespace(context);
      // Made once beside the release, copied into each namespace that needs it.
      return `kubectl pando enable ${namespace} --pull-secret-from ${source}/${name} (copies a docker-registry Secret: kubectl -n ${source} create secret docker-registry ${name} --docker-server=${registryOf(configOf(context.install).sidecarImage)} --docker-username=... --docker-password=...)`;
    },
    fatal: false,
    run: async (context, namespace) => {
      const names = configOf(context.install).imagePullSecrets;
      if (names.length === 0) return { ok: true, detail: 'none configured (sidecar.imagePullSecrets)' };
      const problems: string[] = [];
      for (const name of names) {
        const secret = await context.kube.get('v1', 'Secret', name, namespace);
        if (!secret) problems.push(`${name} missing`);
        else if (!PULL_SECRET_TYPES.includes(secret.type)) problems.push(`${name} is of type ${secret.type}, not ${PULL_SECRET_TYPES[0]}`);
      }
      if (problems.length === 0) return { ok: true, detail: `${names.join(', ')} present` };
      // The node cannot pull the sidecar: injected pods there stay in ImagePullBackOff.
      return { ok: false, detail: `${problems.join('; ')} (the node cannot pull ${configOf(context.install).sidecarImage} for injected pods)` };
    },
  },
  {
    id: 'sidecar-pulled',
    description: 'the sidecar image pulled for protected pods',
    hint: (context, namespace) => {
      const config = configOf(context.install);
      const [name = 'regcred'] = config.imagePullSecrets;
      const source = releaseNamespace(context);
      const secrets = config.imagePullSecrets.length
        ? ''
        : ` helm upgrade pando-webhook ... -n ${source} --reuse-values --set 'sidecar.imagePullSecrets={${name}}', then`;
      return `when ${registryOf(config.sidecarImage)} needs credentials:${secrets} kubectl pando enable ${namespace} --pull-secret-from ${source}/${name}; else fix sidecar.image (kubectl -n ${namespace} describe pod POD names the pull error)`;
    },
    fatal: false,
    run: async (context, namespace) => {
      const pods = await context.kube.list('v1', 'Pod', namespace, 'pandocore.xyz/protect=true');
      // The kubelet's words for a pull that failed, on the sidecar's status (init or regular container).
      const stuck = pods.flatMap((pod) => {
        const statuses: Obj[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
        const waiting = statuses.find((s) => s.name === SIDECAR_NAME)?.state?.waiting;
        return waiting && PULL_FAILURES.includes(waiting.reason) ? [`${pod.metadata.name} ${waiting.reason}`] : [];
      });
      if (stuck.length === 0) return { ok: true, detail: `${pods.length} protected pod(s), none waiting for the sidecar image` };
      return {
        ok: false,
        detail: `the node cannot pull ${configOf(context.install).sidecarImage}: ${stuck.slice(0, 3).join(', ')}${stuck.length > 3 ? ` and ${stuck.length - 3} more` : ''}`,
      };
    },
  },
  {
    id: 'dry-run-injected',
    description: 'a protected pod gets the sidecar (server-side dry-run)',
    hint: (context, namespace) =>
      context.webhookReady === false
        ? `the webhook is not serving: fix "webhook pods ready" first (kubectl -n ${releaseNamespace(context)} get pods; ${logsCommand(releaseNamespace(context))})`
        : `the webhook's log line for the pod says why (${logsCommand(releaseNamespace(context))}); kubectl pando enable ${namespace}`,
    fatal: false,
    run: async (context, namespace) => {
      const answer = await context.kube.dryRunPod(namespace, PROBE_POD).catch((error) => ({ error }));
      if ('error' in answer) return { ok: false, detail: `refused: ${describeError(answer.error)}` };
      const injected = hasSidecar(answer.pod.spec ?? {});
      const warnings = answer.warnings.length > 0 ? `; API server warnings: ${answer.warnings.join(' | ')}` : '';
      return { ok: injected, detail: injected ? `injected${warnings}` : `the pod came back without pando-sidecar${warnings || ' and no warning'}` };
    },
  },
];

const PULL_SECRET_TYPES = ['kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg'];

/** The registry host of an image reference (Docker Hub when the first part is no host). */
export function registryOf(image: string): string {
  const first = image.split('/')[0];
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** A protected pod that passes Pod Security restricted, so a namespace that enforces it admits the probe too. */
const PROBE_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'pando-check-', labels: { 'pandocore.xyz/protect': 'true' } },
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

/**
 * The certificate the webhook serves, as it reports it, through the API server's Service proxy:
 * the path the API server's own calls take. Never read from the serving Secret, which holds the
 * private key: when the proxy cannot reach the pods, the check says why.
 */
async function servedCertificate(context: Context): Promise<{ certificate: string; source: string }> {
  const ns = releaseNamespace(context);
  const service = hooksOf(context)[0]?.clientConfig?.service;
  const source = `the certificate ${service?.name} serves`;
  try {
    const served = await context.kube.serviceProxyGet(service?.namespace ?? ns, `https:${service?.name}`, String(service?.port ?? 443), CERTIFICATE_PATH);
    return { certificate: typeof served.certificate === 'string' ? served.certificate : '', source };
  } catch (error) {
    return { certificate: '', source: `${source} (the Service proxy could not reach the webhook: ${describeError(error).slice(0, 240)})` };
  }
}

/** Every check's id, in the order they run. */
export const CHECK_IDS = [...INSTALL_CHECKS, ...NAMESPACE_CHECKS].map((check) => check.id);

/** The install's checks, then each enabled namespace's, in order; yielded lazily, as the namespaces are found by a check. */
function* plan(context: Context): Generator<[Check, string, string]> {
  const only = context.options.only;
  // The install is always read: the other checks work on what it found.
  const wanted = (check: Check) => !only || check.id === 'install-readable' || only.includes(check.id);
  for (const check of INSTALL_CHECKS.filter(wanted)) yield [check, 'webhook', ''];
  for (const namespace of context.namespaces) for (const check of NAMESPACE_CHECKS.filter(wanted)) yield [check, `namespace ${namespace}`, namespace];
}

export async function runChecks(kube: Kube, options: CheckOptions = {}): Promise<CheckResult[]> {
  const context: Context = {
    kube,
    options,
    install: { namespace: options.systemNamespace ?? DEFAULT_RELEASE_NAMESPACE },
    namespaces: options.namespace ? [options.namespace] : [],
  };
  const results: CheckResult[] = [];
  for (const [check, category, namespace] of plan(context)) {
    let verdict: Verdict;
    try {
      verdict = await check.run(context, namespace);
    } catch (error) {
      verdict = {
        ok: false,
        detail: `could not check: ${describeError(error)}`,
        fix: CREDENTIALS_FIX,
      };
    }
    const description = typeof check.description === 'string' ? check.description : check.description(context);
    const failure = verdict.ok ? {} : { fix: verdict.fix ?? check.hint(context, namespace), ...(check.fatal ? { fatal: true } : {}) };
    results.push({ id: check.id, category, check: description, ok: verdict.ok, detail: verdict.detail, ...failure });
    if (!verdict.ok && check.fatal) break;
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
    if (r.fatal) lines.push('         (the checks after it were not run: they need it)');
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push('', failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks failed`);
  return `${lines.join('\n')}\n`;
}
