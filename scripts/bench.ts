// `npm run bench`: the performance benchmark. In-process core cost, the servers over HTTP and
// HTTPS (the floors, the framework's no-op, the webhook), cold start of the image's command
// beside a hello world, and memory; prints tables with the ratios and each target met or not,
// writes bench/results.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../function/config';
import { benchCore } from '../bench/core';
import { admissionCheck, coldStarts, helloCheck, nodeStartMs } from '../bench/coldstart';
import { benchHttp, HTTP_LOAD } from '../bench/http';
import { benchMemory } from '../bench/memory';
import { TYPICAL_FIXTURE } from '../bench/pods';
import { DIST, HELLO_ENTRY, IMAGE_NODE_FLAGS, PRODUCTION_ENTRY, serverSpecs, throwawayCert, UNBUNDLED_ENTRY } from '../bench/servers';
import { printReport, Results } from '../bench/report';
import { readFixture } from '../test/support/fixtures';
import { version } from '../package.json';

const ROOT = join(DIST, '..');
const progress = (line: string) => process.stderr.write(`… ${line}\n`);

async function main() {
  const began = performance.now();
  const config = loadConfig(process.env, version); // as the served webhook reads it
  const body = JSON.stringify(readFixture(TYPICAL_FIXTURE)); // compact, as the API server sends it
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const machine = { nproc: cpus().length, cpu, node: process.version, platform: `${process.platform}-${process.arch}` };

  progress('in-process core');
  const core = benchCore(config);

  const tls = throwawayCert();
  let results: Results;
  try {
    const specs = serverSpecs(tls);
    const http = await benchHttp(specs, body, config, progress);
    progress('cold start');
    const admission = admissionCheck(body, config);
    const cold = await coldStarts(
      [
        { entry: PRODUCTION_ENTRY, flags: IMAGE_NODE_FLAGS, correct: admission },
        { entry: HELLO_ENTRY, correct: helloCheck },
        { entry: UNBUNDLED_ENTRY, flags: IMAGE_NODE_FLAGS, correct: admission },
      ],
      body,
    );
    progress('memory over 100,000 admissions');
    const memory = await benchMemory(
      specs.find((s) => s.key === 'webhook_http')!,
      body,
      config,
    );
    results = {
      date: new Date().toISOString(),
      machine,
      body: { fixture: TYPICAL_FIXTURE, bytes: Buffer.byteLength(body) },
      load: HTTP_LOAD,
      core,
      http,
      coldStart: { nodeEmptyScriptMs: nodeStartMs(), entries: cold.map((c) => ({ ...c, entry: c.entry.slice(ROOT.length + 1) })) },
      memory,
      benchSeconds: 0,
    };
  } finally {
    tls.cleanup();
  }
  results.benchSeconds = Math.round((performance.now() - began) / 100) / 10;
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  printReport(results);
  console.log(`\nwritten: bench/results.json (${results.benchSeconds} s)`);
}

main().catch((error) => {
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
