// The npm package (`npm install -g` puts kubectl-pando on the PATH; `npm start` runs the server):
// npm pack, then a production-only `npm ci` of the packed files with the lockfile, then serve a
// fixture and run the TLS setup bundle from that install. A runtime dependency declared as a dev
// one, or a file `files` leaves out, fails here. The container image is test/image.test.ts.
// npm installs offline: from a loopback registry made of the lockfile and the local npm cache
// (test/support/lockfile-registry.ts), into a cache of its own, with no timeout of its own.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { version } from '../package.json';
import { TEST_VERSION } from './support/config';
import { readable, readExpected, readFixture } from './support/fixtures';
import { startFakeApi } from './support/fake-api';
import { startLockfileRegistry } from './support/lockfile-registry';
import { startNode } from './support/child';
import { IMAGE_NODE_FLAGS } from '../bench/servers';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = 'deployment-pod';
const work = mkdtempSync(join(tmpdir(), 'pando-image-'));
const app = join(work, 'package');
const NPM_ENV = { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' };
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: NPM_ENV });
let registry: Awaited<ReturnType<typeof startLockfileRegistry>> | undefined;
/** npm against the lockfile's registry (async: the registry answers from this process), its own cache and no user config. */
async function npmOffline(args: string[], cwd: string): Promise<string> {
  registry ??= await startLockfileRegistry(join(ROOT, 'package-lock.json'), npm(['config', 'get', 'cache'], ROOT).trim());
  writeFileSync(join(work, 'npmrc'), '');
  const env = { ...NPM_ENV, npm_config_registry: `${registry.url}/`, npm_config_userconfig: join(work, 'npmrc'), npm_config_cache: join(work, 'npm-cache') };
  try {
    return (await promisify(execFile)('npm', [...args, '--no-audit', '--no-fund'], { cwd, encoding: 'utf8', env })).stdout;
  } catch (error) {
    throw new Error(`npm ${args[0]}: ${(error as Error).message}; not in the lockfile or the npm cache: ${registry.missing.join(', ') || 'nothing'}`, {
      cause: error,
    });
  }
}

/** Runs `node <entry>` from the install; `matched` resolves on exit, or when `until` matches a log line. */
function run(entry: string, env: Record<string, string>, until?: (line: any) => boolean, flags: string[] = []) {
  const child = startNode([...flags, entry], env, { cwd: app });
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  const exited = child.exited.then(({ code }) => {
    clearTimeout(timer);
    return code;
  });
  const matched = until ? child.waitForEntry(until, 10_000) : exited;
  return { child: child.process, exited, matched, output: () => child.output.join('\n') };
}

test.after(async () => {
  await registry?.close();
  rmSync(work, { recursive: true, force: true });
});

test('npm pack holds the compiled output and the bundles, and no tests nor esbuild metafiles', () => {
  npm(['run', 'bundle', '--silent'], ROOT);
  const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT));
  const files: string[] = packed.files.map((f: { path: string }) => f.path);
  for (const needed of [
    'package.json',
    'dist/package.json',
    'dist/serve.js',
    'dist/function/main.js',
    'dist/bin/kubectl-pando',
    'dist/function/index.js',
    'dist/function/tls/setup.js',
    'dist/tls-setup.js',
  ]) {
    assert.ok(files.includes(needed), `${needed} packed`);
  }
  assert.equal(
    files.filter((f) => /\.test\.js$|\/testing\/|fake-api|\.ts$|^dist\/meta\//.test(f)),
    [],
  );
  execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', work]);
  copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
});

test('npm start and the benchmark run the command the image runs', () => {
  const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
  assert.ok(scripts.serve.endsWith(`node ${IMAGE_NODE_FLAGS.join(' ')} dist/serve.js`), scripts.serve);
  assert.is(scripts.start, 'npm run serve --silent');
});

test('a production-only install of the package has every runtime dependency and no dev one', async () => {
  await npmOffline(['ci', '--omit=dev', '--ignore-scripts'], app);
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  for (const dep of Object.keys(manifest.dependencies)) assert.ok(existsSync(join(app, 'node_modules', dep)), `${dep} installed`);
  // dev-only per the lockfile (some dev dependencies, like @types/node, are also pulled in at run time)
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')).packages as Record<string, { dev?: boolean }>;
  const devOnly = Object.keys(manifest.devDependencies ?? {}).filter((dep) => lock[`node_modules/${dep}`]?.dev);
  assert.ok(devOnly.includes('typescript') && devOnly.includes('uvu'));
  for (const dep of devOnly) assert.not.ok(existsSync(join(app, 'node_modules', dep)), `dev dependency ${dep} installed`);
});

for (const entry of ['dist/serve.js', 'dist/function/main.js'])
  test(`the installed ${entry} serves a fixture with its golden answer, then drains on SIGTERM`, async () => {
    const main = run(entry, { PORT: '0' }, (l) => l.msg === 'serving', IMAGE_NODE_FLAGS);
    try {
      const { http: url } = await main.matched;
      const res = await fetch(`${url}/?timeout=10s`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(readFixture(FIXTURE)),
      });
      assert.is(res.status, 200);
      const served = JSON.stringify(readable((await res.json()) as { response: object }))
        .split(`\\"version\\":\\"${version}\\"`)
        .join(`\\"version\\":\\"${TEST_VERSION}\\"`);
      assert.equal(JSON.parse(served), readExpected(FIXTURE));
      main.child.kill('SIGTERM');
      assert.is(await main.exited, 0);
    } finally {
      main.child.kill('SIGKILL');
    }
  });

test('the installed kubectl-pando plugin runs from the package bin, on its own (nothing but node on the PATH)', () => {
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  assert.equal(manifest.bin, { 'kubectl-pando': 'dist/bin/kubectl-pando' });
  const plugin = join(app, manifest.bin['kubectl-pando']);
  assert.ok((statSync(plugin).mode & 0o111) !== 0, 'executable');
  const out = execFileSync(plugin, ['inject', '-f', join(ROOT, 'fixtures', 'manifests', 'shop.yaml')], {
    encoding: 'utf8',
    env: { PATH: dirname(process.execPath) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.match(out, /name: pando-sidecar/);
});

test('npm install -g of the packed package puts kubectl-pando on the PATH', async () => {
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack ran first');
  const prefix = join(work, 'global');
  await npmOffline(['install', '-g', '--prefix', prefix, '--ignore-scripts', join(work, tarball!)], work);
  assert.ok(registry!.served.packuments > 0 && registry!.served.tarballs > 0, 'resolved and fetched through the lockfile registry');
  assert.equal(registry!.missing, []);
  const out = execFileSync('kubectl-pando', ['version'], { encoding: 'utf8', env: { PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}` } });
  assert.is(out, `kubectl-pando ${version}\n`);
});

test('the installed TLS setup bundle (what the Job runs) fills the Secrets through a (fake) API server', async () => {
  const fake = await startFakeApi();
  writeFileSync(join(work, 'token'), fake.token);
  writeFileSync(join(work, 'ca.crt'), fake.caPem);
  try {
    const job = run('dist/tls-setup.js', {
      KUBERNETES_SERVICE_HOST: fake.host,
      KUBERNETES_SERVICE_PORT: String(fake.port),
      PANDO_KUBE_TOKEN_FILE: join(work, 'token'),
      PANDO_KUBE_CA_FILE: join(work, 'ca.crt'),
    });
    assert.is(await job.matched, 0, job.output());
    assert.equal(Object.keys(fake.secretText('pando-webhook-tls')).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.equal(fake.state.problems, []);
  } finally {
    await fake.close();
  }
});

test.run();
