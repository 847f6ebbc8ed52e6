// The install values: one zod schema with the seed's Helm names and defaults. Every setting the
// function reads from its environment is declared here with the very schema the function parses it
// with (config.ts ENV, built from function/schemas.ts), so a value cannot mean two things in two places.
import * as z from 'zod';
import { ENV } from '../function/config';
import { isObject } from '../function/pod';
import { DNS_SUBDOMAIN, ImageSchema, NamespaceSchema, QuantitySchema, RenewBeforeDaysSchema } from '../function/schemas';
import { version } from '../package.json';

type EnvName = keyof typeof ENV;

/** The chart value each of the function's variables comes from (templates/_helpers.tpl,
 * pando.env); PANDO_SYSTEM_NAMESPACE is the release namespace. */
export const VALUE_OF_ENV: Record<EnvName, string | null> = {
  PANDO_DEFAULT_MODE: 'defaultMode',
  PANDO_EXCLUDED_NAMESPACES: 'excludedNamespaces',
  PANDO_SIDECAR_IMAGE: 'sidecar.image',
  PANDO_SIDECAR_NATIVE: 'sidecar.native',
  PANDO_SYSTEM_NAMESPACE: null,
  PANDO_SERVICE_ACCOUNT: 'sidecar.serviceAccount',
  PANDO_LICENSE_SECRET_NAME: 'license.secretName',
  PANDO_LICENSE_SECRET_KEY: 'license.secretKey',
  PANDO_SIDECAR_CPU_REQUEST: 'sidecar.resources.requests.cpu',
  PANDO_SIDECAR_MEMORY_REQUEST: 'sidecar.resources.requests.memory',
  PANDO_SIDECAR_CPU_LIMIT: 'sidecar.resources.limits.cpu',
  PANDO_SIDECAR_MEMORY_LIMIT: 'sidecar.resources.limits.memory',
  PANDO_SIDECAR_HEALTH_PORT: 'sidecar.healthPort',
  PANDO_SIDECAR_UID: 'sidecar.uid',
  PANDO_SIDECAR_RESOURCE_OVERRIDES: 'sidecar.resourceOverrides',
  PANDO_SIDECAR_IMAGE_PULL_SECRETS: 'sidecar.imagePullSecrets',
  PANDO_PROBE_PERIOD_SECONDS: 'sidecar.probe.periodSeconds',
  PANDO_PROBE_TIMEOUT_SECONDS: 'sidecar.probe.timeoutSeconds',
  PANDO_PROBE_FAILURE_THRESHOLD: 'sidecar.probe.failureThreshold',
};
/** Values whose default is decided at install time, not the function's default. */
export const INSTALL_TIME_DEFAULTS: Partial<Record<EnvName, unknown>> = { PANDO_SIDECAR_NATIVE: 'auto' };

type FieldOf<S> = S extends z.ZodPipe<z.ZodType, infer Out> ? Out : S;

/** The function's own schema for a variable, without the string decoding (YAML gives typed values). */
function envField<K extends EnvName>(name: K): FieldOf<(typeof ENV)[K]['schema']> {
  const schema = ENV[name].schema as z.ZodType;
  return (schema instanceof z.ZodPipe ? schema.out : schema) as FieldOf<(typeof ENV)[K]['schema']>;
}

type FieldOutput<K extends EnvName> = z.output<FieldOf<(typeof ENV)[K]['schema']>>;

/** A value that maps to a variable: its schema and its default are the function's own. */
function field<K extends EnvName>(name: K) {
  const fallback = (ENV[name].schema as z.ZodType).parse(ENV[name].default) as FieldOutput<K>;
  return (envField(name) as unknown as z.ZodType<FieldOutput<K>>).default(fallback as never);
}

const Resources = (cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string) =>
  z
    .strictObject({
      requests: z.strictObject({ cpu: QuantitySchema.default(cpuRequest), memory: QuantitySchema.default(memoryRequest) }).prefault({}),
      limits: z.strictObject({ cpu: QuantitySchema.default(cpuLimit), memory: QuantitySchema.default(memoryLimit) }).prefault({}),
    })
    .prefault({});

