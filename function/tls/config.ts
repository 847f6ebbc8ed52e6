// The TLS setup job's settings, from env (names shared with the rendered Job manifest).
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { ConfigError } from '../config';
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from '../names';
import { NamespaceSchema, ObjectNameSchema, RenewBeforeDaysSchema } from '../schemas';

/** The DNS names a Service is reached by inside the cluster (the API server uses the first). */
export const serviceDnsNames = (service: string, namespace: string) => [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const SetupEnvSchema = z.object({
  PANDO_NAMESPACE: NamespaceSchema.default(DEFAULT_RELEASE_NAMESPACE),
  PANDO_SERVICE_NAME: NamespaceSchema.default(OBJECT_NAMES.httpsService), // a Service name is a DNS label too
  PANDO_TLS_SECRET: ObjectNameSchema.default(OBJECT_NAMES.servingSecret),
  PANDO_CA_SECRET: ObjectNameSchema.default(OBJECT_NAMES.caSecret),
  PANDO_WEBHOOK_CONFIGURATION: ObjectNameSchema.default(OBJECT_NAMES.webhook),
  PANDO_RENEW_BEFORE_DAYS: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(RenewBeforeDaysSchema).default(30),
  KUBERNETES_SERVICE_HOST: z.string({ error: 'must be set: Kubernetes sets it in every pod' }).min(1, 'must not be empty'),
  KUBERNETES_SERVICE_PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number')
    .default('443'),
  PANDO_KUBE_TOKEN_FILE: z.string().min(1).default(`${SERVICE_ACCOUNT_DIR}/token`),
  PANDO_KUBE_CA_FILE: z.string().min(1).default(`${SERVICE_ACCOUNT_DIR}/ca.crt`),
});

export interface SetupConfig {
  readonly namespace: string;
  readonly serviceName: string;
  readonly dnsNames: string[];
  readonly tlsSecret: string;
  readonly caSecret: string;
  readonly webhookConfiguration: string;
  readonly renewBeforeDays: number;
  readonly apiUrl: string;
  readonly tokenFile: string;
  readonly caFile: string;
}

export function loadSetupConfig(env: Record<string, string | undefined>): SetupConfig {
  const result = SetupEnvSchema.safeParse(env);
  if (!result.success) {
    const shown = (name: string) => (env[name] === undefined ? `${name} (unset)` : `${name}=${JSON.stringify(env[name])}`);
    throw new ConfigError(result.error.issues.map((i) => `${shown(String(i.path[0]))}: ${i.message}`));
  }
  const v = result.data;
  const host = v.KUBERNETES_SERVICE_HOST.includes(':') ? `[${v.KUBERNETES_SERVICE_HOST}]` : v.KUBERNETES_SERVICE_HOST;
  return Object.freeze({
    namespace: v.PANDO_NAMESPACE,
    serviceName: v.PANDO_SERVICE_NAME,
    dnsNames: serviceDnsNames(v.PANDO_SERVICE_NAME, v.PANDO_NAMESPACE),
    tlsSecret: v.PANDO_TLS_SECRET,
    caSecret: v.PANDO_CA_SECRET,
    webhookConfiguration: v.PANDO_WEBHOOK_CONFIGURATION,
    renewBeforeDays: v.PANDO_RENEW_BEFORE_DAYS,
    apiUrl: `https://${host}:${v.KUBERNETES_SERVICE_PORT}`,
    tokenFile: v.PANDO_KUBE_TOKEN_FILE,
    caFile: v.PANDO_KUBE_CA_FILE,
  });
}

/** The service account's token and the cluster CA, read once per run. */
export function readServiceAccount(config: SetupConfig) {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the ${what} at ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  };
  return { token: read(config.tokenFile, 'service account token').trim(), ca: read(config.caFile, 'cluster CA') };
}
