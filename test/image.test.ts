// The container image, built for real: what `npm run image` does (buildah builds the Dockerfile
// from the repository root, .dockerignore honoured, on the local Node base, cached after the first
// run), then checks of the image itself: its config, its files (bundles, no node_modules), and its
// programs run inside it with the image's own node (buildah run): the server answers on loopback,
// kubectl-pando and the TLS setup start, Node is 24. Needs buildah and mmdebstrap (.ci/run
// installs them); without them this fails with the install command, it never skips.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { version } from '../package.json';
import { IMAGE_NODE_FLAGS } from '../bench/servers';
import { BUILDAH_ENV, Built, buildah, buildImage, IMAGE, NODE_VERSION, ROOT, STORAGE_FLAGS } from '../scripts/image';
import { freePort } from './support/child';
import { readFixture } from './support/fixtures';
import { startFakeApi } from './support/fake-api';

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
const log: string[] = [];
let built: Built | undefined;
let container = '';
let rootfs = '';

const ok = (args: string[]) => {
  const run = buildah(args);
  assert.is(run.code, 0, `buildah ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
};
/** A command inside the image (its user, env and working directory), with the host's loopback. */
const inImage = (command: string[], env: string[] = []) =>
  buildah(['run', '--isolation', 'chroot', ...env.flatMap((e) => ['--env', e]), container, '--', ...command]);
/** The processes under pid (this test started it): the children of each of its threads, recursively. */
const descendants = (pid: number): number[] => {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
  return [...children, ...children.flatMap(descendants)];
};
/** argv[0] of a process. */
const programOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));

test.after(() => {
  if (container) buildah(['rm', container]);
});

test('npm run image builds the Dockerfile from the real build context into an archive and an SBOM', () => {
  try {
    built = buildImage((line) => log.push(line));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${log.join('\n')}`, { cause: error });
  }
  assert.is(built.image, IMAGE);
  // A docker-archive (what `ctr images import` and `docker load` read), tagged with the image's name.
  const [manifest] = JSON.parse(execFileSync('tar', ['-xOf', built.archive, 'manifest.json'], { encoding: 'utf8' }));
  assert.equal(manifest.RepoTags, [IMAGE]);
  assert.ok(existsSync(built.sbom), 'SBOM beside the archive');
  container = ok(['from', '--pull=never', IMAGE]);
  rootfs = ok(['mount', container]);
});

test('the image config: non-root, the host bundle as its command, kubectl-pando on the PATH', () => {
  const config = JSON.parse(ok(['inspect', '--type', 'image', IMAGE])).OCIv1.config;
  assert.is(config.User, '65532:65532');
  assert.equal(config.Cmd, ['node', ...IMAGE_NODE_FLAGS, 'dist/serve.js']);
  assert.is(config.WorkingDir, '/app');
  const path = (config.Env as string[]).find((e) => e.startsWith('PATH='))!;
  assert.ok(path.startsWith('PATH=/app/dist/bin:'), path);
  assert.ok((config.Env as string[]).includes('NODE_ENV=production'));
});

test('/app holds the bundles and the SBOM only: no node_modules, no sources', () => {
  const app = join(rootfs, 'app');
  assert.equal(
    files(app)
      .map((f) => relative(app, f))
      .sort(),
    ['dist/bin/kubectl-pando', 'dist/serve.js', 'dist/serve.js.map', 'dist/tls-setup.js', 'package.json', 'sbom.cdx.json'],
  );
  assert.ok((statSync(join(app, 'dist/bin/kubectl-pando')).mode & 0o111) !== 0, 'kubectl-pando executable');
});

test('Node 24 inside, as the lockfile pins it; the programs run as uid 65532', () => {
  const node = inImage(['node', '--version']);
  assert.is(node.code, 0, node.stderr);
  assert.is(node.stdout.trim(), `v${NODE_VERSION}`);
  assert.match(NODE_VERSION, /^24\./);
  const uid = inImage(['node', '-p', 'process.getuid() + ":" + process.getgid()']);
  assert.is(uid.stdout.trim(), '65532:65532', uid.stderr);
});

test('kubectl-pando runs from the PATH with no node_modules', () => {
  const run = inImage(['kubectl-pando', 'version']);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout, `kubectl-pando ${version}\n`);
});

test('the TLS setup bundle loads and says what is missing without a cluster', () => {
  const run = inImage(['node', 'dist/tls-setup.js']);
  assert.is(run.code, 1, run.stdout + run.stderr);
  const entry = JSON.parse(run.stdout.trim().split('\n').pop()!);
  assert.is(entry.msg, 'TLS setup failed: invalid configuration');
  assert.match(entry.problems.join('\n'), /KUBERNETES_SERVICE_HOST/);
});

