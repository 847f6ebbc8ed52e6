// The function's configuration: environment variables parsed once, at start, into a frozen object.
// Every bad variable is reported in one ConfigError; the process never starts half-configured.
import { z } from 'zod';
import {
  DEFAULTS, ImageSchema, ModeSchema, NamespaceListSchema, NamespaceSchema, ObjectNameSchema,
  PortSchema, QuantitySchema, SecretKeySchema,
} from './settings';

const intFrom = (schema: z.ZodNumber) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(schema);

const listFrom = (schema: typeof NamespaceListSchema) =>
  z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== '')).pipe(schema);

/** Each variable, its schema, its default and what it means (the README's table says the same). */
export const ENV = {
  PANDO_DEFAULT_MODE: { schema: ModeSchema, default: DEFAULTS.defaultMode, value: 'defaultMode', help: 'mode when the pod has no valid pandocore.xyz/mode annotation: monitor, enforce or debug' },
  PANDO_EXCLUDED_NAMESPACES: { schema: listFrom(NamespaceListSchema), default: DEFAULTS.excludedNamespaces.join(','), value: 'excludedNamespaces', help: 'comma-separated namespaces never injected' },
  PANDO_SIDECAR_IMAGE: { schema: ImageSchema, default: DEFAULTS.sidecarImage, value: 'sidecar.image', help: 'image of the pando-sidecar container' },
  PANDO_SYSTEM_NAMESPACE: { schema: NamespaceSchema, default: DEFAULTS.systemNamespace, value: null, help: "the webhook's own namespace, always excluded (the chart sets the release namespace)" },
  PANDO_SERVICE_ACCOUNT: { schema: ObjectNameSchema, default: DEFAULTS.serviceAccount, value: 'sidecar.serviceAccount', help: 'service account given to pods that use "default"' },
  PANDO_LICENSE_SECRET_NAME: { schema: ObjectNameSchema, default: DEFAULTS.licenseSecretName, value: 'license.secretName', help: 'Secret holding the license key, in each protected namespace' },
  PANDO_LICENSE_SECRET_KEY: { schema: SecretKeySchema, default: DEFAULTS.licenseSecretKey, value: 'license.secretKey', help: 'key of the license in that Secret' },
  PANDO_SIDECAR_CPU_REQUEST: { schema: QuantitySchema, default: DEFAULTS.resources.cpuRequest, value: 'sidecar.resources.requests.cpu', help: 'sidecar CPU request' },
  PANDO_SIDECAR_MEMORY_REQUEST: { schema: QuantitySchema, default: DEFAULTS.resources.memoryRequest, value: 'sidecar.resources.requests.memory', help: 'sidecar memory request' },
  PANDO_SIDECAR_CPU_LIMIT: { schema: QuantitySchema, default: DEFAULTS.resources.cpuLimit, value: 'sidecar.resources.limits.cpu', help: 'sidecar CPU limit' },
  PANDO_SIDECAR_MEMORY_LIMIT: { schema: QuantitySchema, default: DEFAULTS.resources.memoryLimit, value: 'sidecar.resources.limits.memory', help: 'sidecar memory limit' },
  PANDO_SIDECAR_HEALTH_PORT: { schema: intFrom(PortSchema), default: String(DEFAULTS.healthPort), value: 'sidecar.healthPort', help: "port of the sidecar's /healthz and /readyz" },
  PANDO_PROBE_PERIOD_SECONDS: { schema: intFrom(z.number().int().min(1).max(300)), default: String(DEFAULTS.probePeriodSeconds), value: 'sidecar.probe.periodSeconds', help: 'probe period, 1-300' },
  PANDO_PROBE_TIMEOUT_SECONDS: { schema: intFrom(z.number().int().min(1).max(60)), default: String(DEFAULTS.probeTimeoutSeconds), value: 'sidecar.probe.timeoutSeconds', help: 'probe timeout, 1-60' },
  PANDO_PROBE_FAILURE_THRESHOLD: { schema: intFrom(z.number().int().min(1).max(30)), default: String(DEFAULTS.probeFailureThreshold), value: 'sidecar.probe.failureThreshold', help: 'failures before restart, 1-30' },
} as const;

