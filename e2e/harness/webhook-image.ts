// The webhook's image for the node: the archive `npm run image` builds, rebuilt when stale.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHIVE, buildImage, IMAGE } from '../../scripts/image';
import { REPO } from './tools';

type Say = (line: string) => void;

/**
 * The image archive `npm run image` builds, built again when a file it is built from is newer
 * (a fresh clone has none; in CI, npm test has just built it).
 */
export function ensureWebhookImage(say: Say): string {
  const sources = spawnSync(
    'git',
    ['ls-files', '-z', '--', 'function', 'cli', 'Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig*.json'],
    {
      cwd: REPO,
      encoding: 'utf8',
    },
  )
    .stdout.split('\0')
    .filter(Boolean);
  const newest = Math.max(...sources.map((file) => (existsSync(join(REPO, file)) ? statSync(join(REPO, file)).mtimeMs : 0)));
  if (existsSync(ARCHIVE) && statSync(ARCHIVE).mtimeMs > newest) return ARCHIVE;
  say(`npm run image: building ${IMAGE} (its archive is missing or older than its sources)`);
  return buildImage((line) => say(line)).archive;
}
