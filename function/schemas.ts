// Field schemas: what a mode, a namespace, an image, a quantity ... may be. Shared by the
// function's env config (config.ts), the TLS setup's (tls/config.ts) and the chart's values
// (scripts/chart-values.ts), so a setting cannot mean two things in two places.
import * as z from 'zod';

export const MODES = ['monitor', 'enforce', 'debug'] as const;
export const ModeSchema = z.enum(MODES);
export type Mode = z.infer<typeof ModeSchema>;

// RFC 1123 label, as Kubernetes validates namespace names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const NamespaceSchema = z.string().regex(DNS_LABEL, 'must be a DNS-1123 label such as "team-a"');
export const NamespaceListSchema = z.array(NamespaceSchema);

// A container image reference: [registry/]path[:tag][@digest], no spaces or upper-case path.
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
export const ImageSchema = z.string().regex(IMAGE_REF, 'must be an image reference such as "registry.example/pando-sidecar:1.0.0"');

// Kubernetes resource quantity (the common forms: 100m, 0.5, 64Mi, 1G, 1e3).
const QUANTITY = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?[0-9]+)?$/;
export const QuantitySchema = z.string().regex(QUANTITY, 'must be a Kubernetes quantity such as "100m" or "64Mi"');

export const PortSchema = z.number().int().min(1).max(65535);
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const ObjectNameSchema = z.string().regex(DNS_SUBDOMAIN, 'must be a DNS-1123 subdomain such as "pando-license"');
// Secret data keys: alphanumerics, '-', '_' or '.'.
export const SecretKeySchema = z.string().regex(/^[-._a-zA-Z0-9]{1,253}$/, 'must be a Secret key such as "license-key"');

/** Days before expiry that a serving certificate is renewed: below cert-manager's 90-day duration. */
export const RenewBeforeDaysSchema = z.number().int().min(7).max(60);
