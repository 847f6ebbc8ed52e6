// The real-world pod manifests of ../shared/corpus/pods (beside the checkout), read the one way
// every suite reads them: the unit tests, kubectl pando inject's tests and the e2e corpus suite.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'uvu';
import { parseAllDocuments } from 'yaml';
import { skipSuite } from './skip';

type Obj = Record<string, any>;

// Compiled to build/test/support/: the checkout is three folders up, and shared/ beside it.
export const CORPUS = join(__dirname, '..', '..', '..', '..', 'shared', 'corpus', 'pods');

export interface CorpusFile {
  file: string;
  text: string;
  docs: Obj[];
}

/** Every corpus file with its documents; when the corpus is absent, `suite` gets a skipped entry saying so. */
export function corpusFiles(suite: Test, what: string): CorpusFile[] {
  if (!existsSync(CORPUS)) {
    skipSuite(suite, what, `the corpus ${CORPUS} is absent (it lives in ../shared beside the checkout)`);
    return [];
  }
  return readdirSync(CORPUS)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      const docs = parseAllDocuments(text)
        .map((d) => d.toJS())
        .filter((d) => d && typeof d === 'object');
      return { file, text, docs };
    });
}
