// `npm run soak`: the long reliability runs, each bounded in count and time, on loopback only.
//   fuzz      100,000 generated reviews through the handler (seeded: FUZZ_SEED=n to replay)
//   load      200 connections for 20 s against node dist/function/main.js, every answer exact
//   soak      100,000 requests, RSS of the server sampled: memory stays flat
//   sigterm   SIGTERM under load: every request the server took is answered 200, exit 0
//   tls       the serving certificate renewed on disk twice under HTTPS load: no failed handshake
// Prints a summary, writes test/reliability/soak-results.json, exits 1 if any check failed.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkOne, handlerCaller, newStats } from '../test/support/reliability/check';
import { anyReview } from '../test/support/reliability/generators';
import { bodyFor, expectedAnswersAreGolden, serverDefaultConfig } from '../test/support/reliability/bodies';
import { LoadResult, startLoad } from '../test/support/load';
import { Child, spawnMain, stopChild } from '../test/support/reliability/serve';
import { createCa, issueServingCert, KeyPairPem } from '../function/tls/certs';

const MiB = 1024 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const RESULTS = join(__dirname, '..', '..', 'test', 'reliability', 'soak-results.json');
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  return ok;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const config = serverDefaultConfig;

function fuzz() {
  console.log(`fuzz: ${FUZZ_RUNS} generated reviews, seed ${SEED} (FUZZ_SEED=${SEED} replays)`);
  const stats = newStats();
  const call = handlerCaller(config);
  const started = performance.now();
  let error: string | undefined;
  try {
    fc.assert(
      fc.property(anyReview, (review) => {
        checkOne(call, review, stats);
      }),
      { seed: SEED, numRuns: FUZZ_RUNS },
    );
  } catch (e) {
    error = (e as Error).message.slice(0, 3000);
  }
  check(!error, `fuzz failed: ${error}`);
  check(stats.validInjected > FUZZ_RUNS / 10, 'fuzz: too few valid pods injected');
  console.log(
    `fuzz: ${stats.runs} reviews in ${Math.round(performance.now() - started) / 1000} s: ${stats.answered200} answered 200, ${stats.refused400} refused 400, ${stats.injected} patched (${stats.validInjected} of them valid pods, re-validated after the patch), ${error ? 'FAILED' : 'no violation'}`,
  );
  return { seed: SEED, seconds: Math.round((performance.now() - started) / 100) / 10, ...stats, ...(error ? { error } : {}) };
}

/** Samples the RSS of a child every 200 ms while `during` runs. */
async function sampled<T>(child: Child, during: Promise<T>) {
  const samples: number[] = [];
  const timer = setInterval(() => {
    const r = child.rss();
    if (r) samples.push(r);
  }, 200);
  const result = await during;
  clearInterval(timer);
  return { result, samples };
}

const miB = (n: number) => Math.round((n / MiB) * 10) / 10;
const clean = (r: LoadResult, what: string) =>
  check(r.wrong === 0 && Object.keys(r.errors).length === 0, `${what}: ${r.wrong} wrong answers, errors ${JSON.stringify(r.errors)} ${r.firstWrong ?? ''}`);

async function load() {
  const child = await spawnMain({});
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const run = startLoad({ url: `${child.urls.http}/?timeout=10s`, agent, connections: 200, bodyFor, maxRequests: 5_000_000, maxMs: 20_000 });
  const { result, samples } = await sampled(child, run.promise);
  agent.destroy();
  check((await stopChild(child)).code === 0, 'load: the server did not exit 0');
  clean(result, 'load');
  console.log(
    `load: ${result.requests} requests in ${result.ms} ms over 200 connections, ${result.requestsPerSecond}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ${result.wrong} wrong, errors ${JSON.stringify(result.errors)}`,
  );
  return { connections: 200, ...result, rssMiB: { first: miB(samples[0]), max: miB(Math.max(...samples)), last: miB(samples[samples.length - 1]) } };
}

async function soak() {
  const child = await spawnMain({});
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const requests = 100_000;
  const run = startLoad({ url: `${child.urls.http}/?timeout=10s`, agent, connections: 50, bodyFor, maxRequests: requests, maxMs: 120_000 });
  // RSS after each tenth of the run.
  const marks: number[] = [];
  const timer = setInterval(() => {
    while (run.sent() >= ((marks.length + 1) * requests) / 10 && marks.length < 10) marks.push(child.rss());
  }, 20);
  const { result, samples } = await sampled(child, run.promise);
  clearInterval(timer);
  marks.push(child.rss());
  agent.destroy();
  check((await stopChild(child)).code === 0, 'soak: the server did not exit 0');
  clean(result, 'soak');
  check(result.requests === requests, `soak: ${result.requests} of ${requests} requests done`);
  // Flat: after the first tenth (warm-up, JIT, pools), RSS grows by less than 32 MiB to the end.
  const growth = marks[marks.length - 1] - marks[0];
  check(growth < 32 * MiB, `soak: RSS grew ${miB(growth)} MiB after warm-up`);
  console.log(
    `soak: ${result.requests} requests, RSS by tenths (MiB) ${marks.map(miB).join(' ')}, growth after warm-up ${miB(growth)} MiB, max ${miB(Math.max(...samples))} MiB`,
  );
  return { ...result, rssMiBByTenth: marks.map(miB), rssGrowthAfterWarmupMiB: miB(growth), rssMaxMiB: miB(Math.max(...samples)) };
}

