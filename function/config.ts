// The function's configuration: environment variables parsed once, at start, into a frozen object.
// Every bad variable is reported in one ConfigError; the process never starts half-configured.
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from './names';
import * as z from 'zod';
import { ImageSchema, Mode, ModeSchema, NamespaceListSchema, NamespaceSchema, ObjectNameSchema, PortSchema, QuantitySchema, SecretKeySchema } from './schemas';

/** A whole number given as an environment string. */
export const intFrom = (schema: z.ZodNumber) => z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(schema);

const listFrom = (schema: typeof NamespaceListSchema | typeof ObjectNameListSchema) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .pipe(schema);

const ObjectNameListSchema = z.array(ObjectNameSchema);

const booleanFrom = z.enum(['true', 'false'], 'must be true or false').transform((s) => s === 'true');

/** The defaults, as the original install documents them. */
const DEFAULTS = {
  defaultMode: 'monitor' as Mode,
  excludedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
  systemNamespace: DEFAULT_RELEASE_NAMESPACE,
  sidecarImage: 'ghcr.io/pandocore/pando-sidecar:1.0.0',
  nativeSidecar: false,
  serviceAccount: OBJECT_NAMES.sidecarServiceAccount,
  licenseSecretName: OBJECT_NAMES.licenseSecret,
  licenseSecretKey: 'license-key',
  resources: { cpuRequest: '50m', memoryRequest: '64Mi', cpuLimit: '200m', memoryLimit: '128Mi' },
  healthPort: 9901,
  // Not 65532 (distroless "nonroot", what many apps run as) nor another common app UID: with
  // shareProcessNamespace, a process of the same UID could read the sidecar's environment (the
  // license key) in /proc and signal it.
  sidecarUid: 42311,
  probePeriodSeconds: 10,
  probeTimeoutSeconds: 2,
  probeFailureThreshold: 3,
};

/** Each variable, its schema, its default and what it means (the README's table says the same;
 * the chart value each comes from is in scripts/chart-values.ts). */
export const ENV = {
  PANDO_DEFAULT_MODE: {
    schema: ModeSchema,
    default: DEFAULTS.defaultMode,
    help: 'mode when the pod has no valid pandocore.xyz/mode annotation: monitor, enforce or debug',
  },
  PANDO_EXCLUDED_NAMESPACES: {
    schema: listFrom(NamespaceListSchema),
    default: DEFAULTS.excludedNamespaces.join(','),
    help: 'comma-separated namespaces never injected',
  },
  PANDO_SIDECAR_IMAGE: { schema: ImageSchema, default: DEFAULTS.sidecarImage, help: 'image of the pando-sidecar container' },
  PANDO_SIDECAR_NATIVE: {
    schema: booleanFrom,
    default: String(DEFAULTS.nativeSidecar),
    help: 'true: inject a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+); false: a regular container',
  },
  PANDO_SYSTEM_NAMESPACE: {
    schema: NamespaceSchema,
    default: DEFAULTS.systemNamespace,
    help: "the webhook's own namespace, always excluded (the chart sets the release namespace)",
  },
  PANDO_SERVICE_ACCOUNT: { schema: ObjectNameSchema, default: DEFAULTS.serviceAccount, help: 'service account given to pods that use "default"' },
  PANDO_LICENSE_SECRET_NAME: {
    schema: ObjectNameSchema,
    default: DEFAULTS.licenseSecretName,
    help: 'Secret holding the license key, in each protected namespace',
  },
  PANDO_LICENSE_SECRET_KEY: { schema: SecretKeySchema, default: DEFAULTS.licenseSecretKey, help: 'key of the license in that Secret' },
  PANDO_SIDECAR_CPU_REQUEST: { schema: QuantitySchema, default: DEFAULTS.resources.cpuRequest, help: 'sidecar CPU request' },
  PANDO_SIDECAR_MEMORY_REQUEST: { schema: QuantitySchema, default: DEFAULTS.resources.memoryRequest, help: 'sidecar memory request' },
  PANDO_SIDECAR_CPU_LIMIT: { schema: QuantitySchema, default: DEFAULTS.resources.cpuLimit, help: 'sidecar CPU limit' },
  PANDO_SIDECAR_MEMORY_LIMIT: { schema: QuantitySchema, default: DEFAULTS.resources.memoryLimit, help: 'sidecar memory limit' },
  PANDO_SIDECAR_IMAGE_PULL_SECRETS: {
    schema: listFrom(ObjectNameListSchema),
    default: '',
    help: "comma-separated Secrets added to the pod's imagePullSecrets (when missing) so the node can pull the sidecar image",
  },
  PANDO_SIDECAR_RESOURCE_OVERRIDES: {
    schema: booleanFrom,
    default: 'true',
    help: 'true: pods may size the sidecar with the pandocore.xyz/sidecar-{cpu,memory}-{request,limit} annotations; false: ignored, with a warning',
  },
  PANDO_SIDECAR_HEALTH_PORT: { schema: intFrom(PortSchema), default: String(DEFAULTS.healthPort), help: "port of the sidecar's /healthz and /readyz" },
  PANDO_SIDECAR_UID: {
    schema: intFrom(z.number().int().min(1).max(2147483647)),
    default: String(DEFAULTS.sidecarUid),
    help: "UID and GID the sidecar runs as, 1-2147483647: one no app container uses, or the app could read the sidecar's license key with shareProcessNamespace",
  },
  PANDO_PROBE_PERIOD_SECONDS: { schema: intFrom(z.number().int().min(1).max(300)), default: String(DEFAULTS.probePeriodSeconds), help: 'probe period, 1-300' },
  PANDO_PROBE_TIMEOUT_SECONDS: { schema: intFrom(z.number().int().min(1).max(60)), default: String(DEFAULTS.probeTimeoutSeconds), help: 'probe timeout, 1-60' },
  PANDO_PROBE_FAILURE_THRESHOLD: {
    schema: intFrom(z.number().int().min(1).max(30)),
    default: String(DEFAULTS.probeFailureThreshold),
    help: 'failures before restart, 1-30',
  },
} as const;

