// `npm run bench`: the performance benchmark. In-process core cost, the servers over HTTP and
// HTTPS (the floors, the framework's no-op, the webhook), cold start of the image's command
// beside a hello world, and memory; prints tables with the ratios and each target met or not,
// writes bench/results.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../function/config';
import { benchCore } from '../bench/core';
import { admissionCheck, coldStarts, helloCheck, nodeStartMs } from '../bench/coldstart';
import { benchHttp, HTTP_LOAD } from '../bench/http';
import { benchMemory } from '../bench/memory';
import { TYPICAL_FIXTURE } from '../bench/pods';
import { benchMetricsCost, METRICS_COST_LOAD } from '../bench/metrics-cost';
import { buildMetricsOff } from '../bench/metrics-off';
import { DIST, HELLO_ENTRY, IMAGE_NODE_FLAGS, NODE20, PRODUCTION_ENTRY, serverSpecs, throwawayCert, UNBUNDLED_ENTRY } from '../bench/servers';
import { plotMetricsCost } from '../bench/plot';
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

  progress('the metrics-off bundle (bench only)');
  const metricsOffEntry = await buildMetricsOff();
  // Node 20 beside this process's Node 24, for the comparison rows; left out, and said so, when absent.
  const node20Version = existsSync(NODE20) ? spawnSync(NODE20, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  const node20 = node20Version.startsWith('v20.') ? NODE20 : undefined;
  if (!node20) progress(`no Node 20 at ${NODE20} (${node20Version || 'absent'}): the Node 20 rows are left out`);

  const tls = throwawayCert();
  let results: Results;
  try {
    const specs = serverSpecs(tls, { metricsOffEntry, node20 });
    const http = await benchHttp(specs, body, config, progress);
    const metricsCost = await benchMetricsCost(
      specs.find((s) => s.key === 'webhook_http')!,
      specs.find((s) => s.key === 'webhook_http_metrics_off')!,
      body,
      config,
      progress,
    );
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
      machine: { ...machine, ...(node20 ? { node20: node20Version } : {}) },
      body: { fixture: TYPICAL_FIXTURE, bytes: Buffer.byteLength(body) },
      load: HTTP_LOAD,
      core,
      http,
      metricsCost: { load: METRICS_COST_LOAD, ...metricsCost },
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
  const plot = plotMetricsCost(results);
  if (plot) writeFileSync(join(ROOT, 'bench', 'metrics-cost.svg'), plot);
  printReport(results);
  console.log(`\nwritten: bench/results.json (${results.benchSeconds} s)`);
}

main().catch((error) => {
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
