// npm run e2e: brings up a local cluster of its own (etcd, kube-apiserver, the controllers, a node
// with containerd, kubelet, kube-proxy, kube-scheduler and CoreDNS, the webhook installed as a user
// installs it and run by the node), runs the suites in e2e/suite against it with uvu and takes it
// down; then e2e/release, whose suite brings up a cluster of its own for the Helm lifecycle (one
// node per machine, so after the first is down); then e2e/local, `npm run cluster -- up` as a user
// runs it on the default platform (knative); then e2e/after-down: nothing of any cluster is left
// on the host. Ends with the runner's "N passed, N failed, N skipped" line (every run counted). An
// optional filter (a regex on the test file's path under its root) picks the suites.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, up } from './harness/cluster';
import { readState } from './harness/state';
import { hostSnapshot } from './after-down/snapshot';
import { REPO } from './harness/tools';

/** Runs the uvu runner on a directory; echoes its output and returns its counts. */
async function runSuites(root: string, filter: string | undefined, env: NodeJS.ProcessEnv) {
  // Not spawnSync: this process must go on reaping the daemons it started (the suites stop and
  // start the webhook), or they linger as zombies.
  const runner = spawn(process.execPath, [join(REPO, 'build', 'scripts', 'test.js'), '--root', root, ...(filter ? [filter] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  // Shown as it comes; the runner's closing line is counted into run.ts's own.
  let output = '';
  runner.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
    process.stdout.write(chunk);
  });
  const code = await new Promise<number>((resolve) => runner.on('close', (status) => resolve(status ?? 1)));
  const counts = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(output.trimEnd().split('\n').at(-1) ?? '');
  return { code, passed: Number(counts?.[1] ?? 0), failed: counts ? Number(counts[2]) : 1, skipped: Number(counts?.[3] ?? 0) };
}

/** Whether the filter picks any test file under root (the runner fails a run of none). */
function picks(root: string, filter: string | undefined): boolean {
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.js'));
  return files.some((file) => !filter || new RegExp(filter).test(file));
}

async function main(): Promise<number> {
  const dir = process.env.PANDO_E2E_DIR ?? mkdtempSync(join(tmpdir(), 'pando-e2e-'));
  const started = Date.now();
  const say = (line: string) => console.log(`e2e: ${line}`);
  const filter = process.argv[2];
  const before = `${dir}.host-before.json`;
  const totals = { passed: 0, failed: 0, skipped: 0 };
  let code = 0;
  const count = (run: { code: number; passed: number; failed: number; skipped: number }) => {
    totals.passed += run.passed;
    totals.failed += run.failed;
    totals.skipped += run.skipped;
    if (run.code !== 0) code = 1;
  };
  writeFileSync(before, JSON.stringify(hostSnapshot()));
  try {
    if (picks(join(__dirname, 'suite'), filter)) {
      await up({ dir, say });
      say(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      count(await runSuites(join(__dirname, 'suite'), filter, { PANDO_E2E_DIR: dir }));
    } else {
      rmSync(dir, { recursive: true, force: true }); // as down leaves it
    }
  } catch (error) {
    console.error(`e2e: ${(error as Error).message}`);
    totals.failed += 1;
    code = 1;
  } finally {
    if (!process.env.PANDO_E2E_KEEP) {
      const state = readState(dir);
      if (state) writeFileSync(`${dir}.state.json`, JSON.stringify(state));
      try {
        await down(dir, say);
      } catch (error) {
        console.error(`e2e: down: ${(error as Error).message}`);
      }
    }
  }
  if (!process.env.PANDO_E2E_KEEP) {
    if (picks(join(__dirname, 'release'), filter)) {
      say('the release suite: a cluster of its own');
      count(await runSuites(join(__dirname, 'release'), filter, {}));
    }
    if (picks(join(__dirname, 'local'), filter)) {
      say('npm run cluster -- up as a user runs it (the default platform, knative): a cluster of its own');
      count(await runSuites(join(__dirname, 'local'), filter, {}));
    }
    count(await runSuites(join(__dirname, 'after-down'), undefined, { PANDO_E2E_DIR: dir, PANDO_E2E_HOST_BEFORE: before }));
  }
  rmSync(before, { force: true });
  rmSync(`${dir}.state.json`, { force: true });
  say(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  return code || (totals.failed ? 1 : 0);
}

main().then((code) => {
  process.exitCode = code;
});