type EnvName = keyof typeof ENV;
type Parsed<K extends EnvName> = z.output<(typeof ENV)[K]['schema']>;

export interface Config {
  readonly defaultMode: Parsed<'PANDO_DEFAULT_MODE'>;
  readonly excludedNamespaces: ReadonlySet<string>;
  readonly systemNamespace: string;
  readonly sidecarImage: string;
  /** Inject the sidecar as a native sidecar (init container, restartPolicy Always). */
  readonly nativeSidecar: boolean;
  readonly serviceAccount: string;
  readonly licenseSecret: { readonly name: string; readonly key: string };
  readonly resources: { readonly cpuRequest: string; readonly memoryRequest: string; readonly cpuLimit: string; readonly memoryLimit: string };
  /** Pull secrets of the sidecar image, added to the pod's imagePullSecrets. */
  readonly imagePullSecrets: readonly string[];
  /** Whether the pod's sidecar resource annotations are honoured. */
  readonly resourceOverrides: boolean;
  readonly probe: { readonly port: number; readonly periodSeconds: number; readonly timeoutSeconds: number; readonly failureThreshold: number };
  /** runAsUser and runAsGroup of the sidecar. */
  readonly sidecarUid: number;
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
    nativeSidecar: v.PANDO_SIDECAR_NATIVE,
    serviceAccount: v.PANDO_SERVICE_ACCOUNT,
    licenseSecret: { name: v.PANDO_LICENSE_SECRET_NAME, key: v.PANDO_LICENSE_SECRET_KEY },
    resources: {
      cpuRequest: v.PANDO_SIDECAR_CPU_REQUEST,
      memoryRequest: v.PANDO_SIDECAR_MEMORY_REQUEST,
      cpuLimit: v.PANDO_SIDECAR_CPU_LIMIT,
      memoryLimit: v.PANDO_SIDECAR_MEMORY_LIMIT,
    },
    resourceOverrides: v.PANDO_SIDECAR_RESOURCE_OVERRIDES,
    imagePullSecrets: v.PANDO_SIDECAR_IMAGE_PULL_SECRETS,
    probe: {
      port: v.PANDO_SIDECAR_HEALTH_PORT,
      periodSeconds: v.PANDO_PROBE_PERIOD_SECONDS,
      timeoutSeconds: v.PANDO_PROBE_TIMEOUT_SECONDS,
      failureThreshold: v.PANDO_PROBE_FAILURE_THRESHOLD,
    },
    sidecarUid: v.PANDO_SIDECAR_UID,
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
