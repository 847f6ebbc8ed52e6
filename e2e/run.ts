// npm run e2e: brings up a local cluster of its own (etcd, kube-apiserver, the controllers, a node
// with containerd, kubelet, kube-proxy, kube-scheduler and CoreDNS, the webhook installed as a user
// installs it), runs the suites in e2e/suite against it with uvu, takes it down again, and then
// runs e2e/after-down: nothing of the cluster is left on the host. Ends with the runner's
// "N passed, N failed" line (both runs counted).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, readState, up } from './harness/cluster';
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
  const counts = /^(\d+) passed, (\d+) failed$/m.exec(output.trimEnd().split('\n').at(-1) ?? '');
  return { code, passed: Number(counts?.[1] ?? 0), failed: counts ? Number(counts[2]) : 1 };
}

async function main(): Promise<number> {
  const dir = process.env.PANDO_E2E_DIR ?? mkdtempSync(join(tmpdir(), 'pando-e2e-'));
  const started = Date.now();
  const say = (line: string) => console.log(`e2e: ${line}`);
  const filter = process.argv[2];
  const before = `${dir}.host-before.json`;
  const totals = { passed: 0, failed: 0 };
  let code = 1;
  try {
    writeFileSync(before, JSON.stringify(hostSnapshot()));
    await up({ dir, say, node: true });
    say(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const suites = await runSuites(join(__dirname, 'suite'), filter, { PANDO_E2E_DIR: dir });
    totals.passed += suites.passed;
    totals.failed += suites.failed;
    code = suites.code;
  } catch (error) {
    console.error(`e2e: ${(error as Error).message}`);
    totals.failed += 1;
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
    const after = await runSuites(join(__dirname, 'after-down'), undefined, { PANDO_E2E_DIR: dir, PANDO_E2E_HOST_BEFORE: before });
    totals.passed += after.passed;
    totals.failed += after.failed;
    if (after.code !== 0) code = 1;
  }
  rmSync(before, { force: true });
  rmSync(`${dir}.state.json`, { force: true });
  say(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${totals.passed} passed, ${totals.failed} failed`);
  return code || (totals.failed ? 1 : 0);
}

main().then((code) => {
  process.exitCode = code;
});
