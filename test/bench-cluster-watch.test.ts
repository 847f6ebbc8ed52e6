// What bench:cluster keeps beside its figures to explain a tail, without a cluster: the webhook
// pods' log lines read back into per-turn times, the machine's CPU between two snapshots, and the
// connections towards an address counted from `ss`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noopServed, oursServed, readAdmissionLines, readServedTotals, webhookView } from '../bench/cluster-logs';
import { isMainThread, runDelaySeconds } from '../bench/cluster';
import { at, type Row } from '../bench/cluster-report';
import { cpuBetween, type CpuSnapshot, watchConnections } from '../bench/cluster-watch';

const START = Date.parse('2026-12-05T23:00:00.000Z');
const line = (atMs: number, pod: string, durationMs: number, namespace = 'bench-ours') =>
  `2026-12-05T23:00:00.000000000Z ${JSON.stringify({ time: new Date(atMs).toISOString(), level: 'info', msg: 'admission', namespace, pod, decision: 'inject', durationMs })}`;

const row = (workload: string): Row => ({
  workload,
  kind: 'steady',
  setup: 'ours',
  replicas: 2,
  round: 0,
  pods: 4,
  failures: 0,
  seconds: 2,
  audited: 4,
  webhookCalls: 4,
  failedOpen: 0,
  rejected: 0,
  started: new Date(START).toISOString(),
  ended: new Date(START + 2000).toISOString(),
});

test('admission lines are read from kubectl logs --timestamps; other lines and broken JSON are skipped', () => {
  const text = [
    `2026-12-05T22:59:59.000000000Z {"time":"2026-12-05T22:59:59.000Z","level":"info","msg":"serving HTTPS"}`,
    line(START + 5, 's2-0-0', 0.3),
    '2026-12-05T23:00:00.000000000Z {"msg":"admission", broken',
    line(START + 7, 's2-0-1', 0.4, 'elsewhere'),
  ].join('\n');
  assert.equal(readAdmissionLines(text, 'pod-a'), [
    { atMs: START + 5, source: 'pod-a', namespace: 'bench-ours', pod: 's2-0-0', durationMs: 0.3 },
    { atMs: START + 7, source: 'pod-a', namespace: 'elsewhere', pod: 's2-0-1', durationMs: 0.4 },
  ]);
});

test("a steady turn's delays are timed from each pod's due send time, per second and per webhook pod", () => {
  // 2 pods/s: pod i is due at START + 500 i ms.
  const lines = [
    ...readAdmissionLines(line(START + 10, 's2-0-0', 0.2), 'a'),
    ...readAdmissionLines(line(START + 500 + 30, 's2-0-1', 0.4), 'b'),
    ...readAdmissionLines(line(START + 1000 + 900, 's2-0-2', 0.2), 'a'),
    ...readAdmissionLines(line(START + 1500 + 700, 's2-0-3', 0.3), 'b'),
    // Another namespace, and a line long after the turn: neither counts.
    ...readAdmissionLines(line(START + 20, 's2-0-0', 9, 'bench-noop'), 'a'),
    ...readAdmissionLines(line(START + 60_000, 's2-0-9', 9), 'a'),
  ];
  const view = webhookView(row('steady 2/s for 2 s'), lines, 'bench-ours')!;
  assert.is(view.admissions, 4);
  assert.is(at(view.handlerMs, 1), 0.4);
  assert.is(at(view.answeredAfterSendMs, 0), 10);
  assert.is(at(view.answeredAfterSendMs, 1), 900);
  assert.equal(view.perSecond, [
    { second: 0, medianMs: { a: 10, b: 30 }, count: { a: 1, b: 1 } },
    { second: 1, medianMs: { a: 900, b: 700 }, count: { a: 1, b: 1 } },
  ]);
});

test('a burst turn has the time inside the webhook only: its pods are not ours to time', () => {
  const view = webhookView({ ...row('Deployment 0 -> 2'), kind: 'burst' }, readAdmissionLines(line(START + 100, '', 1.5), 'a'), 'bench-ours')!;
  assert.is(view.admissions, 1);
  assert.is(view.answeredAfterSendMs, undefined);
});

test("our pods' servedMs: read when logged, a turn's mean over its namespace and time", () => {
  const served = (atMs: number, pod: string, servedMs: number, namespace = 'bench-ours') =>
    `2026-12-05T23:00:00.000000000Z ${JSON.stringify({ time: new Date(atMs).toISOString(), msg: 'admission', namespace, pod, durationMs: 0.2, servedMs })}`;
  const lines = [
    ...readAdmissionLines(served(START + 10, 's2-0-0', 0.5), 'a'),
    ...readAdmissionLines(served(START + 600, 's2-0-1', 0.7), 'b'),
    ...readAdmissionLines(line(START + 900, 's2-0-2', 0.2), 'a'), // logged before servedMs was
    ...readAdmissionLines(served(START + 700, 's2-0-3', 9, 'bench-noop'), 'a'),
    ...readAdmissionLines(served(START + 60_000, 's2-0-9', 9), 'a'),
  ];
  assert.is(lines[0].servedMs, 0.5);
  assert.is(lines[2].servedMs, undefined);
  const mean = oursServed(row('steady 2/s for 2 s'), lines, 'bench-ours');
  assert.is(mean?.calls, 2);
  assert.is(mean?.meanMs.toFixed(2), '0.60');
  assert.equal(at(webhookView(row('steady 2/s for 2 s'), lines, 'bench-ours')!.servedMs, 1), 0.7);
  assert.is(oursServed(row('steady 2/s for 2 s'), [], 'bench-ours'), undefined);
});

