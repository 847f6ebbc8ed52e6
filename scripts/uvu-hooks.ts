// Preloaded into uvu by scripts/test.ts (uvu -r). uvu hides a hook's error: a before hook that
// throws ends its suite with no error shown and its tests neither passed nor failed (its runner
// returns from a finally), an after.each hook's error can do the same, and an after hook's error
// ends the whole run before the summary. Those hooks are wrapped so that the error is printed on
// a HOOK_FAILED line naming the file that registered it, for scripts/test.ts to count; after
// hooks report and carry on, so the files after them still run. (A before.each error already
// fails its test, with the error shown.)
// The module's own exports object: suite is replaced on it for every test file to see.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import uvu = require('uvu');

/** The prefix of the line scripts/test.ts counts hook failures from. */
export const HOOK_FAILED = 'hook failed: ';

type Hook = (context: unknown) => unknown;
type Register = (hook: Hook) => void;
type Hooks = { before: Register; after: Register & { each: Register } };

/** The test file being loaded: uvu names it first in the queue of the file it loads. */
const loadingFile = (): string => {
  const queue = (globalThis as { UVU_QUEUE?: unknown[][] }).UVU_QUEUE;
  const index = (globalThis as { UVU_INDEX?: number }).UVU_INDEX ?? 0;
  return String(queue?.[index]?.[0] ?? 'a test file');
};

function wrap(register: Register, which: string, rethrow: boolean): Register {
  return (hook) => {
    const file = loadingFile();
    register(async (context) => {
      try {
        await hook(context);
      } catch (error) {
        const message = (error as Error)?.stack ?? String(error);
        console.log(`\n${HOOK_FAILED}${file}: ${which} hook: ${message.split('\n').join('\n    ')}`);
        if (rethrow) throw error;
      }
    });
  };
}

function guard<T extends Hooks>(test: T): T {
  const { before, after } = test;
  // A before hook's error must still stop its suite: its tests would run on a half-made fixture.
  test.before = Object.assign(wrap(before, 'before', true), before);
  test.after = Object.assign(wrap(after, 'after', false), { each: wrap(after.each, 'after.each', false) });
  return test;
}

guard(uvu.test as unknown as Hooks);
const suite = uvu.suite;
Object.assign(uvu, { suite: (...args: Parameters<typeof suite>) => guard(suite(...args) as unknown as Hooks) });
