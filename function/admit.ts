// admit(body, config) -> the AdmissionReview answer and the facts for its log line.
// Pure and total: every failure becomes an answer, nothing throws.
import { AdmissionRequest, AdmissionReviewResponse, parseReview, reviewResponse } from './admission';
import type { Config } from './config';
import { shouldInject, SkipReason } from './decide';
import { inject } from './inject';
import { buildPatch } from './patch';
import { JsonObject, podDisplayName } from './pod';

/** What one admission decided, for the log line: never the pod, its env or a secret. */
export interface AdmissionRecord {
  uid?: string;
  namespace?: string;
  pod?: string;
  operation?: string;
  dryRun?: boolean;
  decision: 'inject' | 'skip' | 'error';
  reason: SkipReason | 'injected' | 'bad_review' | 'internal_error';
  mode?: string;
  patchOps?: number;
  warnings?: number;
  /** A skip's reason in words (SKIP_REASONS); for internal_error, the exception's message, which
   * names code, never pod content. */
  detail?: string;
}

export type Admission = { ok: true; review: AdmissionReviewResponse; record: AdmissionRecord } | { ok: false; error: string; record: AdmissionRecord };

export function admit(body: unknown, config: Config): Admission {
  const parsed = parseReview(body);
  if (!parsed.ok) return { ok: false, error: parsed.error, record: { decision: 'error', reason: 'bad_review' } };
  const { request, object: pod } = parsed;
  try {
    const decision = shouldInject(request, pod, config);
    if (!decision.inject) {
      const warnings = decision.warning ? [decision.warning] : [];
      return {
        ok: true,
        review: reviewResponse(request.uid, [], warnings),
        record: recordOf(request, pod, 'skip', decision.reason, { warnings: warnings.length, detail: decision.message }),
      };
    }
    const injection = inject(pod as JsonObject, config);
    const patch = buildPatch(pod, injection.pod);
    return {
      ok: true,
      review: reviewResponse(request.uid, patch, injection.warnings),
      record: recordOf(request, pod, 'inject', 'injected', { mode: injection.mode, patchOps: patch.length, warnings: injection.warnings.length }),
    };
  } catch (error) {
    // A pod shape nobody foresaw must never cost the user their pod: allow it unchanged.
    const warning = 'pandocore: sidecar not injected: the webhook could not process this pod';
    const detail = String((error as Error)?.message).slice(0, 200);
    return { ok: true, review: reviewResponse(request.uid, [], [warning]), record: recordOf(request, pod, 'error', 'internal_error', { warnings: 1, detail }) };
  }
}

type Outcome = Pick<AdmissionRecord, 'mode' | 'patchOps' | 'warnings' | 'detail'>;

/** One literal of one shape (absent facts are undefined, which a JSON log line omits): object
 * spreads here cost more than the rest of the admission together. */
function recordOf(
  request: AdmissionRequest,
  pod: unknown,
  decision: AdmissionRecord['decision'],
  reason: AdmissionRecord['reason'],
  outcome: Outcome,
): AdmissionRecord {
  return {
    uid: request.uid,
    namespace: request.namespace,
    pod: podDisplayName(pod) ?? request.name,
    operation: request.operation,
    dryRun: request.dryRun ? true : undefined,
    decision,
    reason,
    mode: outcome.mode,
    patchOps: outcome.patchOps,
    warnings: outcome.warnings,
    detail: outcome.detail,
  };
}
