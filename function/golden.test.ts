// Every fixture through the handler's core gives its expected answer (UPDATE_GOLDEN=1 rewrites
// them); every patch applies with an independent JSON Patch implementation, gives a valid Pod,
// and sending the patched pod again (reinvocation) gives no patch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admit } from './admit';
import { SKIP_REASONS, SkipReason } from './decide';
import { applyReview, podProblems } from '../test/support/apiserver';
import { defaultConfig } from '../test/support/config';
import { fixtureNames, readable, readExpected, readFixture, UPDATE_GOLDEN, writeExpected } from '../test/support/fixtures';

const names = fixtureNames();

/** The fixtures the webhook leaves alone, and why. Every other fixture is injected. */
const SKIPPED: Record<string, SkipReason> = {
  'already-injected': 'already_injected',
  'excluded-namespace': 'excluded_namespace',
  'foreign-sidecar': 'foreign_sidecar',
  'label-false': 'not_labelled',
  'malformed-containers': 'malformed_pod',
  'non-pod': 'not_pod',
  'own-namespace': 'system_namespace',
  subresource: 'subresource',
  unlabelled: 'not_labelled',
  update: 'not_create',
  'windows-pod': 'windows_pod',
};
/** Skips the user is told about: a pod that looks protected but cannot be injected. */
const WARNED = new Set(['foreign-sidecar', 'malformed-containers', 'windows-pod']);

test('the fixtures cover every case the issue lists', () => {
  for (const name of [
    'deployment-pod',
    'mode-monitor',
    'mode-enforce',
    'mode-debug',
    'mode-bad',
    'unlabelled',
    'label-false',
    'excluded-namespace',
    'own-namespace',
    'already-injected',
    'own-service-account',
    'hostpid',
    'hostnetwork',
    'automount-off',
    'update',
    'non-pod',
    'subresource',
    'dry-run',
    'named-pod',
    'malformed-containers',
  ]) {
    assert.ok(names.includes(name), `fixture ${name} missing`);
  }
});

for (const name of names) {
  test(`fixture ${name}: the answer matches fixtures/${name}.response.json`, () => {
    const request = readFixture(name);
    const result = admit(request, defaultConfig);
    if (!result.ok) throw new Error(result.error);
    if (UPDATE_GOLDEN) writeExpected(name, readable(result.review));
    assert.equal(readable(result.review), readExpected(name));
    assert.is(result.review.response.uid, request.request.uid);
    assert.is(result.review.response.allowed, true);
  });

  test(`fixture ${name}: ${name in SKIPPED ? `skipped as ${SKIPPED[name]}, with no patch` : 'the patched pod is valid and reinvocation changes nothing'}`, () => {
    const request = readFixture(name);
    const result = admit(request, defaultConfig);
    if (!result.ok) throw new Error(result.error);
    if (name in SKIPPED) {
      assert.is(result.review.response.patch, undefined);
      assert.is(result.record.decision, 'skip');
      assert.is(result.record.reason, SKIPPED[name]);
      assert.is(result.record.detail, SKIP_REASONS[SKIPPED[name]]);
      assert.equal(result.review.response.warnings?.length ?? 0, WARNED.has(name) ? 1 : 0);
      return;
    }
    assert.is(result.record.decision, 'inject');
    const patched = applyReview(request.request.object, result.review);
    assert.is(podProblems(patched), undefined);
    const again = admit({ ...request, request: { ...request.request, object: patched } }, defaultConfig);
    if (!again.ok) throw new Error(again.error);
    assert.is(again.review.response.patch, undefined);
    assert.is(again.record.reason, 'already_injected');
  });
}

test('no fixture warning is cut short (each fits in WARNING_MAX characters as written)', () => {
  for (const name of names) {
    const answer = admit(readFixture(name), defaultConfig);
    for (const warning of answer.ok ? (answer.review.response.warnings ?? []) : []) assert.not.ok(warning.endsWith('…'), `${name}: ${warning}`);
  }
});

test.run();
