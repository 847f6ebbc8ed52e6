// The settings of the host around the function (server.ts, main.ts): ports, TLS files, the
// drain, and the limits that keep one caller from exhausting the pod. Separate from config.ts,
// which holds only what the function itself reads.
import * as z from 'zod';
import { ConfigError, intFrom } from '../config';

/** The defaults of the edge's limits (docs/security.md says what each protects). */
export const EDGE_LIMITS = {
  /** Open connections per listener; more are closed at once. The API server opens one per concurrent call. */
  maxConnections: 256,
  /** Request bodies buffered at once, all connections together: 16 of the largest (3 MiB) bodies. */
  bodyBudgetBytes: 48 * 1024 * 1024,
  /** The API server waits at most 10 s (timeoutSeconds); a request still unfinished after 12 s has no caller left. */
  requestTimeoutSeconds: 12,
};

const ServerEnvSchema = z
  .object({
    PORT: intFrom(z.number().int().min(0).max(65535)).default(8080),
    PANDO_TLS_PORT: intFrom(z.number().int().min(0).max(65535)).default(8443),
    PANDO_TLS_CERT_FILE: z.string().min(1).optional(),
    PANDO_TLS_KEY_FILE: z.string().min(1).optional(),
    PANDO_DRAIN_TIMEOUT_SECONDS: intFrom(z.number().int().min(1).max(300)).default(25),
    PANDO_MAX_CONNECTIONS: intFrom(z.number().int().min(1).max(100_000)).default(EDGE_LIMITS.maxConnections),
    PANDO_REQUEST_TIMEOUT_SECONDS: intFrom(z.number().int().min(1).max(60)).default(EDGE_LIMITS.requestTimeoutSeconds),
  })
  .refine((v) => !v.PANDO_TLS_CERT_FILE === !v.PANDO_TLS_KEY_FILE, {
    message: 'PANDO_TLS_CERT_FILE and PANDO_TLS_KEY_FILE must be set together (HTTPS) or not at all (HTTP only)',
  });

export interface EdgeLimits {
  readonly maxConnections: number;
  readonly bodyBudgetBytes: number;
}

export interface ServerConfig {
  readonly port: number;
  /** Set: admissions are served on this HTTPS listener only; plain HTTP keeps the probes. */
  readonly tls?: { readonly port: number; readonly certFile: string; readonly keyFile: string };
  readonly drainTimeoutMs: number;
  /** EDGE_LIMITS when absent. */
  readonly limits?: EdgeLimits;
  /** How long one request may take, headers to last body byte (EDGE_LIMITS when absent). */
  readonly requestTimeoutMs?: number;
}

export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const result = ServerEnvSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || 'TLS'}: ${i.message}`));
  }
  const v = result.data;
  return Object.freeze({
    port: v.PORT,
    tls:
      v.PANDO_TLS_CERT_FILE && v.PANDO_TLS_KEY_FILE
        ? Object.freeze({ port: v.PANDO_TLS_PORT, certFile: v.PANDO_TLS_CERT_FILE, keyFile: v.PANDO_TLS_KEY_FILE })
        : undefined,
    drainTimeoutMs: v.PANDO_DRAIN_TIMEOUT_SECONDS * 1000,
    limits: Object.freeze({ maxConnections: v.PANDO_MAX_CONNECTIONS, bodyBudgetBytes: EDGE_LIMITS.bodyBudgetBytes }),
    requestTimeoutMs: v.PANDO_REQUEST_TIMEOUT_SECONDS * 1000,
  });
}
