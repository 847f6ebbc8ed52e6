// The one property suite: generated reviews, realistic and of any shape, through the HTTP handler
// (2,500 here; `npm run soak` runs 100,000). Every answer well-formed, no exception, a patch only
// for labelled pods, exactly one sidecar, the license by reference, every patch applies with
// fast-json-patch and keeps a valid pod valid, reinvocation patches nothing (check.ts). Seeded:
// a failure prints the seed and path to replay.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultConfig } from '../support/config';
import { loadConfig } from '../../function/config';
import { checkOne, handlerCaller, newStats } from '../support/reliability/check';
import { anyReview, realisticReview } from '../support/reliability/generators';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261126);

test('2,000 generated reviews: no exception, well-formed answers, patches that apply and stay valid', () => {
  const stats = newStats();
  const call = handlerCaller(defaultConfig);
  fc.assert(
    fc.property(anyReview, (review) => {
      checkOne(call, review, stats);
    }),
    { seed: FUZZ_SEED, numRuns: 2000 },
  );
  // Not vacuous: a good share was injected, from valid pods, and some were refused.
  assert.ok(stats.validInjected > 200, `only ${stats.validInjected} valid pods injected`);
  assert.ok(stats.refused400 > 20, `only ${stats.refused400} bodies refused`);
});

test('500 realistic reviews under a configuration with every setting changed', () => {
  const config = loadConfig(
    {
      PANDO_DEFAULT_MODE: 'enforce',
      PANDO_EXCLUDED_NAMESPACES: 'shop',
      PANDO_SIDECAR_IMAGE: 'registry.local:5000/pando/sidecar:2.0.0@sha256:' + 'b'.repeat(64),
      PANDO_SERVICE_ACCOUNT: 'app-sa',
      PANDO_SIDECAR_HEALTH_PORT: '19901',
      PANDO_PROBE_PERIOD_SECONDS: '300',
    },
    '9.9.9',
  );
  const stats = newStats();
  const call = handlerCaller(config);
  fc.assert(
    fc.property(realisticReview, (review) => {
      checkOne(call, review, stats);
    }),
    { seed: FUZZ_SEED + 1, numRuns: 500 },
  );
  assert.ok(stats.validInjected > 50, `only ${stats.validInjected} valid pods injected`);
});

test.run();
