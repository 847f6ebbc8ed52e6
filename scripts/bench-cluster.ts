// npm run bench:cluster: what a protected pod creation costs the API server with our webhook
// (with and without its matchCondition), against no webhook and against a no-op webhook served
// the same way, on the local cluster with its node (bench/cluster.ts). Each workload runs every
// setup in turn, in a rotating order reversed every other round, on the same cluster; the
// figures that count are the ratios within one run. Prints a table and writes
// bench/cluster-results.json.
//
// BENCH_SECONDS (60): how long each steady rate runs; BENCH_RATES (20,100): pods per second;
// BENCH_BURST (500): a Deployment scaled 0 -> N; BENCH_JOB (1000/100): completions/parallelism;
// BENCH_ROUNDS (1): turns per setup and workload; BENCH_REPLICAS (the chart's): the webhooks'
// replicas, several (1,2,3) to compare them, both webhooks scaled alike; BENCH_HELM_SET (none):
// more --set for our chart, ';'-separated (with webhook.skipInjected=false there is no always
// setup); BENCH_SETUPS (all): the setups to run, ','-separated, for a closer look at a few.
// Fails when a creation failed, a webhook call failed open, or one of our turn's pods lacks the
// sidecar. --report, --logs and --floor read what earlier runs kept, without a cluster.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditFlags, auditOffset, readCreations } from '../bench/audit';
import {
  apiServerMetrics,
  clear,
  deploymentBurst,
  etcdCompactions,
  etcdMetrics,
  EXCLUDED,
  jobBurst,
  matchConditionsSwitch,
  NAMESPACE_OF,
  prepare,
  scaleWebhook,
  selectorOf,
  SERVICE_OF,
  SETUPS,
  steady,
  uninjectedPods,
  webhookCpuSeconds,
  webhookDuration,
  webhookOf,
  type Setup,
} from '../bench/cluster';
import { noopServed, oursServed, readAdmissionLines, readServedTotals, webhookView } from '../bench/cluster-logs';
import { plotAdmissionTimes } from '../bench/cluster-plot';
import { clusterIpOf, cpuBetween, cpuSnapshot, saveLogs, watchConnections } from '../bench/cluster-watch';
import {
  at,
  judge,
  LIMITS,
  median,
  mutationFloor,
  printRows,
  printShares,
  printSpans,
  printTargets,
  QUANTILES,
  quantiles,
  shares,
  turnOrder,
  type FloorTurn,
  type Row,
  type Target,
} from '../bench/cluster-report';
import { apiClient } from '../e2e/harness/api';
import { down, up } from '../e2e/harness/cluster';
import { adminApi } from '../e2e/harness/kubeconfig';
import { installedDocuments } from '../e2e/harness/release';
import { toolsDir } from '../e2e/harness/tools';
import { freePort } from '../bench/processes';
import { readSpans, spansOffset, startSpanReceiver, summarizeSpans, tracingFlags } from '../bench/spans';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const SECONDS = Number(env('BENCH_SECONDS', '60'));
const RATES = env('BENCH_RATES', '20,100').split(',').map(Number);
const BURST = Number(env('BENCH_BURST', '500'));
const [COMPLETIONS, PARALLELISM] = env('BENCH_JOB', '1000/100').split('/').map(Number);
const ROUNDS = Number(env('BENCH_ROUNDS', '1'));
const HELM_SET = env('BENCH_HELM_SET', '').split(';').filter(Boolean);
const CHOSEN_SETUPS = env('BENCH_SETUPS', SETUPS.join(',')).split(',');
const unknownSetups = CHOSEN_SETUPS.filter((setup) => !(SETUPS as readonly string[]).includes(setup));
if (unknownSetups.length) {
  console.error(`bench:cluster: BENCH_SETUPS: unknown ${unknownSetups.join(', ')}; the setups are ${SETUPS.join(', ')}`);
  process.exit(2);
}
const say = (line: string) => console.log(`bench:cluster: ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RESULTS = join(__dirname, '..', '..', 'bench', 'cluster-results.json');
const PLOT = join(__dirname, '..', '..', 'bench', 'cluster-admission.svg');
/** The webhook pods' logs of the last run (not kept in git: megabytes). */
const LOGS = join(__dirname, '..', '..', 'bench', 'cluster-logs');
/** The audit log is written in batches, at least once a second. */
const AUDIT_FLUSH_MS = 2500;
/** After clearing, for the watchers (scheduler, controllers) to take in the deletions. */
const SETTLE_MS = 5000;

type Measured = Pick<Row, 'pods' | 'failures' | 'seconds' | 'clientMs' | 'firstFailure'>;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'pando-bench-cluster-'));
  // Beside the cluster's directory, which up() empties first.
  const auditDir = mkdtempSync(join(tmpdir(), 'pando-bench-audit-'));
  const audit = auditFlags(auditDir, Object.values(NAMESPACE_OF));
  // The API server's spans of the traced creations (bench/spans.ts), received on loopback.
  const spans = startSpanReceiver(join(toolsDir(), 'otlp-spans'), auditDir, await freePort());
  const apiServerFlags = [...audit.flags, ...tracingFlags(auditDir, spans.endpoint)];
  /** The cluster down, the receiver stopped, its spans kept beside the pods' logs, the audit files removed. */
  const tearDown = async () => {
    await down(dir, say);
    spans.stop();
    if (existsSync(spans.file)) {
      mkdirSync(LOGS, { recursive: true });
      copyFileSync(spans.file, join(LOGS, 'spans.jsonl'));
      say(`the API server's spans: ${join(LOGS, 'spans.jsonl')}`);
    }
    rmSync(auditDir, { recursive: true, force: true });
  };
  const state = await up({ dir, say, helmSet: [`excludedNamespaces={${EXCLUDED.join(',')}}`, ...HELM_SET], apiServerFlags }).catch(async (error: Error) => {
    // A half-started cluster must not outlive the run (nor the node lock held around it).
    await tearDown();
    throw error;
  });
  const api = adminApi(state);
  // The steady rates' own client: enough sockets that a slow answer never queues the next creation.
  const creator = apiClient({ server: state.server, token: state.adminToken, ca: readFileSync(state.caFile, 'utf8') }, 256);
  const rows: Row[] = [];
  let chartReplicas: number | undefined;
  try {
    const ours = installedDocuments(state).find((d) => d.kind === 'Deployment' && d.metadata.name === 'pando-webhook');
    if (!ours) throw new Error('the install has no pando-webhook Deployment');
    const installed: number = ours.spec.replicas;
    chartReplicas = installed;
    const container = ours.spec.template.spec.containers[0];
    say('the no-op webhook: our image, node:https answering allowed: true, same replicas and resources; its replay answers our patch');
    await prepare(state, api, installed, container.resources);
    const switchMatchConditions = matchConditionsSwitch(state);
    const setups = SETUPS.filter((setup) => CHOSEN_SETUPS.includes(setup) && (setup !== 'always' || switchMatchConditions));
    if (!switchMatchConditions) say('our webhook has no matchCondition (BENCH_HELM_SET): no always setup');

    const measure = async (
      workload: string,
      kind: Row['kind'],
      setup: Setup,
      replicas: number,
      round: number,
      run: (traced: Set<string>) => Promise<Measured>,
    ) => {
      const namespace = NAMESPACE_OF[setup];
      if (setup === 'ours' || setup === 'always') switchMatchConditions?.(setup === 'ours');
      // Every setup's namespace, not only this one's: the pods a turn leaves (6,000 at 100/s) weigh
      // on the API server's and the controllers' caches, and so on whichever setup runs next.
      for (const each of new Set(Object.values(NAMESPACE_OF))) await clear(state, api, each);
      await sleep(SETTLE_MS);
      const offset = auditOffset(audit.log);
      const spansFrom = spansOffset(spans.file);
      const metricsBefore = webhookDuration(apiServerMetrics(state), webhookOf(setup));
      const etcdBefore = etcdCompactions(await etcdMetrics(state));
      const cpuBefore = webhookCpuSeconds(state, setup);
      const service = SERVICE_OF[setup];
      const watch = watchConnections(service && clusterIpOf(state, service));
      const cpuAtStart = cpuSnapshot();
      // After the snapshot (it reads all of /proc): bench/cluster-logs.ts times the sends from here.
      const started = new Date().toISOString();
      // The creations a steady turn sends with a traceparent (bench/spans.ts); a burst adds none.
      const traced = new Set<string>();
      const result = await run(traced);
      const cpu = cpuBetween(cpuAtStart, cpuSnapshot());
      const ended = new Date().toISOString();
      const connections = await watch.stop();
      await sleep(AUDIT_FLUSH_MS);
      const metricsAfter = webhookDuration(apiServerMetrics(state), webhookOf(setup));
      const etcdAfter = etcdCompactions(await etcdMetrics(state));
      const cpuAfter = webhookCpuSeconds(state, setup);
      const audited = readCreations(audit.log, offset, namespace);
      const calls = metricsAfter.count - metricsBefore.count;
      const traces = traced.size ? await spansOf(spans.file, spansFrom, traced, webhookOf(setup)) : undefined;
      const evaluations = metricsAfter.matchCount - metricsBefore.matchCount;
      const row: Row = {
        workload,
        kind,
        setup,
        replicas,
        round,
        ...result,
        started,
        ended,
        loadAverage: loadavg()[0],
        machineCpu: cpu,
        ...(connections ? { connections } : {}),
        failures: result.failures + (kind === 'burst' ? audited.failed : 0),
        serverMs: quantiles(audited.latenciesMs),
        audited: audited.latenciesMs.length,
        webhookCalls: calls,
        failedOpen: Math.max(metricsAfter.failedOpen - metricsBefore.failedOpen, audited.failedOpen),
        rejected: metricsAfter.rejected - metricsBefore.rejected,
        ...(evaluations > 0 ? { matchCondition: { meanMs: ((metricsAfter.matchSum - metricsBefore.matchSum) / evaluations) * 1000, evaluations } } : {}),
        ...(result.pods > 0
          ? {
              steps: {
                admitMsPerPod: ((metricsAfter.admitSum - metricsBefore.admitSum) / result.pods) * 1000,
                validateMsPerPod: ((metricsAfter.validateSum - metricsBefore.validateSum) / result.pods) * 1000,
                admitPassesPerPod: (metricsAfter.webhookPluginPasses - metricsBefore.webhookPluginPasses) / result.pods,
                inTreeAdmitMsPerPod: ((metricsAfter.inTreeAdmitSum - metricsBefore.inTreeAdmitSum) / result.pods) * 1000,
              },
            }
          : {}),
        ...(setup !== 'none' && setup !== 'noop' ? { uninjected: uninjectedPods(state, namespace).length } : {}),
        ...(traces ? { spans: traces } : {}),
        etcd: {
          compactions: etcdAfter.compactions - etcdBefore.compactions,
          compactionMs: etcdAfter.compactionMs - etcdBefore.compactionMs,
          keys: etcdAfter.keys - etcdBefore.keys,
        },
        ...(calls > 0
          ? {
              apiServerMeanMs: ((metricsAfter.sum - metricsBefore.sum) / calls) * 1000,
              cpuMsPerCall: ((cpuAfter.used - cpuBefore.used) / calls) * 1000,
              throttledMs: (cpuAfter.throttled - cpuBefore.throttled) * 1000,
              waitedMsPerCall: ((cpuAfter.waited - cpuBefore.waited) / calls) * 1000,
              waitedMainMsPerCall: ((cpuAfter.waitedMain - cpuBefore.waitedMain) / calls) * 1000,
            }
          : {}),
      };
      rows.push(row);
      // Kept as it goes: a run stopped halfway still leaves its turns.
      writeFileSync(RESULTS, `${JSON.stringify({ partial: true, date: new Date().toISOString(), quantiles: QUANTILES, rows }, null, 2)}\n`);
      const { clientMs, serverMs, ...shown } = row;
      say(JSON.stringify({ ...shown, clientP50: clientMs && clientMs[50], serverP50: serverMs?.[50] }));
    };
    const turns = (round: number) => turnOrder(setups, round);

    const replicaCounts = env('BENCH_REPLICAS', String(installed)).split(',').map(Number);
    for (const replicas of replicaCounts) {
      say(`both webhooks at ${replicas} replicas`);
      await scaleWebhook(state, 'noop', replicas);
      await scaleWebhook(state, 'ours', replicas);
      for (const rate of RATES) {
        for (let round = 0; round < ROUNDS; round++) {
          for (const setup of turns(round)) {
            await measure(`steady ${rate}/s for ${SECONDS} s`, 'steady', setup, replicas, round, async (traced) => {
              const sample = await steady(creator, NAMESPACE_OF[setup], rate, rate * SECONDS, `s${rate}-${round}`, traced);
              return {
                pods: rate * SECONDS - sample.failures.length,
                failures: sample.failures.length,
                seconds: sample.seconds,
                clientMs: quantiles(sample.latenciesMs),
                ...(sample.failures.length ? { firstFailure: sample.failures[0] } : {}),
              };
            });
          }
        }
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (const setup of turns(round + 1)) {
          await measure(`Deployment 0 -> ${BURST}`, 'burst', setup, replicas, round, async () => {
            const burst = await deploymentBurst(state, NAMESPACE_OF[setup], `burst-${round}`, BURST);
            return { pods: burst.created, failures: 0, seconds: burst.seconds };
          });
        }
        for (const setup of turns(round + 2)) {
          await measure(`Job ${COMPLETIONS} completions, parallelism ${PARALLELISM}`, 'burst', setup, replicas, round, async () => {
            const job = await jobBurst(state, NAMESPACE_OF[setup], `job-${round}`, COMPLETIONS, PARALLELISM);
            return { pods: job.created, failures: 0, seconds: job.seconds };
          });
        }
      }
    }
  } finally {
    creator.close();
    api.close();
    try {
      rmSync(LOGS, { recursive: true, force: true });
      const files = [...saveLogs(state, selectorOf('ours'), join(LOGS, 'ours')), ...saveLogs(state, selectorOf('noop'), join(LOGS, 'noop'))];
      say(`the webhook pods' logs: ${files.join(', ')}`);
      addServed(rows);
    } catch (error) {
      say(`the webhook pods' logs could not be kept: ${(error as Error).message}`);
    }
    await tearDown();
  }
  const date = new Date().toISOString();
  const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${process.platform}-${process.arch}, Node ${process.version}`;
  const replicaCounts = [...new Set(rows.map((row) => row.replicas))];
  const targets: Record<number, Target[]> = Object.fromEntries(replicaCounts.map((replicas) => [replicas, judge(rows, replicas)]));
  const file = RESULTS;
  const settings = {
    seconds: SECONDS,
    rates: RATES,
    burst: BURST,
    job: { completions: COMPLETIONS, parallelism: PARALLELISM },
    rounds: ROUNDS,
    replicas: replicaCounts,
    ...(HELM_SET.length ? { helmSet: HELM_SET } : {}),
    ...(process.env.BENCH_SETUPS ? { setups: CHOSEN_SETUPS } : {}),
  };
  const where = Object.fromEntries(replicaCounts.map((replicas) => [replicas, shares(rows, replicas)]));
  writeFileSync(file, `${JSON.stringify({ date, machine, node: process.version, settings, quantiles: QUANTILES, rows, targets, shares: where }, null, 2)}\n`);
  const plotReplicas = chartReplicas !== undefined && replicaCounts.includes(chartReplicas) ? chartReplicas : replicaCounts[0];
  writeFileSync(PLOT, plotAdmissionTimes(rows, { date, machine, replicas: plotReplicas }));
  printRows(rows);
  printSpans(rows);
  for (const replicas of replicaCounts) {
    printTargets(targets[replicas], replicas);
    printShares(where[replicas], replicas);
  }
  say(`results in ${file}, plot in ${PLOT}`);
  // The zero checks fail the run; the ratio targets are reported.
  const broken = Object.values(targets)
    .flat()
    .filter((target) => target.want === '0' && !target.met);
  for (const target of broken) say(`FAILED: ${target.workload}: ${target.what}: ${target.text}`);
  return broken.length ? 1 : 0;
}

/** The API server exports its spans in batches (every 5 s): waits until every traced creation's root span is in, 20 s at most. */
async function spansOf(file: string, offset: number, traced: ReadonlySet<string>, webhook: string | undefined) {
  const deadline = performance.now() + 20_000;
  for (;;) {
    const summary = summarizeSpans(readSpans(file, offset), traced, webhook);
    if (summary.received >= summary.traced || performance.now() > deadline) return summary;
    await sleep(1000);
  }
}

/** Each turn's calls and mean time inside its webhook's pods, from the logs just kept (Row.served). */
function addServed(rows: Row[]) {
  const read = <T>(setup: 'ours' | 'noop', parse: (text: string, source: string) => T[]) =>
    readdirSync(join(LOGS, setup)).flatMap((file) => parse(readFileSync(join(LOGS, setup, file), 'utf8'), file.replace(/\.log$/, '')));
  const admissions = read('ours', readAdmissionLines);
  const totals = read('noop', readServedTotals);
  for (const row of rows) {
    if (row.setup === 'none') continue;
    const served = row.setup === 'ours' || row.setup === 'always' ? oursServed(row, admissions, NAMESPACE_OF.ours) : noopServed(row, totals, row.setup);
    if (served) row.served = served;
  }
}

/** --report: the table, targets and plot again from bench/cluster-results.json, without a cluster. */
function reportOnly(): number {
  const saved = JSON.parse(readFileSync(RESULTS, 'utf8')) as { date: string; machine?: string; partial?: boolean; rows: Row[] };
  const replicaCounts = [...new Set(saved.rows.map((row) => row.replicas))];
  printRows(saved.rows);
  printSpans(saved.rows);
  for (const replicas of replicaCounts) {
    printTargets(judge(saved.rows, replicas), replicas);
    printShares(shares(saved.rows, replicas), replicas);
  }
  const machine = `${saved.machine ?? `${cpus().length} x ${cpus()[0]?.model.trim()}`}${saved.partial ? '; a partial run' : ''}`;
  writeFileSync(PLOT, plotAdmissionTimes(saved.rows, { date: saved.date, machine, replicas: replicaCounts[0] }));
  say(`plot in ${PLOT}`);
  return 0;
}

/**
 * --floor [files]: over every turn of the kept runs (bench/cluster-results*.json unless files are
 * named), how often the replay alone was already above a target's limit over the no-op, and ours.
 */
function floorOnly(files: string[]): number {
  const dir = join(__dirname, '..', '..', 'bench');
  const chosen = files.length
    ? files
    : readdirSync(dir)
        .filter((file) => /^cluster-results.*\.json$/.test(file))
        .map((file) => join(dir, file));
  const rowsOf = (file: string): Row[] => {
    if (!existsSync(file)) throw new Error(`${file}: no such file`);
    let saved: { rows?: Row[] };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`${file}: not JSON (${(error as Error).message.split('\n')[0]})`, { cause: error });
    }
    if (!Array.isArray(saved?.rows)) throw new Error(`${file}: not a bench:cluster results file (no rows)`);
    return saved.rows;
  };
  const turns = chosen.flatMap((file) => mutationFloor(rowsOf(file)));
  const spread = (values: number[]) => [Math.min(...values), median(values) ?? NaN, Math.max(...values)].map((value) => value.toFixed(2)).join(' / ');
  const columns: [string, (turn: FloorTurn) => number | undefined, number][] = [
    [`p50, replay / no-op above ${LIMITS.p50} (the mutation alone)`, (turn) => turn.replayP50, LIMITS.p50],
    [`p50, ours / no-op above ${LIMITS.p50}`, (turn) => turn.oursP50, LIMITS.p50],
    [`API mean per call, replay / no-op above ${LIMITS.apiMean}`, (turn) => turn.replayCall, LIMITS.apiMean],
  ];
  say(`${turns.length} turns with the no-op and the replay in ${chosen.length} results files`);
  for (const workload of [...new Set(turns.map((turn) => turn.workload))]) {
    say(`${workload}:`);
    for (const [label, value, limit] of columns) {
      const known = turns.filter((turn) => turn.workload === workload).flatMap((turn) => value(turn) ?? []);
      const above = known.filter((ratio) => ratio > limit).length;
      say(`  ${label.padEnd(52)} ${known.length ? `${above} of ${known.length}, min/median/max ${spread(known)}` : 'no turns'}`);
    }
  }
  return 0;
}

/** --logs: what our webhook pods' logs of the last run say about each of our turns (bench/cluster-logs.ts). */
function logsOnly(): number {
  const saved = JSON.parse(readFileSync(RESULTS, 'utf8')) as { rows: Row[] };
  const dir = join(LOGS, 'ours');
  if (!existsSync(dir)) throw new Error(`no logs in ${dir}: run npm run bench:cluster first`);
  const lines = readdirSync(dir).flatMap((file) => readAdmissionLines(readFileSync(join(dir, file), 'utf8'), file.replace(/\.log$/, '')));
  const ms = (kept: number[] | undefined, q: number) => at(kept, q)?.toFixed(1) ?? '-';
  for (const row of saved.rows.filter((each) => each.setup === 'ours' || each.setup === 'always')) {
    const view = webhookView(row, lines, NAMESPACE_OF.ours);
    if (!view) continue;
    say(`${row.workload}, ${row.setup}, replicas ${row.replicas}, round ${row.round}: ${view.admissions} admissions logged`);
    say(`  inside the webhook p50 / p99 / max ms: ${ms(view.handlerMs, 0.5)} / ${ms(view.handlerMs, 0.99)} / ${ms(view.handlerMs, 1)}`);
    if (view.servedMs)
      say(`  headers in to answer written p50 / p99 / max ms: ${ms(view.servedMs, 0.5)} / ${ms(view.servedMs, 0.99)} / ${ms(view.servedMs, 1)}`);
    if (!view.answeredAfterSendMs || !view.perSecond) continue;
    const after = view.answeredAfterSendMs;
    say(`  answered by the webhook after the client sent it, p50 / p99 / max ms: ${ms(after, 0.5)} / ${ms(after, 0.99)} / ${ms(after, 1)}`);
    const worst = [...view.perSecond].sort((a, b) => Math.max(...Object.values(b.medianMs)) - Math.max(...Object.values(a.medianMs))).slice(0, 5);
    for (const second of worst.sort((a, b) => a.second - b.second)) {
      const pods = Object.keys(second.medianMs)
        .map((pod) => `${pod} ${second.medianMs[pod].toFixed(0)} ms (${second.count[pod]})`)
        .join(', ');
      say(`  second ${second.second}: median per pod ${pods}`);
    }
  }
  return 0;
}

if (process.argv.includes('--floor')) {
  try {
    process.exitCode = floorOnly(process.argv.slice(process.argv.indexOf('--floor') + 1));
  } catch (error) {
    console.error(`bench:cluster: --floor: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
} else if (process.argv.includes('--report')) {
  process.exitCode = reportOnly();
} else if (process.argv.includes('--logs')) {
  process.exitCode = logsOnly();
} else {
  run();
}

// The package's version, so a result names what it measured.
function run() {
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
}