type EnvName = keyof typeof ENV;
type Parsed<K extends EnvName> = z.output<(typeof ENV)[K]['schema']>;

export interface Config {
  readonly defaultMode: Parsed<'PANDO_DEFAULT_MODE'>;
  readonly excludedNamespaces: ReadonlySet<string>;
  readonly systemNamespace: string;
  readonly sidecarImage: string;
  readonly serviceAccount: string;
  readonly licenseSecret: { readonly name: string; readonly key: string };
  readonly resources: { readonly cpuRequest: string; readonly memoryRequest: string; readonly cpuLimit: string; readonly memoryLimit: string };
  readonly probe: { readonly port: number; readonly periodSeconds: number; readonly timeoutSeconds: number; readonly failureThreshold: number };
  /** Recorded in the pod's status annotation; set by the caller, not by env. */
  readonly webhookVersion: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration, the function will not start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment passed in (never process.env directly), reporting every bad variable. */
export function loadConfig(env: Record<string, string | undefined>, webhookVersion = '0.0.0'): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV)) {
    const raw = env[name] ?? spec.default;
    const result = (spec.schema as z.ZodType).safeParse(raw);
    if (result.success) out[name] = result.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')} (${spec.help})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const v = out as { [K in EnvName]: Parsed<K> };
  return deepFreeze({
    defaultMode: v.PANDO_DEFAULT_MODE,
    excludedNamespaces: new Set(v.PANDO_EXCLUDED_NAMESPACES),
    systemNamespace: v.PANDO_SYSTEM_NAMESPACE,
    sidecarImage: v.PANDO_SIDECAR_IMAGE,
    serviceAccount: v.PANDO_SERVICE_ACCOUNT,
    licenseSecret: { name: v.PANDO_LICENSE_SECRET_NAME, key: v.PANDO_LICENSE_SECRET_KEY },
    resources: {
      cpuRequest: v.PANDO_SIDECAR_CPU_REQUEST, memoryRequest: v.PANDO_SIDECAR_MEMORY_REQUEST,
      cpuLimit: v.PANDO_SIDECAR_CPU_LIMIT, memoryLimit: v.PANDO_SIDECAR_MEMORY_LIMIT,
    },
    probe: {
      port: v.PANDO_SIDECAR_HEALTH_PORT, periodSeconds: v.PANDO_PROBE_PERIOD_SECONDS,
      timeoutSeconds: v.PANDO_PROBE_TIMEOUT_SECONDS, failureThreshold: v.PANDO_PROBE_FAILURE_THRESHOLD,
    },
    webhookVersion,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Set)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Settings of the server around the function (server.ts), separate from what the core reads. */
const ServerEnvSchema = z.object({
  PORT: intFrom(z.number().int().min(0).max(65535)).default(8080),
  PANDO_TLS_PORT: intFrom(z.number().int().min(0).max(65535)).default(8443),
  PANDO_TLS_CERT_FILE: z.string().min(1).optional(),
  PANDO_TLS_KEY_FILE: z.string().min(1).optional(),
  PANDO_DRAIN_TIMEOUT_SECONDS: intFrom(z.number().int().min(1).max(300)).default(25),
}).refine((v) => !v.PANDO_TLS_CERT_FILE === !v.PANDO_TLS_KEY_FILE, {
  message: 'PANDO_TLS_CERT_FILE and PANDO_TLS_KEY_FILE must be set together (HTTPS) or not at all (HTTP only)',
});

export interface ServerConfig {
  readonly port: number;
  readonly tls?: { readonly port: number; readonly certFile: string; readonly keyFile: string };
  readonly drainTimeoutMs: number;
}

export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const result = ServerEnvSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || 'TLS'}: ${i.message}`));
  }
  const v = result.data;
  return Object.freeze({
    port: v.PORT,
    tls: v.PANDO_TLS_CERT_FILE && v.PANDO_TLS_KEY_FILE
      ? Object.freeze({ port: v.PANDO_TLS_PORT, certFile: v.PANDO_TLS_CERT_FILE, keyFile: v.PANDO_TLS_KEY_FILE })
      : undefined,
    drainTimeoutMs: v.PANDO_DRAIN_TIMEOUT_SECONDS * 1000,
  });
}
