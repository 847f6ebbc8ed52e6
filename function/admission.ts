// The AdmissionReview boundary: a zod schema for the envelope only (the pod is kept raw, since
// zod drops unknown fields and a diff against a parsed copy would delete the user's fields),
// and the builder of the answer.
import * as z from 'zod';

const GroupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });
const GroupVersionResource = z.object({ group: z.string(), version: z.string(), resource: z.string() });

export const AdmissionRequestSchema = z.object({
  uid: z.string().min(1, 'request.uid must not be empty'),
  kind: GroupVersionKind,
  resource: GroupVersionResource,
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.string(),
  dryRun: z.boolean().optional(),
  object: z.unknown().optional(),
});
export type AdmissionRequest = z.infer<typeof AdmissionRequestSchema>;

export const AdmissionReviewSchema = z.object({
  apiVersion: z.literal('admission.k8s.io/v1', { error: 'apiVersion must be "admission.k8s.io/v1"' }),
  kind: z.literal('AdmissionReview', { error: 'kind must be "AdmissionReview"' }),
  request: AdmissionRequestSchema,
});

export type ParsedReview = { ok: true; request: AdmissionRequest; object: unknown } | { ok: false; error: string };

/** Checks the envelope; returns the request and the raw, unparsed `request.object`. */
export function parseReview(body: unknown): ParsedReview {
  const result = AdmissionReviewSchema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    return { ok: false, error: `not an admission.k8s.io/v1 AdmissionReview: ${issues.join('; ')}` };
  }
  return { ok: true, request: result.data.request, object: (body as { request: { object?: unknown } }).request.object };
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}
export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** This webhook never denies: every answer allows, with a patch only when it mutates. */
export function reviewResponse(uid: string, patch: readonly object[], warnings: readonly string[]): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  const clean = warnings.map(cleanWarning);
  if (clean.length > 0) response.warnings = clean;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export const WARNING_PREFIX = 'pandocore: ';
export const WARNING_MAX = 120;

/** The API server drops warnings with control characters; kubectl shows them on one line. */
export function cleanWarning(text: string): string {
  // eslint-disable-next-line no-control-regex
  let clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  if (!clean.startsWith(WARNING_PREFIX)) clean = WARNING_PREFIX + clean;
  return clean.length > WARNING_MAX ? `${clean.slice(0, WARNING_MAX - 1)}…` : clean;
}
