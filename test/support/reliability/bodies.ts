// Request bodies for load runs: every fixture and a pod with 2,000 containers, each request with
// its own uid, and the exact answer the server must give, computed in-process with the
// configuration a server started with an empty environment reads.
import { admit } from '../../../function/admit';
import { defaultConfig, TEST_VERSION } from '../config';
import { fixtureNames, readable, readExpected, readFixture } from '../fixtures';
import type { Body } from '../load';
import { version } from '../../../package.json';

/** What a server started with an empty environment reads: the tests' config, with the package version. */
export const serverDefaultConfig = { ...defaultConfig, webhookVersion: version };
const UID = 'uid-placeholder-000000000000';

function template(review: any) {
  review.request.uid = UID;
  const text = JSON.stringify(review);
  const answer = admit(review, serverDefaultConfig);
  const expected = JSON.stringify(answer.ok ? answer.review : { error: answer.error });
  if (expected.split(UID).length !== 2 || text.split(UID).length !== 2) throw new Error('the uid placeholder must appear once');
  return { text: text.split(UID), expected: expected.split(UID) };
}

function bigPod() {
  const review = readFixture('deployment-pod');
  review.request.object.spec.containers = Array.from({ length: 2000 }, (_, i) => ({ name: `c${i}`, image: 'registry.example.com/app:1.0.0' }));
  return review;
}

const templates = [...fixtureNames().map((n) => template(readFixture(n))), template(bigPod())];

/**
 * The answers a load run expects are admit's own; these are the golden answers: with the version
 * the server records set back to the tests' one, every fixture's answer equals its
 * fixtures/<case>.response.json. Returns the mismatches.
 */
export function expectedAnswersAreGolden(): string[] {
  const problems: string[] = [];
  for (const name of fixtureNames()) {
    const answer = admit(readFixture(name), { ...serverDefaultConfig, webhookVersion: TEST_VERSION });
    if (!answer.ok || JSON.stringify(readable(answer.review)) !== JSON.stringify(readExpected(name))) problems.push(`${name}: not the golden answer`);
  }
  return problems;
}

export function bodyFor(i: number): Body {
  const t = templates[i % templates.length];
  const uid = `uid-${String(i).padStart(24, '0')}`;
  return { text: t.text.join(uid), expected: t.expected.join(uid) };
}