export const ROUTES = ['direct', 'knative-local-tls'] as const;
export const AUTOSCALERS = ['kpa', 'hpa'] as const;
export const PLATFORMS = ['knative', 'deployment', 'openfaas'] as const;
/** A Prometheus duration such as 30s or 1m. */
const DURATION = z.string().regex(/^[0-9]+(ms|s|m|h)$/, 'must be a Prometheus duration such as "30s"');
const count = (min: number, max: number) => z.number().int().min(min).max(max);
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

/**
 * The chart's values (manifests/pando-webhook/values.yaml), the seed's names first. The chart's
 * values.schema.json is generated from this schema (valuesJsonSchema), and every setting that
 * reaches the function uses the very schema the function parses its variable with.
 */
export const ValuesSchema = z
  .strictObject({
    licenseKey: z.string().default(''),
    defaultMode: field('PANDO_DEFAULT_MODE'),
    excludedNamespaces: field('PANDO_EXCLUDED_NAMESPACES'),
    sidecar: z
      .strictObject({
        image: field('PANDO_SIDECAR_IMAGE'),
        native: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        serviceAccount: field('PANDO_SERVICE_ACCOUNT'),
        healthPort: field('PANDO_SIDECAR_HEALTH_PORT'),
        uid: field('PANDO_SIDECAR_UID'),
        resourceOverrides: z.boolean().default(true),
        imagePullSecrets: field('PANDO_SIDECAR_IMAGE_PULL_SECRETS'),
        resources: z
          .strictObject({
            requests: z.strictObject({ cpu: field('PANDO_SIDECAR_CPU_REQUEST'), memory: field('PANDO_SIDECAR_MEMORY_REQUEST') }).prefault({}),
            limits: z.strictObject({ cpu: field('PANDO_SIDECAR_CPU_LIMIT'), memory: field('PANDO_SIDECAR_MEMORY_LIMIT') }).prefault({}),
          })
          .prefault({}),
        probe: z
          .strictObject({
            periodSeconds: field('PANDO_PROBE_PERIOD_SECONDS'),
            timeoutSeconds: field('PANDO_PROBE_TIMEOUT_SECONDS'),
            failureThreshold: field('PANDO_PROBE_FAILURE_THRESHOLD'),
          })
          .prefault({}),
      })
      .prefault({}),
    replicas: count(1, 50).default(2),
    tls: z
      .strictObject({
        certManager: z.boolean().default(false),
        renewBeforeDays: RenewBeforeDaysSchema.default(30),
        renewSchedule: z
          .string()
          .regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron schedule')
          .default('17 3 * * 1'),
        // 0: the finished setup Job is kept (GitOps tools would otherwise see it missing).
        setupJobTtlSeconds: z.number().int().min(0).max(31_536_000).default(86_400),
      })
      .prefault({}),
    platform: z.enum(PLATFORMS).default('knative'),
    namespaces: z.array(NamespaceSchema).default([]),
    image: ImageSchema.default(`ghcr.io/pandocore/pando-webhook:${version}`),
    maxReplicas: count(1, 100).default(6),
    autoscaling: z
      .strictObject({
        class: z.enum(AUTOSCALERS).default('kpa'),
        cpuTargetPercent: count(10, 95).default(70),
      })
      .prefault({}),
    resources: Resources('100m', '128Mi', '1', '256Mi'),
    webhook: z
      .strictObject({
        timeoutSeconds: count(1, 10).default(5),
        scope: z.enum(['enabled', 'all']).default('enabled'),
        route: z.enum(ROUTES).default('direct'),
        skipInjected: z.boolean().default(true),
        knativeLocalCaSecret: z
          .string()
          .regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be namespace/name')
          .default('cert-manager/knative-selfsigned-ca'),
      })
      .prefault({}),
    license: z
      .strictObject({
        create: z.boolean().default(true),
        secretName: field('PANDO_LICENSE_SECRET_NAME'),
        secretKey: field('PANDO_LICENSE_SECRET_KEY'),
      })
      .prefault({}),
    safetyNet: z.strictObject({ deny: z.boolean().default(false) }).prefault({}),
    namespace: z.strictObject({ create: z.boolean().default(false) }).prefault({}),
    metrics: z
      .strictObject({
        scrapeAnnotations: z.boolean().default(true),
        scrapeNamespaces: z.array(NamespaceSchema).default([]),
        serviceMonitor: z.strictObject({ enabled: z.boolean().default(false), interval: DURATION.default('30s') }).prefault({}),
        podMonitor: z.strictObject({ enabled: z.boolean().default(false), interval: DURATION.default('30s') }).prefault({}),
        dashboard: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
        prometheusRule: z
          .strictObject({
            enabled: z.boolean().default(false),
            labels: z.record(z.string(), z.string()).default({}),
            certificateExpiryDays: z.number().int().min(1).max(365).default(14),
          })
          .prefault({}),
      })
      .prefault({}),
    priorityClassName: z.union([z.literal(''), z.string().regex(DNS_SUBDOMAIN, 'must be a PriorityClass name such as "system-cluster-critical"')]).default(''),
    podSecurity: z.strictObject({ enforce: z.enum(['baseline', 'restricted']).default('restricted') }).prefault({}),
    networkPolicy: z
      .strictObject({
        enabled: z.boolean().default(true),
        apiServerCidrs: z.array(z.string().regex(CIDR, 'must be an IPv4 or IPv6 CIDR such as 10.0.0.0/24')).default([]),
        knativeNamespaces: z.array(NamespaceSchema).default(['knative-serving', 'kourier-system', 'istio-system']),
      })
      .prefault({}),
    openfaas: z.strictObject({ adminOnlyNamespace: z.boolean().default(false) }).prefault({}),
  })
  .superRefine((v, ctx) => {
    // The chart's templates fail with the same sentences (templates/_helpers.tpl, pando.validate).
    if (v.maxReplicas < v.replicas) ctx.addIssue({ code: 'custom', path: ['maxReplicas'], message: `must be at least replicas (${v.replicas})` });
    if (v.platform === 'openfaas' && v.priorityClassName !== '') {
      ctx.addIssue({
        code: 'custom',
        path: ['priorityClassName'],
        message: 'an OpenFaaS Function has no such field; set it on the platform=deployment or knative installs',
      });
    }
    if (v.platform === 'openfaas' && !v.openfaas.adminOnlyNamespace) {
      ctx.addIssue({
        code: 'custom',
        path: ['openfaas', 'adminOnlyNamespace'],
        message: 'must be true with platform=openfaas: only cluster admins may deploy functions into the release namespace (docs/deploy.md)',
      });
    }
    if (v.webhook.route === 'knative-local-tls' && v.tls.certManager) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'certManager'],
        message: 'applies to webhook.route=direct only (knative-local-tls uses the certificate Knative issues)',
      });
    }
  });