test('the TLS setup bundle, run in the image as its Job runs it, fills the Secrets through a (fake) API server', async () => {
  const fake = await startFakeApi();
  // The service account files, readable by uid 65532. Not at Kubernetes' path: buildah run mounts
  // its own /run/secrets (where /var/run/secrets leads), so the Job's file settings point there.
  const account = mkdtempSync(join(tmpdir(), 'pando-image-sa-'));
  chmodSync(account, 0o755);
  writeFileSync(join(account, 'token'), fake.token, { mode: 0o644 });
  writeFileSync(join(account, 'ca.crt'), fake.caPem, { mode: 0o644 });
  try {
    const env = [
      `KUBERNETES_SERVICE_HOST=${fake.host}`,
      `KUBERNETES_SERVICE_PORT=${fake.port}`,
      'PANDO_KUBE_TOKEN_FILE=/etc/pando-test/serviceaccount/token',
      'PANDO_KUBE_CA_FILE=/etc/pando-test/serviceaccount/ca.crt',
    ];
    const flags = ['--volume', `${account}:/etc/pando-test/serviceaccount:ro`, ...env.flatMap((e) => ['--env', e])];
    // Not spawnSync: the fake API server answers from this process's event loop.
    const job = spawn('buildah', [...STORAGE_FLAGS, 'run', '--isolation', 'chroot', ...flags, container, '--', 'node', 'dist/tls-setup.js'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: BUILDAH_ENV,
    });
    let output = '';
    job.stdout.on('data', (d) => (output += d));
    job.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => job.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => job.on('exit', resolve));
    clearTimeout(timer);
    assert.is(code, 0, output);
    assert.equal(Object.keys(fake.secretText('pando-webhook-tls')).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.equal(fake.state.problems, []);
  } finally {
    await fake.close();
    rmSync(account, { recursive: true, force: true });
  }
});

test('the image command serves /healthz and an admission on loopback, then drains on SIGTERM', async () => {
  const port = await freePort();
  const config = JSON.parse(ok(['inspect', '--type', 'image', IMAGE])).OCIv1.config;
  const args = [...STORAGE_FLAGS, 'run', '--isolation', 'chroot', '--env', `PORT=${port}`, container, '--', ...config.Cmd];
  const server = spawn('buildah', args, { stdio: ['ignore', 'pipe', 'pipe'], env: BUILDAH_ENV });
  let output = '';
  let started: number[] = [];
  server.stdout.on('data', (d) => (output += d));
  server.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (!/"msg":"serving"/.test(output)) {
      assert.ok(Date.now() < deadline && server.exitCode === null, `server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    started = descendants(server.pid!);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.is(health.status, 200);
    const res = await fetch(`http://127.0.0.1:${port}/?timeout=10s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(readFixture('deployment-pod')),
    });
    assert.is(res.status, 200);
    const review = (await res.json()) as any;
    assert.is(review.response.allowed, true);
    assert.ok(review.response.patch, 'the fixture is injected');
    // buildah run answers SIGTERM with SIGKILL to its child, so the signal goes to node itself,
    // as the kubelet's does in a pod: it must drain and exit 0.
    const node = started.find((pid) => programOf(pid).endsWith('/bin/node')); // buildah runs it by its full path
    assert.ok(node, 'the node process under buildah run');
    process.kill(node!, 'SIGTERM');
    assert.is(await exited, 0, output);
    assert.match(output, /"msg":"stopped","reason":"SIGTERM"/);
  } finally {
    // buildah's SIGKILL would leave node running under its chroot helper: end each by its PID.
    for (const pid of started.reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    server.kill('SIGKILL');
  }
});

test('the SBOM in the image, and beside the archive, lists the bundled packages at their locked versions', () => {
  const inside = readFileSync(join(rootfs, 'app', 'sbom.cdx.json'), 'utf8');
  assert.is(readFileSync(built!.sbom, 'utf8'), inside);
  const bom = JSON.parse(inside);
  assert.is(bom.bomFormat, 'CycloneDX');
  const versions = new Map(bom.components.map((c: any) => [c.name, c.version]));
  for (const name of ['zod', 'rfc6902', '@kubernetes/client-node']) assert.is(versions.get(name), lock[`node_modules/${name}`].version, name);
  assert.is(versions.get('node'), NODE_VERSION);
  // Its hashes are those of the files the image holds.
  for (const file of ['dist/serve.js', 'dist/tls-setup.js', 'dist/bin/kubectl-pando']) {
    const component = bom.components.find((c: any) => c.name === file);
    assert.is(
      component.hashes[0].content,
      createHash('sha256')
        .update(readFileSync(join(rootfs, 'app', file)))
        .digest('hex'),
      file,
    );
  }
});

test.run();
