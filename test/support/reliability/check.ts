// What every answer of the function must satisfy, whatever it was sent. Throws on the first
// violation; counts what happened so a run can show it was not vacuous.
import type { Request, Response } from '@google-cloud/functions-framework';
import type { AdmissionReviewResponse } from '../../../function/admission';
import type { Config } from '../../../function/config';
import { createHandler } from '../../../function/http';
import type { Logger } from '../../../function/log';
import { applyReview, decodePatch, podProblems } from '../apiserver';

export interface FuzzStats {
  runs: number;
  answered200: number;
  refused400: number;
  injected: number;
  validInputs: number;
  validInjected: number;
  reasons: Record<string, number>;
}

export const newStats = (): FuzzStats => ({ runs: 0, answered200: 0, refused400: 0, injected: 0, validInputs: 0, validInjected: 0, reasons: {} });

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

interface Sent {
  status: number;
  body: any;
}

/** The registered HTTP handler called directly with the parsed body, as the host hands it on once readBody (function/host/body.ts) has read it. */
export function handlerCaller(config: Config) {
  let reason = '';
  const log: Logger = (_level, _msg, fields) => {
    reason = String(fields?.reason ?? '');
  };
  const handler = createHandler(config, log);
  return (body: unknown): Sent & { reason: string } => {
    let sent: Sent | undefined;
    const res = {
      writeHead(status: number) {
        sent = { status, body: undefined };
        return res;
      },
      end(text: string) {
        sent!.body = JSON.parse(text);
      },
    };
    reason = '';
    handler({ method: 'POST', url: '/?timeout=10s', headers: { 'content-type': 'application/json' }, body } as unknown as Request, res as unknown as Response);
    if (!sent) throw new Error('the handler sent nothing');
    return { ...sent, reason };
  };
}

const fail = (what: string): never => {
  throw new Error(what);
};

function sidecarsOf(pod: any): any[] {
  return ['containers', 'initContainers', 'ephemeralContainers']
    .flatMap((k) => (Array.isArray(pod?.spec?.[k]) ? pod.spec[k] : []))
    .filter((c: any) => c?.name === 'pando-sidecar');
}

/** Sends one body and checks the answer; when there is a patch, applies it and sends the result again. */
export function checkOne(call: ReturnType<typeof handlerCaller>, input: unknown, stats: FuzzStats): void {
  stats.runs++;
  // What the edge hands on is always the result of JSON.parse.
  const text = JSON.stringify(input);
  const body = text === undefined ? undefined : JSON.parse(text);
  const answer = call(body);
  stats.reasons[answer.reason] = (stats.reasons[answer.reason] ?? 0) + 1;
  if (answer.reason === 'internal_error') fail('a pod reached the internal_error path (an exception was thrown)');
  if (answer.status === 400) {
    stats.refused400++;
    if (typeof answer.body?.error !== 'string' || answer.body.error.length > 1000) fail('a 400 without a short error');
    return;
  }
  if (answer.status !== 200) fail(`status ${answer.status}`);
  stats.answered200++;
  const review = answer.body as AdmissionReviewResponse;
  const request = body.request;
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') fail('envelope not admission.k8s.io/v1 AdmissionReview');
  const { response } = review;
  const extra = Object.keys(response).filter((k) => !['uid', 'allowed', 'patchType', 'patch', 'warnings'].includes(k));
  if (extra.length) fail(`unexpected response fields ${extra}`);
  if (response.uid !== request.uid) fail('uid not echoed');
  if (response.allowed !== true) fail('not allowed');
  if ((response.patch === undefined) !== (response.patchType === undefined)) fail('patch and patchType not together');
  if (response.patchType !== undefined && response.patchType !== 'JSONPatch') fail(`patchType ${response.patchType}`);
  for (const w of response.warnings ?? []) {
    if (typeof w !== 'string' || w.length > 120 || !w.startsWith('pandocore: ') || CONTROL.test(w)) fail(`bad warning ${JSON.stringify(w)}`);
  }
  if (response.warnings && response.warnings.length === 0) fail('empty warnings list');
  const inputValid = isPodReview(request) && podProblems(request.object) === undefined;
  if (inputValid) stats.validInputs++;
  if (response.patch === undefined) return;

  stats.injected++;
  if (request.object?.metadata?.labels?.['pandocore.xyz/protect'] !== 'true') fail('patched a pod that is not labelled pandocore.xyz/protect=true');
  const ops = decodePatch(review);
  if (!Array.isArray(ops) || ops.length === 0) fail('empty patch');
  const patched = applyReview(request.object, review); // fast-json-patch, validating every operation
  if (sidecarsOf(request.object).length !== 0) fail('patched a pod that already had the sidecar');
  const sidecars = sidecarsOf(patched);
  if (sidecars.length !== 1) fail(`${sidecars.length} sidecars after the patch`);
  const license = (sidecars[0].env ?? []).filter((e: any) => /LICENSE/.test(e?.name));
  if (license.length !== 1 || 'value' in license[0] || !license[0].valueFrom?.secretKeyRef) fail('license not taken from a Secret');
  if (inputValid) {
    stats.validInjected++;
    const problem = podProblems(patched);
    if (problem) fail(`a valid pod became invalid: ${problem}`);
  }
  const again = call({ ...body, request: { ...request, object: patched } });
  if (again.status !== 200 || again.body.response.patch !== undefined) fail('reinvocation patched again');
}

const isPodReview = (request: any) => request?.kind?.kind === 'Pod' && request?.object && typeof request.object === 'object';
