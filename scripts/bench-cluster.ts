// npm run bench:cluster: what a protected pod creation costs the API server with our webhook,
// against no webhook and against a no-op webhook served the same way, on the local cluster with
// its node (bench/cluster.ts). Each workload runs every setup in turn, in a rotating order, on
// the same cluster; the figures that count are the ratios within one run. Prints a table and
// writes bench/cluster-results.json.
//
// BENCH_SECONDS (60): how long each steady rate runs; BENCH_RATES (20,100): pods per second;
// BENCH_BURST (500): a Deployment scaled 0 -> N; BENCH_JOB (1000/100): completions/parallelism;
// BENCH_ROUNDS (1): turns per setup and workload.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apiServerMetrics,
  clear,
  deploymentBurst,
  EXCLUDED,
  jobBurst,
  NAMESPACE_OF,
  percentile,
  prepare,
  SETUPS,
  steady,
  webhookCpuSeconds,
  webhookDuration,
  webhookOf,
  type Setup,
} from '../bench/cluster';
import { down, up } from '../e2e/harness/cluster';
import { adminApi } from '../e2e/harness/kubeconfig';
import { installedDocuments } from '../e2e/harness/release';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const SECONDS = Number(env('BENCH_SECONDS', '60'));
const RATES = env('BENCH_RATES', '20,100').split(',').map(Number);
const BURST = Number(env('BENCH_BURST', '500'));
const [COMPLETIONS, PARALLELISM] = env('BENCH_JOB', '1000/100').split('/').map(Number);
const ROUNDS = Number(env('BENCH_ROUNDS', '1'));
const say = (line: string) => console.log(`bench:cluster: ${line}`);

interface Row {
  workload: string;
  setup: Setup;
  round: number;
  pods: number;
  failures: number;
  seconds: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  /** The API server's mean time in the setup's webhook call, from its own histogram (sum / count). */
  apiServerMeanMs?: number;
  webhookCalls: number;
  /** The setup's webhook pods' CPU (their cgroups) per call. */
  cpuMsPerCall?: number;
  firstFailure?: string;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'pando-bench-cluster-'));
  const state = await up({ dir, say, helmSet: [`excludedNamespaces={${EXCLUDED.join(',')}}`] });
  const api = adminApi(state);
  const rows: Row[] = [];
  try {
    const ours = installedDocuments(state).find((d) => d.kind === 'Deployment' && d.metadata.name === 'pando-webhook');
    if (!ours) throw new Error('the install has no pando-webhook Deployment');
    const container = ours.spec.template.spec.containers[0];
    say('the no-op webhook: our image, node:https answering allowed: true, same replicas and resources');
    await prepare(state, ours.spec.replicas, container.resources);

    const measure = async (workload: string, setup: Setup, round: number, run: () => Promise<Omit<Row, 'workload' | 'setup' | 'round' | 'webhookCalls'>>) => {
      const namespace = NAMESPACE_OF[setup];
      await clear(state, namespace);
      const metricsBefore = webhookDuration(apiServerMetrics(state), webhookOf(setup));
      const cpuBefore = webhookCpuSeconds(state, setup);
      const result = await run();
      const metricsAfter = webhookDuration(apiServerMetrics(state), webhookOf(setup));
      const cpu = webhookCpuSeconds(state, setup) - cpuBefore;
      const calls = metricsAfter.count - metricsBefore.count;
      const row: Row = {
        workload,
        setup,
        round,
        ...result,
        webhookCalls: calls,
        ...(calls > 0 ? { apiServerMeanMs: ((metricsAfter.sum - metricsBefore.sum) / calls) * 1000, cpuMsPerCall: (cpu / calls) * 1000 } : {}),
      };
      rows.push(row);
      say(JSON.stringify(row));
    };
    const turns = (round: number) => SETUPS.map((_, i) => SETUPS[(i + round) % SETUPS.length]);

    for (const rate of RATES) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const setup of turns(round)) {
          await measure(`steady ${rate}/s for ${SECONDS} s`, setup, round, async () => {
            const sample = await steady(api, NAMESPACE_OF[setup], rate, rate * SECONDS, `s${rate}-${round}`);
            return {
              pods: sample.latenciesMs.length,
              failures: sample.failures.length,
              seconds: sample.seconds,
              p50Ms: percentile(sample.latenciesMs, 50),
              p99Ms: percentile(sample.latenciesMs, 99),
              maxMs: Math.max(...sample.latenciesMs),
              ...(sample.failures.length ? { firstFailure: sample.failures[0] } : {}),
            };
          });
        }
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const setup of turns(round + 1)) {
        await measure(`Deployment 0 -> ${BURST}`, setup, round, async () => {
          const burst = await deploymentBurst(state, api, NAMESPACE_OF[setup], `burst-${round}`, BURST);
          return { pods: burst.created, failures: 0, seconds: burst.seconds };
        });
      }
      for (const setup of turns(round + 2)) {
        await measure(`Job ${COMPLETIONS} completions, parallelism ${PARALLELISM}`, setup, round, async () => {
          const job = await jobBurst(state, api, NAMESPACE_OF[setup], `job-${round}`, COMPLETIONS, PARALLELISM);
          return { pods: job.created, failures: 0, seconds: job.seconds };
        });
      }
    }
  } finally {
    api.close();
    await down(dir, say);
  }
  const file = join(__dirname, '..', '..', 'bench', 'cluster-results.json');
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
  report(rows);
  say(`results in ${file}`);
  const failed = rows.filter((row) => row.failures > 0);
  return failed.length ? 1 : 0;
}

const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(1));

function report(rows: Row[]) {
  console.log('\nworkload                                  setup  pods  fail  p50 ms  p99 ms  max ms  pods/s  API server mean ms  CPU ms/call');
  for (const row of rows) {
    console.log(
      [
        row.workload.padEnd(41),
        row.setup.padEnd(5),
        String(row.pods).padStart(5),
        String(row.failures).padStart(5),
        ms(row.p50Ms).padStart(7),
        ms(row.p99Ms).padStart(7),
        ms(row.maxMs).padStart(7),
        (row.pods / row.seconds).toFixed(0).padStart(7),
        ms(row.apiServerMeanMs).padStart(19),
        ms(row.cpuMsPerCall).padStart(12),
      ].join(' '),
    );
  }
}

// The package's version, so a result names what it measured.
say(`pando-webhook ${JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version}`);
main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`bench:cluster: ${error.message}`);
    process.exitCode = 1;
  },
);
