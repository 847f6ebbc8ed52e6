// npm run e2e: brings up a local control plane of its own (etcd, kube-apiserver, the webhook
// installed as a user installs it), runs the suites in e2e/suite against it with uvu, and takes
// it down again. Ends with the runner's "N passed, N failed" line.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, up } from './harness/cluster';
import { REPO } from './harness/tools';

async function main(): Promise<number> {
  const dir = process.env.PANDO_E2E_DIR ?? mkdtempSync(join(tmpdir(), 'pando-e2e-'));
  const started = Date.now();
  const say = (line: string) => console.log(`e2e: ${line}`);
  try {
    await up({ dir, say });
    say(`control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const filter = process.argv[2];
    // Not spawnSync: this process must go on reaping the daemons it started (the suites stop and
    // start the webhook), or they linger as zombies.
    const runner = spawn(process.execPath, [join(REPO, 'build', 'scripts', 'test.js'), '--root', join(__dirname, 'suite'), ...(filter ? [filter] : [])], {
      stdio: 'inherit',
      env: { ...process.env, PANDO_E2E_DIR: dir },
    });
    const code = await new Promise<number>((resolve) => runner.on('close', (status) => resolve(status ?? 1)));
    say(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return code;
  } catch (error) {
    console.error(`e2e: ${(error as Error).message}`);
    console.log('0 passed, 1 failed');
    return 1;
  } finally {
    if (!process.env.PANDO_E2E_KEEP) await down(dir);
  }
}

main().then((code) => {
  process.exitCode = code;
});
