// Test support: the fixtures folder, read and written.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES_DIR = join(__dirname, '..', '..', '..', 'fixtures');

export const fixtureNames = () =>
  readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.request.json'))
    .map((f) => f.replace(/\.request\.json$/, ''))
    .sort();

export const readFixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.request.json`), 'utf8'));

export const expectedPath = (name: string) => join(FIXTURES_DIR, `${name}.response.json`);

export const readExpected = (name: string) => JSON.parse(readFileSync(expectedPath(name), 'utf8'));

export const writeExpected = (name: string, value: unknown) => writeFileSync(expectedPath(name), `${JSON.stringify(value, null, 2)}\n`);

/** The answer as stored in a golden file: response.patch decoded, so a reader sees the operations. */
export function readable(review: { response: object }) {
  const { patch, ...rest } = review.response as { patch?: string };
  return {
    ...review,
    response: patch === undefined ? rest : { ...rest, patch: JSON.parse(Buffer.from(String(patch), 'base64').toString('utf8')) },
  };
}

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