test("the no-op pods' totals: a turn's calls and mean are each pod's totals after it less before it, per path", () => {
  const totals = (atMs: number, noop: [number, number], replay: [number, number]) =>
    `2026-12-05T23:00:00.000000000Z ${JSON.stringify({ time: new Date(atMs).toISOString(), msg: 'served', noop: { calls: noop[0], ms: noop[1] }, replay: { calls: replay[0], ms: replay[1] } })}`;
  const text = (lines: string[]) => lines.join('\n');
  const all = [
    ...readServedTotals(
      text([totals(START - 30_000, [100, 50], [0, 0]), 'not json', totals(START + 1000, [102, 51], [0, 0]), totals(START + 2500, [103, 51.6], [0, 0])]),
      'a',
    ),
    // Pod b served none of this turn's calls before the start, and printed nothing before it.
    ...readServedTotals(text([totals(START + 1500, [2, 1.4], [0, 0]), totals(START + 40_000, [2, 1.4], [50, 99])]), 'b'),
  ];
  assert.is(all.length, 5);
  const noop = noopServed({ ...row('steady 2/s for 2 s'), setup: 'noop' }, all, 'noop');
  assert.is(noop?.calls, 5);
  assert.is(noop?.meanMs.toFixed(2), '0.60');
  assert.is(noopServed({ ...row('steady 2/s for 2 s'), setup: 'replay' }, all, 'replay'), undefined, 'the replay path served none in the turn');
});

test("a thread's run-queue wait is schedstat's second field, in seconds; a thread gone counts 0; main threads are their process", () => {
  const proc = mkdtempSync(join(tmpdir(), 'pando-proc-'));
  mkdirSync(join(proc, '41'));
  writeFileSync(join(proc, '41', 'schedstat'), '912345678 2500000000 4321\n');
  try {
    assert.is(runDelaySeconds('41', proc), 2.5);
    assert.is(runDelaySeconds('42', proc), 0);
    assert.ok(runDelaySeconds(String(process.pid)) >= 0, 'this process has a schedstat');
    writeFileSync(join(proc, '41', 'status'), 'Name:\tnode\nTgid:\t41\nPid:\t41\n');
    mkdirSync(join(proc, '43'));
    writeFileSync(join(proc, '43', 'status'), 'Name:\tV8Worker\nTgid:\t41\nPid:\t43\n');
    assert.equal([isMainThread('41', proc), isMainThread('43', proc), isMainThread('44', proc)], [true, false, false]);
    assert.ok(isMainThread(String(process.pid)), 'this process is its own main thread');
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test("the machine's CPU between two snapshots: the busy share and the processes that used most, new ones from zero", () => {
  const snapshot = (busy: number, total: number, processes: [number, string, number][]): CpuSnapshot => ({
    busy,
    total,
    processes: new Map(processes.map(([pid, name, ticks]) => [pid, { name, ticks }])),
  });
  const before = snapshot(1000, 4000, [
    [1, 'kube-apiserver', 500],
    [2, 'etcd', 100],
  ]);
  const after = snapshot(1150, 4200, [
    [1, 'kube-apiserver', 600],
    [2, 'etcd', 110],
    [3, 'go build', 30],
  ]);
  assert.equal(cpuBetween(before, after, 2), {
    busyShare: 0.75,
    top: [
      { pid: 1, name: 'kube-apiserver', seconds: 1 },
      { pid: 3, name: 'go build', seconds: 0.3 },
    ],
  });
});

test('connections towards an address are counted from ss, those closed during the watch too, not those open before it', async () => {
  const address = '127.0.0.3';
  const held: Socket[] = [];
  const server = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as { port: number }).port;
  const open = () =>
    new Promise<Socket>((resolve) => {
      const socket = connect(port, address, () => resolve(socket));
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const before = await open();
  const watch = watchConnections(address, 200);
  await sleep(50); // the first sample, taken at once, holds only the connection opened before
  const during = await Promise.all([open(), open(), open()]);
  during[0].end(); // closed before the next sample: seen in time-wait only
  await sleep(500);
  const counted = await watch.stop();
  for (const socket of [before, ...during, ...held]) socket.destroy();
  server.close();
  assert.is(counted?.opened, 3);
  const most = counted?.maxEstablished ?? 0;
  assert.ok(most >= 3 && most <= 4, `most established at once: ${most}`);
});

test.run();
