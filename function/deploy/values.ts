// The install values: one zod schema with the seed's Helm names and defaults. Every setting the
// function reads from its environment is declared here with the very schema the function parses it
// with (config.ts ENV, built from settings.ts), so a value cannot mean two things in two places.
import { z } from 'zod';
import { ENV } from '../config';
import { ImageSchema, QuantitySchema, RenewBeforeDaysSchema } from '../settings';
import { version } from '../../package.json';

type EnvName = keyof typeof ENV;
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

const Resources = (cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string) => z.strictObject({
  requests: z.strictObject({ cpu: QuantitySchema.default(cpuRequest), memory: QuantitySchema.default(memoryRequest) }).prefault({}),
  limits: z.strictObject({ cpu: QuantitySchema.default(cpuLimit), memory: QuantitySchema.default(memoryLimit) }).prefault({}),
}).prefault({});

export const ROUTES = ['direct', 'knative-local-tls'] as const;
export const AUTOSCALERS = ['kpa', 'hpa'] as const;
const count = (min: number, max: number) => z.number().int().min(min).max(max);

export const ValuesSchema = z.strictObject({
  /** Only the per-namespace setup (--namespace-setup) uses it; the install never contains it. */
  licenseKey: z.string().min(1, 'must not be empty').optional(),
  defaultMode: field('PANDO_DEFAULT_MODE'),
  excludedNamespaces: field('PANDO_EXCLUDED_NAMESPACES'),
  namespace: field('PANDO_SYSTEM_NAMESPACE'),
  image: ImageSchema.default(`ghcr.io/pandocore/pando-webhook:${version}`),
  replicas: count(1, 50).default(2),
  maxReplicas: count(1, 100).default(6),
  autoscaling: z.strictObject({
    class: z.enum(AUTOSCALERS).default('kpa'),
    cpuTargetPercent: count(10, 95).default(70),
  }).prefault({}),
  resources: Resources('100m', '128Mi', '1', '256Mi'),
  webhook: z.strictObject({
    timeoutSeconds: count(1, 10).default(5),
    route: z.enum(ROUTES).default('direct'),
    /** namespace/name of the CA Secret of Knative's cluster-local issuer (route knative-local-tls). */
    knativeLocalCaSecret: z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be namespace/name').default('cert-manager/knative-selfsigned-ca'),
  }).prefault({}),
  tls: z.strictObject({
    certManager: z.boolean().default(false),
    renewBeforeDays: RenewBeforeDaysSchema.default(30),
    renewSchedule: z.string().regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron schedule').default('17 3 * * 1'),
  }).prefault({}),
  safetyNet: z.strictObject({ deny: z.boolean().default(false) }).prefault({}),
  podSecurity: z.strictObject({ enforce: z.enum(['baseline', 'restricted']).default('baseline') }).prefault({}),
  sidecar: z.strictObject({
    image: field('PANDO_SIDECAR_IMAGE'),
    serviceAccount: field('PANDO_SERVICE_ACCOUNT'),
    healthPort: field('PANDO_SIDECAR_HEALTH_PORT'),
    resources: z.strictObject({
      requests: z.strictObject({ cpu: field('PANDO_SIDECAR_CPU_REQUEST'), memory: field('PANDO_SIDECAR_MEMORY_REQUEST') }).prefault({}),
      limits: z.strictObject({ cpu: field('PANDO_SIDECAR_CPU_LIMIT'), memory: field('PANDO_SIDECAR_MEMORY_LIMIT') }).prefault({}),
    }).prefault({}),
    probe: z.strictObject({
      periodSeconds: field('PANDO_PROBE_PERIOD_SECONDS'),
      timeoutSeconds: field('PANDO_PROBE_TIMEOUT_SECONDS'),
      failureThreshold: field('PANDO_PROBE_FAILURE_THRESHOLD'),
    }).prefault({}),
  }).prefault({}),
  license: z.strictObject({
    secretName: field('PANDO_LICENSE_SECRET_NAME'),
    secretKey: field('PANDO_LICENSE_SECRET_KEY'),
  }).prefault({}),
}).superRefine((v, ctx) => {
  if (v.maxReplicas < v.replicas) ctx.addIssue({ code: 'custom', path: ['maxReplicas'], message: `must be at least replicas (${v.replicas})` });
  if (v.webhook.route === 'knative-local-tls' && v.tls.certManager) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'certManager'], message: 'applies to webhook.route=direct only (knative-local-tls uses the certificate Knative issues)' });
  }
});

export type Values = z.output<typeof ValuesSchema>;

export class ValuesError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid values:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ValuesError';
  }
}

/** Validates raw values (YAML, --set), reporting every problem at once. */
export function parseValues(raw: unknown): Values {
  const result = ValuesSchema.safeParse(coerceLike(DEFAULTS_SHAPE, raw));
  if (result.success) return result.data;
  throw new ValuesError(result.error.issues.map(describeIssue));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${issue.keys.map((k) => (path === '(top level)' ? k : `${path}.${k}`)).join(', ')}: unknown value (see manifests/values.yaml)`;
  }
  return `${path}: ${issue.message}`;
}

/** The defaults, as the schema gives them for empty input. */
export const DEFAULT_VALUES: Values = ValuesSchema.parse({});
const DEFAULTS_SHAPE: unknown = { ...DEFAULT_VALUES, licenseKey: '' };

/**
 * --set gives strings and YAML gives `cpu: 1` as a number: turn a scalar into the type of the
 * default at the same path (Helm users know this trap as --set-string). Anything else is left for
 * the schema to report.
 */
export function coerceLike(shape: unknown, raw: unknown): unknown {
  if (isPlainObject(shape) && isPlainObject(raw)) {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, k in shape ? coerceLike(shape[k], v) : v]));
  }
  if (Array.isArray(shape) && typeof raw === 'string') return raw === '' ? [] : raw.split(',').map((s) => s.trim());
  if (Array.isArray(shape) && Array.isArray(raw)) return raw.map((v) => (typeof v === 'number' ? String(v) : v));
  if (typeof shape === 'string' && (typeof raw === 'number' || typeof raw === 'boolean')) return String(raw);
  if (typeof shape === 'number' && typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) return Number(raw);
  if (typeof shape === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a dotted Helm value path such as "sidecar.resources.limits.cpu". */
export function valueAt(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), values);
}

/** The function's environment for these values: one entry per ENV variable, via its `value` path. */
export function envFromValues(values: Values): Record<EnvName, string> {
  const env = {} as Record<EnvName, string>;
  for (const [name, spec] of Object.entries(ENV) as [EnvName, (typeof ENV)[EnvName]][]) {
    const value = valueAt(values, spec.value);
    if (value === undefined) throw new Error(`ENV.${name}.value "${spec.value}" is not a value path`);
    env[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}
