// JSON Patch from the raw pod to the mutated pod, built by rfc6902. inject() shares every
// untouched subtree with its input, so identical references are skipped without a walk, and a
// list that only grew at its end gets "add" operations for the new tail. Both keep the cost
// linear in what changed, where rfc6902's array diff alone is quadratic in list length.
import { createPatch, Operation } from 'rfc6902';
import type { Pointer } from 'rfc6902/pointer';

function diffTouched(input: unknown, output: unknown, ptr: Pointer): Operation[] | void {
  if (input === output) return [];
  if (Array.isArray(input) && Array.isArray(output) && output.length > input.length && input.every((item, i) => item === output[i])) {
    return output.slice(input.length).map((value, i) => ({ op: 'add', path: ptr.add(String(input.length + i)).toString(), value }));
  }
  return undefined;
}

export function buildPatch(raw: unknown, mutated: unknown): Operation[] {
  return createPatch(raw, mutated, diffTouched);
}
