// Every repository path the docs, the README, the Dockerfile and the chart's values.yaml name
// exists: a rename that forgets the prose fails here. A path is a word that starts with one of the
// repository's top-level folders (function/, cli/, test/, ...); a glob must match something.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');
const FOLDERS = ['function', 'cli', 'test', 'e2e', 'scripts', 'manifests', 'docs', 'bench', 'fixtures'];
const SOURCES = ['README.md', 'Dockerfile', 'manifests/pando-webhook/values.yaml', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)];
/** A folder, then path characters; not inside a URL (github.com/.../docs/x is not ours). */
const PATH = new RegExp(String.raw`(?<![\w/.:@-])(?:${FOLDERS.join('|')})/[\w./*<>-]*`, 'g');

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
let files: string[] | undefined;
const repositoryFiles = () => (files ??= FOLDERS.flatMap((f) => walk(join(ROOT, f))).map((f) => relative(ROOT, f)));

/** Whether the named path exists: a file, a folder, or a glob (*) that matches one. */
function pathExists(path: string): boolean {
  if (!path.includes('*')) return existsSync(join(ROOT, path));
  const pattern = new RegExp(`^${path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return repositoryFiles().some((f) => pattern.test(f));
}

/** The paths a text names, trailing punctuation off; placeholders (<version>) are not paths. */
function namedPaths(text: string): string[] {
  return [...new Set((text.match(PATH) ?? []).map((p) => p.replace(/[.,:;)]+$/, '')))].filter((p) => !p.includes('<') && !/^(docs|test)\/$/.test(p));
}

test('the path finder: folders and files, globs, trailing punctuation, not URLs or placeholders', () => {
  assert.equal(namedPaths('see `function/host/`, cli/main.ts. And test/reliability/*.test.ts;'), [
    'function/host/',
    'cli/main.ts',
    'test/reliability/*.test.ts',
  ]);
  assert.equal(namedPaths('https://github.com/x/y/docs/a.md and .image/pando-webhook-<version>.tar'), []);
  assert.equal(namedPaths('the build/ and dist/ outputs, docs/<page>.md'), []);
  assert.ok(pathExists('test/reliability/*.test.ts'));
  assert.not.ok(pathExists('function/image.test.ts'));
  assert.not.ok(pathExists('function/*.missing'));
});

test('every path the docs, the README, the Dockerfile and values.yaml name exists', () => {
  const missing: string[] = [];
  for (const source of SOURCES) {
    if (statSync(join(ROOT, source)).isDirectory()) continue;
    for (const path of namedPaths(readFileSync(join(ROOT, source), 'utf8'))) if (!pathExists(path)) missing.push(`${source}: ${path}`);
  }
  assert.equal(missing, []);
});

test.run();
