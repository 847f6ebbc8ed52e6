// The command line: flags become the function's settings, bad usage and input get one clear
// line and exit 2, and the bundled executable runs as kubectl runs a plugin.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENV } from '../function/config';
import { FLAG_OF_ENV, injectionConfig, run } from './main';

const ROOT = join(__dirname, '..', '..');
const PLUGIN = join(ROOT, 'dist', 'bin', 'kubectl-pando');

async function runWith(argv: string[], stdin = '', env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: () => stdin, env });
  return { code, stdout, stderr };
}

const POD = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { 'pandocore.xyz/protect': 'true' } },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
});

test('every variable of the function has a flag; flags override the environment', () => {
  assert.is(Object.keys(FLAG_OF_ENV).length, Object.keys(ENV).length);
  assert.is(FLAG_OF_ENV.PANDO_SIDECAR_IMAGE, 'sidecar-image');
  const config = injectionConfig(
    { mode: 'enforce', 'sidecar-cpu-limit': '300m', native: true },
    { PANDO_DEFAULT_MODE: 'debug', PANDO_SIDECAR_IMAGE: 'registry.example/s:2' },
  );
  assert.is(config.defaultMode, 'enforce');
  assert.is(config.sidecarImage, 'registry.example/s:2');
  assert.is(config.resources.cpuLimit, '300m');
  assert.is(config.nativeSidecar, true);
});

test('inject from standard input with --image and --mode', async () => {
  const { code, stdout, stderr } = await runWith(['inject', '-f', '-', '--image', 'registry.example/pando-sidecar:9.9.9', '--mode', 'enforce'], POD);
  assert.is(code, 0, stderr);
  const pod = JSON.parse(stdout);
  const sidecar = pod.spec.containers[1];
  assert.is(sidecar.image, 'registry.example/pando-sidecar:9.9.9');
  assert.equal(sidecar.env[0], { name: 'PANDO_MODE', value: 'enforce' });
  assert.is(stderr, 'pod/web: injected (mode enforce)\n');
});

test('bad usage and bad input: one line naming the problem, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['inject'], /inject needs -f FILE/],
    [['inject', '-f', '/nonexistent/x.yaml'], /\/nonexistent\/x\.yaml: no such file or directory/],
    [['inject', '-f', '-', '--mode', 'loud'], /PANDO_DEFAULT_MODE="loud"/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['inject', '--bogus'], /Unknown option '--bogus'/],
    [['check', '-o', 'yaml'], /only -o json/],
    [['enable'], /enable needs one namespace/],
  ];
  for (const [argv, message] of cases) {
    const { code, stderr } = await runWith(argv, POD);
    assert.is(code, 2, argv.join(' '));
    assert.match(stderr, message, argv.join(' '));
  }
  const { code, stderr } = await runWith(['inject', '-f', '-'], '{"kind": ');
  assert.is(code, 2);
  assert.match(stderr, /^kubectl pando: -: not valid JSON/);
});

test('a directory: its manifests in name order, other files ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-cli-'));
  try {
    writeFileSync(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'a.json'), POD);
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const { code, stdout } = await runWith(['inject', '-f', dir]);
    assert.is(code, 0);
    const [first, second] = stdout.split(/^---\n/m);
    assert.is(JSON.parse(first).spec.containers[1].name, 'pando-sidecar');
    assert.is(second, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundled executable (the package bin) runs on its own, as kubectl runs plugins', () => {
  const result = spawnSync(PLUGIN, ['inject', '-f', '-'], { input: POD, encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.is(result.status, 0, result.stderr);
  assert.is(JSON.parse(result.stdout).spec.containers[1].name, 'pando-sidecar');
  const help = spawnSync(PLUGIN, ['--help'], { encoding: 'utf8' });
  assert.is(help.status, 0);
  assert.match(help.stdout, /kubectl pando inject -f FILE/);
});

test.run();
