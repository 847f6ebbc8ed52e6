// Test support: the Helm chart rendered by the real helm (built by npm run tools). Without the
// tools a local run says so in one line and skips; under CI (CI=true) that is a failure.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Test } from 'uvu';
import { skipSuite } from './skip';

export const ROOT = join(__dirname, '..', '..', '..');
export const CHART = join(ROOT, 'manifests', 'pando-webhook');
export type Obj = Record<string, any>;
export type Helm = 'helm' | 'helm3';

let found: string | null | undefined;

/** The tools directory, or undefined when npm run tools has not built them here. */
export function toolsDir(): string | undefined {
  if (found === undefined) {
    const run = spawnSync('bash', [join(ROOT, 'scripts', 'tools.sh'), '--print'], { encoding: 'utf8' });
    found = run.status === 0 ? (run.stdout.trim().split('\n').at(-1) ?? null) : null;
  }
  return found ?? undefined;
}

/** True when helm is there; otherwise `suite` gets a skipped entry saying why (or, under CI, fails). */
export function helmAvailable(suite: Test, what: string): boolean {
  if (toolsDir()) return true;
  skipSuite(suite, what, 'helm is not built here (npm run tools builds it)');
  return false;
}

export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], options: { helm?: Helm; input?: string } = {}): HelmRun {
  const dir = toolsDir();
  if (!dir) throw new Error('helm is not built: npm run tools');
  const run = spawnSync(join(dir, options.helm ?? 'helm'), args, {
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    // No user config or cache leaks in (repositories, plugins, registry logins).
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HELM_CONFIG_HOME: join(ROOT, 'build', '.helm'),
      HELM_CACHE_HOME: join(ROOT, 'build', '.helm'),
      HELM_DATA_HOME: join(ROOT, 'build', '.helm'),
    },
  });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

export const RELEASE = { name: 'pando-webhook', namespace: 'pando-system' };

export interface TemplateOptions {
  helm?: Helm;
  namespace?: string;
  kubeVersion?: string;
  /** With the helm test hooks (templates/tests/); without them, what an install creates. */
  tests?: boolean;
}

/**
 * helm template of the chart with these values (a values file on stdin), for the API server the
 * e2e suite runs (Helm 3 would otherwise assume v1.20, below the chart's kubeVersion floor).
 */
export function template(values: Obj, options: TemplateOptions = {}): HelmRun {
  return helm(
    [
      'template',
      RELEASE.name,
      CHART,
      '--namespace',
      options.namespace ?? RELEASE.namespace,
      '--kube-version',
      options.kubeVersion ?? '1.37.2',
      ...(options.tests ? [] : ['--skip-tests']),
      '-f',
      '-',
    ],
    {
      helm: options.helm,
      input: JSON.stringify(values),
    },
  );
}

export function render(values: Obj, options: TemplateOptions = {}): Obj[] {
  const run = template(values, options);
  if (run.code !== 0) throw new Error(`helm template failed: ${run.stderr}`);
  return parseAllDocuments(run.stdout)
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === 'object');
}

/** A license for renders that need one. */
export const LICENSE = { licenseKey: 'test-license' };

/** The value sets every chart test renders: the defaults and one per value changed. */
export const VARIANTS: Record<string, Obj> = {
  default: {},
  'tls.certManager=true': { tls: { certManager: true } },
  'safetyNet.deny=true': { safetyNet: { deny: true } },
  'replicas=3': { replicas: 3, maxReplicas: 9 },
  excludedNamespaces: { excludedNamespaces: ['kube-system', 'monitoring'] },
  'defaultMode=enforce': { defaultMode: 'enforce' },
  'sidecar.image': { sidecar: { image: 'registry.example/pando-sidecar:2.0.0' } },
  'sidecar.native=false': { sidecar: { native: false } },
  'webhook.route=knative-local-tls': { webhook: { route: 'knative-local-tls' } },
  'autoscaling.class=hpa': { autoscaling: { class: 'hpa' } },
  'namespace.create=true': { namespace: { create: true }, podSecurity: { enforce: 'restricted' } },
  'platform=deployment': { platform: 'deployment' },
  'platform=deployment,tls.certManager=true': { platform: 'deployment', tls: { certManager: true } },
  'platform=openfaas': { platform: 'openfaas', openfaas: { adminOnlyNamespace: true } },
  'networkPolicy.enabled=false': { networkPolicy: { enabled: false } },
  'namespaces=[team-a,team-b]': { namespaces: ['team-a', 'team-b'] },
  'webhook.scope=all': { webhook: { scope: 'all' }, namespaces: ['team-a'] },
  'webhook.skipInjected=false': { webhook: { skipInjected: false }, namespaces: ['team-a'] },
  'license.create=false': { license: { create: false }, licenseKey: '' },
};
