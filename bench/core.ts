// In-process cost of one admission, without logging or HTTP: parse the review from its JSON
// text, decide, build the patch, build and serialize the answer. Reported in µs on the typical
// pod and on pods of growing size, whole and beyond JSON.parse (the same work on the parsed
// body, which admit() never mutates), since parsing is paid by any server that reads JSON.
import { admit } from '../function/admit';
import type { Config } from '../function/config';
import { grownReview, GROWTH, TYPICAL_FIXTURE } from './pods';
import { readFixture } from '../test/support/fixtures';
import { timePerOp } from './timing';

export interface CoreRow {
  pod: string;
  axis?: 'containers' | 'env';
  units?: number;
  bodyBytes: number;
  coreUs: number;
  parseUs: number;
  beyondParseUs: number;
}

function admitBody(body: unknown, config: Config): string {
  const result = admit(body, config);
  if (!result.ok) throw new Error(`benchmark pod refused: ${result.error}`);
  return JSON.stringify(result.review);
}

function measure(pod: string, review: unknown, config: Config, extra: Partial<CoreRow> = {}): CoreRow {
  const text = JSON.stringify(review);
  // Guard: the benchmarked pod must really be injected, or the figure means nothing.
  const check = admit(JSON.parse(text), config);
  if (!check.ok || check.record.decision !== 'inject') throw new Error(`benchmark pod ${pod} was not injected`);
  const parsed = JSON.parse(text);
  const core = timePerOp(() => admitBody(JSON.parse(text), config));
  const parse = timePerOp(() => JSON.parse(text));
  const beyond = timePerOp(() => admitBody(parsed, config));
  return { pod, ...extra, bodyBytes: Buffer.byteLength(text), coreUs: core.usPerOp, parseUs: parse.usPerOp, beyondParseUs: beyond.usPerOp };
}

export function benchCore(config: Config): CoreRow[] {
  const rows = [measure(`typical (${TYPICAL_FIXTURE})`, readFixture(TYPICAL_FIXTURE), config)];
  for (const { axis, size } of GROWTH) {
    const units = axis === 'containers' ? size.containers : size.env;
    const pod = axis === 'containers' ? `${size.containers} containers, ${size.env} env each` : `1 container, ${size.env} env`;
    rows.push(measure(pod, grownReview(size), config, { axis, units }));
  }
  return rows;
}
