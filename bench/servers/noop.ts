// The functions-framework's own cost: a no-op function answering a fixed small JSON, served by
// the framework's CLI (`functions-framework --target=noop --source=<this file>`).
import { http } from '@google-cloud/functions-framework';

export const NOOP_ANSWER = { ok: true };

http('noop', (_req, res) => {
  res.json(NOOP_ANSWER);
});