async function sigterm() {
  const child = await spawnMain({});
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const run = startLoad({ url: `${child.urls.http}/?timeout=10s`, agent, connections: 200, bodyFor, maxRequests: 5_000_000, maxMs: 30_000 });
  await sleep(3000);
  const inFlight = run.inFlight();
  const sentBefore = run.sent();
  const killedAt = performance.now();
  const exit = await stopChild(child);
  const exitMs = Math.round(performance.now() - killedAt);
  run.stop();
  const result = await run.promise;
  agent.destroy();
  // Refused, or reset on a new connection still in the kernel's accept queue when the listener
  // closed: the server never saw those requests (the API server retries both). Lost is anything else.
  const { ECONNREFUSED: refused = 0, 'ECONNRESET (new connection)': resetInAcceptQueue = 0, ...lost } = result.errors;
  check(!child.output.some((l) => l.includes('drain timed out')), 'sigterm: the drain timed out and cut connections');
  check(exit.code === 0, `sigterm: exit code ${exit.code}`);
  check(result.wrong === 0, `sigterm: ${result.wrong} wrong answers`);
  check(Object.keys(lost).length === 0, `sigterm: requests lost ${JSON.stringify(lost)}`);
  console.log(
    `sigterm: ${inFlight} in flight at SIGTERM, ${result.ok} answered 200 (${result.ok - (sentBefore - inFlight)} after it), ${refused} refused at connect and ${resetInAcceptQueue} reset in the accept queue after the listener closed (never seen by the server), lost ${JSON.stringify(lost)}, exit ${exit.code} after ${exitMs} ms`,
  );
  return {
    inFlightAtSigterm: inFlight,
    answered200: result.ok,
    wrong: result.wrong,
    refusedAtConnect: refused,
    resetInAcceptQueue,
    lost,
    exitCode: exit.code,
    exitMs,
  };
}

/** A Secret volume as the kubelet writes it: files behind a ..data symlink swapped atomically. */
function secretVolume(dir: string) {
  let n = 0;
  const write = (pair: KeyPairPem) => {
    const version = `..v${++n}`;
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'tls.crt'), pair.cert);
    writeFileSync(join(dir, version, 'tls.key'), pair.key);
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  return {
    write,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    link: () => {
      for (const f of ['tls.crt', 'tls.key']) symlinkSync(join('..data', f), join(dir, f));
    },
  };
}

async function tls() {
  const dir = mkdtempSync(join(tmpdir(), 'pando-soak-tls-'));
  try {
    const ca = await createCa('pando-soak-ca');
    const issue = () => issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const volume = secretVolume(dir);
    volume.write(await issue());
    volume.link();
    const child = await spawnMain({ PANDO_TLS_CERT_FILE: volume.certFile, PANDO_TLS_KEY_FILE: volume.keyFile, PANDO_TLS_PORT: '0' });
    if (!child.urls.https) throw new Error(`no HTTPS url: ${child.output.join('\n')}`);
    const seen = new Map<string, number>();
    const firstSeen: number[] = [];
    const t0 = performance.now();
    // No keep-alive and no session resumption: every request is a full TLS handshake.
    const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0, ca: ca.cert, maxSockets: 50 });
    const run = startLoad({
      url: `${child.urls.https}/?timeout=10s`,
      agent,
      connections: 50,
      bodyFor,
      maxRequests: 1_000_000,
      maxMs: 9000,
      onAnswer: (res) => {
        const f = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
        if (!seen.has(f)) firstSeen.push(Math.round(performance.now() - t0));
        seen.set(f, (seen.get(f) ?? 0) + 1);
      },
    });
    await sleep(3000);
    volume.write(await issue()); // atomic swap, as the kubelet does
    await sleep(3000);
    const third = await issue(); // in place, key first: a mismatched pair for a moment
    writeFileSync(join(dir, '..data', 'tls.key'), third.key);
    await sleep(50);
    writeFileSync(join(dir, '..data', 'tls.crt'), third.cert);
    const result = await run.promise;
    agent.destroy();
    check((await stopChild(child)).code === 0, 'tls: the server did not exit 0');
    clean(result, 'tls');
    check(seen.size === 3, `tls: ${seen.size} distinct certificates served, expected 3`);
    const reloads = child.output.filter((l) => l.includes('TLS certificate reloaded')).length;
    const failedReloads = child.output.filter((l) => l.includes('reload failed')).length;
    console.log(`tls: certificates first seen at ${firstSeen.join(', ')} ms`);
    console.log(
      `tls: ${result.requests} HTTPS requests, each a new handshake, ${seen.size} certificates served (${[...seen.values()].join(' / ')}), ${reloads} reloads, ${failedReloads} reload attempts skipped on a mismatched pair, ${result.wrong} wrong, errors ${JSON.stringify(result.errors)}`,
    );
    return { ...result, certificatesServed: [...seen.values()], firstSeenMs: firstSeen, reloads, reloadAttemptsSkipped: failedReloads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const started = performance.now();
  const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };
  const only = process.argv[2]?.split(',');
  // Every answer the runs expect is computed by admit; first, those answers are the golden ones.
  failures.push(...expectedAnswersAreGolden().map((p) => `expected answers: ${p}`));
  const parts = { fuzz, load, soak, sigterm, tls } as Record<string, () => unknown>;
  for (const [name, part] of Object.entries(parts)) {
    if (only && !only.includes(name)) continue;
    try {
      results[name] = await part();
    } catch (error) {
      failures.push(`${name}: ${(error as Error).stack}`);
    }
  }
  results.seconds = Math.round((performance.now() - started) / 1000);
  results.failures = failures;
  if (!only) writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `\n${failures.length === 0 ? 'soak passed' : `soak FAILED:\n  ${failures.join('\n  ')}`} in ${results.seconds} s${only ? '' : `; results in ${RESULTS}`}`,
  );
  process.exit(failures.length === 0 ? 0 : 1);
}

void main();
