// The settings of the host around the function (server.ts, main.ts): ports, TLS files, the
// drain. Separate from config.ts, which holds only what the function itself reads.
import * as z from 'zod';
import { ConfigError, intFrom } from './config';

const ServerEnvSchema = z
  .object({
    PORT: intFrom(z.number().int().min(0).max(65535)).default(8080),
    PANDO_TLS_PORT: intFrom(z.number().int().min(0).max(65535)).default(8443),
    PANDO_TLS_CERT_FILE: z.string().min(1).optional(),
    PANDO_TLS_KEY_FILE: z.string().min(1).optional(),
    PANDO_DRAIN_TIMEOUT_SECONDS: intFrom(z.number().int().min(1).max(300)).default(25),
  })
  .refine((v) => !v.PANDO_TLS_CERT_FILE === !v.PANDO_TLS_KEY_FILE, {
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
    tls:
      v.PANDO_TLS_CERT_FILE && v.PANDO_TLS_KEY_FILE
        ? Object.freeze({ port: v.PANDO_TLS_PORT, certFile: v.PANDO_TLS_CERT_FILE, keyFile: v.PANDO_TLS_KEY_FILE })
        : undefined,
    drainTimeoutMs: v.PANDO_DRAIN_TIMEOUT_SECONDS * 1000,
  });
}