/**
 * values.schema.json for the chart: JSON Schema draft 7 (Helm 3 and 4 both read it), the input
 * side of the schema (defaults make a value optional), unknown keys refused. The licenseKey rule
 * is the one refinement JSON Schema can state, so it is added here by hand.
 */
export function valuesJsonSchema(): Record<string, unknown> {
  const schema: Record<string, unknown> = { ...z.toJSONSchema(ValuesSchema, { target: 'draft-7', io: 'input' }) };
  delete schema.$schema;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pando-webhook values',
    ...schema,
    if: { properties: { license: { properties: { create: { const: false } }, required: ['create'] } }, required: ['license'] },
    else: { properties: { licenseKey: { minLength: 1 } }, required: ['licenseKey'] },
  };
}

export type Values = z.output<typeof ValuesSchema>;

export class ValuesError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid values:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ValuesError';
  }
}

/** Validates raw values (YAML, --set), reporting every problem at once, as the chart's schema does. */
export function parseValues(raw: unknown): Values {
  const result = ValuesSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map(describeIssue);
  if (result.success && result.data.license.create && result.data.licenseKey === '') {
    problems.push('licenseKey: is required (--set licenseKey=YOUR_LICENSE_KEY), unless license.create is false');
  }
  if (problems.length || !result.success) throw new ValuesError(problems);
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${issue.keys.map((k) => (path === '(top level)' ? k : `${path}.${k}`)).join(', ')}: unknown value (see manifests/pando-webhook/values.yaml)`;
  }
  return `${path}: ${issue.message}`;
}

/** The defaults, as the schema gives them for empty input. */
export const DEFAULT_VALUES: Values = ValuesSchema.parse({});

/** Reads a dotted Helm value path such as "sidecar.resources.limits.cpu". */
export function valueAt(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), values);
}
