// The cluster bench's own arithmetic, without a cluster: the audit log read into times per
// creation, the targets judged from rows, and the plot drawn from them.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { auditOffset, microsOf, readCreations } from '../bench/audit';
import { plotAdmissionTimes } from '../bench/cluster-plot';
import { etcdCompactions, webhookDuration } from '../bench/cluster';
import { apiServerCpuMsPerPod, at, judge, mutationFloor, outsideThePodsMs, QUANTILES, quantiles, shares, turnOrder, type Row } from '../bench/cluster-report';

const event = (namespace: string, received: string, done: string, extra: object = {}) =>
  `${JSON.stringify({
    kind: 'Event',
    stage: 'ResponseComplete',
    verb: 'create',
    objectRef: { resource: 'pods', namespace, apiVersion: 'v1' },
    responseStatus: { code: 201 },
    requestReceivedTimestamp: received,
    stageTimestamp: done,
    ...extra,
  })}\n`;

test('audit timestamps keep their microseconds', () => {
  assert.is(microsOf('2026-12-05T19:40:00.000250Z') - microsOf('2026-12-05T19:40:00.000000Z'), 250);
  assert.is(microsOf('2026-12-05T19:40:01Z') - microsOf('2026-12-05T19:40:00.5Z'), 500_000);
  assert.throws(() => microsOf('yesterday'));
});

test('the audit log gives each creation of the namespace written after the offset, its failures and fail-opens; a half-written line waits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-audit-'));
  const log = join(dir, 'audit.log');
  try {
    writeFileSync(log, event('bench-ours', '2026-12-05T19:40:00.000000Z', '2026-12-05T19:40:00.100000Z'));
    const offset = auditOffset(log);
    appendFileSync(log, event('bench-ours', '2026-12-05T19:40:01.000000Z', '2026-12-05T19:40:01.004500Z'));
    appendFileSync(log, event('bench-noop', '2026-12-05T19:40:01.000000Z', '2026-12-05T19:40:01.002000Z'));
    appendFileSync(
      log,
      event('bench-ours', '2026-12-05T19:40:02.000000Z', '2026-12-05T19:40:02.010000Z', {
        annotations: { 'failed-open.mutation.webhook.admission.k8s.io/round_0_index_0': 'inject.pandocore.xyz' },
      }),
    );
    appendFileSync(log, event('bench-ours', '2026-12-05T19:40:03.000000Z', '2026-12-05T19:40:03.001000Z', { responseStatus: { code: 500 } }));
    appendFileSync(log, event('bench-ours', '2026-12-05T19:40:04.000000Z', '2026-12-05T19:40:04.001000Z', { verb: 'delete' }));
    appendFileSync(log, event('bench-ours', '2026-12-05T19:40:05.000000Z', '2026-12-05T19:40:05.001000Z').slice(0, 40));
    const read = readCreations(log, offset, 'bench-ours');
    assert.equal(read.latenciesMs, [4.5, 10, 1]);
    assert.is(read.failed, 1);
    assert.is(read.failedOpen, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantiles: the kept points are the values at each quantile, the last one the maximum', () => {
  const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
  const kept = quantiles(values);
  assert.is(kept.length, QUANTILES.length);
  assert.is(at(kept, 0.5), 500);
  assert.is(at(kept, 0.99), 990);
  assert.is(at(kept, 1), 1000);
});

const row = (setup: Row['setup'], p50: number, p99: number, extra: Partial<Row> = {}): Row => ({
  workload: 'steady 20/s for 60 s',
  kind: 'steady',
  setup,
  replicas: 2,
  round: 0,
  pods: 100,
  failures: 0,
  seconds: 5,
  clientMs: QUANTILES.map((q) => (q <= 0.5 ? p50 : p99)),
  audited: 100,
  apiServerMeanMs: setup === 'none' ? undefined : p50 / 4,
  webhookCalls: setup === 'none' ? 0 : 100,
  failedOpen: 0,
  rejected: 0,
  ...(setup === 'ours' ? { uninjected: 0 } : {}),
  ...extra,
});

test('targets: ours over the no-op at p50, p99 and the API server mean; every zero check', () => {
  const met = judge([row('none', 8, 20), row('noop', 10, 30), row('ours', 10.5, 36)], 2);
  const find = (targets: typeof met, what: RegExp) => targets.find((t) => what.test(t.what))!;
  assert.is(find(met, /p50/).text, '1.05x');
  assert.ok(find(met, /p50/).met);
  assert.is(find(met, /p99/).text, '1.20x');
  assert.ok(find(met, /p99/).met);
  assert.ok(find(met, /API server mean/).met);
  assert.ok(met.every((t) => t.met));

  const missed = judge([row('none', 8, 20), row('noop', 10, 30, { webhookCalls: 99 }), row('ours', 12, 40, { uninjected: 1, failedOpen: 2 })], 2);
  assert.is(find(missed, /p50/).met, false);
  assert.is(find(missed, /p99/).met, false);
  assert.is(find(missed, /API server mean/).met, false);
  assert.is(find(missed, /without the sidecar/).text, '1');
  assert.is(find(missed, /failed open/).text, '2');
  assert.is(find(missed, /not called/).text, '1');
});

test("where the time goes: the replay over the no-op, ours over the replay, each round's turns paired", () => {
  const rows = [
    row('none', 8, 20),
    row('noop', 10, 30),
    row('replay', 12, 36, { uninjected: 0 }),
    row('ours', 13.2, 40),
    row('noop', 10, 30, { round: 1 }),
    row('replay', 15, 36, { round: 1, uninjected: 0 }),
    row('ours', 15, 40, { round: 1 }),
  ];
  const found = (what: RegExp) => shares(rows, 2).find((share) => what.test(share.what))?.ratio;
  // Medians of two rounds take the lower (1.2, 1.5) and (1.1, 1.0).
  assert.is(found(/replay \/ no-op/)?.toFixed(2), '1.20');
  assert.is(found(/^client p50, ours \/ replay/)?.toFixed(2), '1.00');
  assert.is(found(/API server mean per call, ours \/ replay/)?.toFixed(2), '1.00');
  const noReplay = shares([row('noop', 10, 30), row('ours', 12, 40)], 2);
  assert.ok(noReplay.every((share) => share.ratio === undefined));
  assert.is(
    judge([row('noop', 10, 30), row('replay', 12, 36, { uninjected: 3 }), row('ours', 12, 40)], 2).find((t) => /without the sidecar/.test(t.what))?.text,
    '3',
  );
});

test('always (ours without its matchCondition): its shares against ours and the no-op, and the checks that the switch took', () => {
  const evaluated = (evaluations: number) => ({ matchCondition: { meanMs: 0.15, evaluations } });
  const rows = [
    row('noop', 10, 30),
    row('ours', 12, 40, evaluated(100)),
    row('always', 11.4, 38, { uninjected: 0 }),
    row('noop', 10, 30, { round: 1 }),
    row('ours', 12, 40, { round: 1, ...evaluated(100) }),
    row('always', 12.6, 38, { round: 1, uninjected: 0 }),
  ];
  const found = (what: RegExp) => shares(rows, 2).find((share) => what.test(share.what))?.ratio;
  assert.is(found(/p50, always \/ ours/)?.toFixed(2), '0.95');
  assert.is(found(/p50, always \/ no-op/)?.toFixed(2), '1.14');
  const checks = (list: Row[]) => judge(list, 2).filter((t) => /matchCondition/.test(t.what));
  assert.equal(
    checks(rows).map((t) => [t.text, t.met]),
    [
      ['0', true],
      ['0', true],
    ],
  );
  // An always turn that still evaluated the condition, an ours turn that did not: both reported.
  const stale = [row('noop', 10, 30), row('ours', 12, 40, evaluated(40)), row('always', 11, 38, { uninjected: 2, ...evaluated(60) })];
  assert.equal(
    checks(stale).map((t) => t.text),
    ['60', '60'],
  );
  assert.is(judge(stale, 2).find((t) => /without the sidecar/.test(t.what))?.text, '2');
  // Without always (skipInjected=false installs), no such checks and no such shares.
  assert.equal(checks([row('noop', 10, 30), row('ours', 12, 40)]), []);
  assert.not.ok(shares([row('noop', 10, 30), row('ours', 12, 40)], 2).some((share) => /always/.test(share.what)));
});

test("the API server's CPU per creation, from the turn's busiest processes", () => {
  const cpu = (seconds: number) => ({
    busyShare: 0.5,
    top: [
      { pid: 2, name: '/root/.cache/tools/etcd --name=local', seconds: 9 },
      { pid: 1, name: '/root/.cache/tools/kube-apiserver --etcd-servers=x', seconds },
    ],
  });
  assert.is(apiServerCpuMsPerPod(row('noop', 10, 30, { machineCpu: cpu(1.5) })), 15);
  assert.is(apiServerCpuMsPerPod(row('noop', 10, 30, { machineCpu: { busyShare: 0, top: [] } })), undefined);
  assert.is(apiServerCpuMsPerPod(row('noop', 10, 30)), undefined);
  const rows = [row('noop', 10, 30, { machineCpu: cpu(1) }), row('replay', 12, 36, { machineCpu: cpu(1.5) }), row('ours', 13, 40, { machineCpu: cpu(1.65) })];
  const found = (what: RegExp) => shares(rows, 2).find((share) => what.test(share.what))?.ratio;
  assert.is(found(/CPU per creation, replay \/ no-op/)?.toFixed(2), '1.50');
  assert.is(found(/CPU per creation, ours \/ replay/)?.toFixed(2), '1.10');
});

test("the time per call inside the pods and outside them (the API server's mean less the pods'), ours over the replay", () => {
  const rows = [
    row('replay', 12, 36, { apiServerMeanMs: 2.4, served: { calls: 1200, meanMs: 0.4 } }),
    row('ours', 13, 40, { apiServerMeanMs: 3.2, served: { calls: 1200, meanMs: 0.8 } }),
  ];
  const found = (what: RegExp) => shares(rows, 2).find((share) => what.test(share.what))?.ratio;
  assert.is(found(/in the pods, ours \/ replay/)?.toFixed(2), '2.00');
  assert.is(found(/outside the pods, ours \/ replay/)?.toFixed(2), '1.20');
  assert.is(outsideThePodsMs(rows[1])?.toFixed(2), '2.40');
  assert.is(outsideThePodsMs(row('ours', 13, 40, { apiServerMeanMs: 3.2 })), undefined, 'no served figure, no outside figure');
});

test("the API server's metrics of one webhook: its calls, and its matchConditions' evaluations", () => {
  const metrics = [
    'apiserver_admission_webhook_admission_duration_seconds_sum{name="inject.pandocore.xyz",operation="CREATE",rejected="false",type="admit"} 0.5',
    'apiserver_admission_webhook_admission_duration_seconds_count{name="inject.pandocore.xyz",operation="CREATE",rejected="false",type="admit"} 200',
    'apiserver_admission_webhook_admission_duration_seconds_count{name="noop.bench.pando.local",operation="CREATE",rejected="false",type="admit"} 7',
    'apiserver_admission_match_condition_evaluation_seconds_sum{kind="webhook",name="inject.pandocore.xyz",operation="CREATE",type="admit"} 0.0254',
    'apiserver_admission_match_condition_evaluation_seconds_count{kind="webhook",name="inject.pandocore.xyz",operation="CREATE",type="admit"} 200',
    'apiserver_admission_match_condition_evaluation_seconds_count{kind="policy",name="some-policy",operation="UPDATE",type="validate"} 3',
  ].join('\n');
  const ours = webhookDuration(metrics, 'inject.pandocore.xyz');
  assert.equal([ours.sum, ours.count, ours.matchSum, ours.matchCount], [0.5, 200, 0.0254, 200]);
  const noop = webhookDuration(metrics, 'noop.bench.pando.local');
  assert.equal([noop.count, noop.matchCount, noop.failedOpen], [7, 0, 0]);
  assert.equal(webhookDuration(metrics, undefined).matchCount, 0);
});

test("etcd's compactions from its metrics: count, milliseconds and keys; none yet is zero", () => {
  const metrics = [
    '# TYPE etcd_debugging_mvcc_db_compaction_total_duration_milliseconds histogram',
    'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_bucket{le="100"} 1',
    'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_sum 1830',
    'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count 2',
    'etcd_debugging_mvcc_db_compaction_keys_total 61234',
    'etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds_sum 99',
  ].join('\n');
  assert.equal(etcdCompactions(metrics), { compactions: 2, compactionMs: 1830, keys: 61234 });
  assert.equal(etcdCompactions(''), { compactions: 0, compactionMs: 0, keys: 0 });
});

test("the API server's admission steps of every CREATE, whichever webhook is asked for", () => {
  const step = (operation: string, type: string, sum: number) =>
    `apiserver_admission_step_admission_duration_seconds_sum{operation="${operation}",rejected="false",type="${type}"} ${sum}`;
  const metrics = [
    step('CREATE', 'admit', 0.3),
    step('CREATE', 'validate', 0.1),
    'apiserver_admission_step_admission_duration_seconds_sum{operation="CREATE",rejected="true",type="validate"} 0.02',
    step('UPDATE', 'validate', 5),
    'apiserver_admission_step_admission_duration_seconds_summary_sum{operation="CREATE",rejected="false",type="admit"} 9',
  ].join('\n');
  for (const webhook of ['inject.pandocore.xyz', undefined]) {
    const seen = webhookDuration(metrics, webhook);
    assert.equal([seen.admitSum, seen.validateSum.toFixed(2)], [0.3, '0.12']);
  }
});

test("the mutation's floor: each round's replay and ours over that round's no-op, bursts by the audit's p50", () => {
  const burst = (setup: Row['setup'], round: number, p50: number, callMs: number) =>
    row(setup, 0, 0, {
      workload: 'Deployment 0 -> 500',
      kind: 'burst',
      round,
      clientMs: undefined,
      serverMs: QUANTILES.map(() => p50),
      apiServerMeanMs: callMs,
    });
  const rows = [
    row('noop', 10, 30),
    row('replay', 12, 30),
    row('ours', 13, 30),
    row('noop', 8, 30, { round: 1 }),
    row('replay', 8.4, 30, { round: 1 }),
    burst('noop', 0, 100, 20),
    burst('replay', 0, 150, 30),
    row('noop', 9, 30, { round: 2 }),
  ];
  const turns = mutationFloor(rows);
  assert.equal(
    turns.map((turn) => [turn.workload, turn.round, turn.replayP50.toFixed(2), turn.oursP50?.toFixed(2), turn.replayCall?.toFixed(2)]),
    [
      ['steady 20/s for 60 s', 0, '1.20', '1.30', '1.20'],
      ['steady 20/s for 60 s', 1, '1.05', undefined, '1.05'],
      ['Deployment 0 -> 500', 0, '1.50', undefined, '1.50'],
    ],
    'the third no-op has no replay in its round: no turn',
  );
});

test("the mutating chain's passes (the webhook plugin's admit count) and the in-tree plugins' admit time, CREATEs only", () => {
  const plugin = (name: string, operation: string, type: string, what: 'sum' | 'count', value: number) =>
    `apiserver_admission_controller_admission_duration_seconds_${what}{name="${name}",operation="${operation}",rejected="false",type="${type}"} ${value}`;
  const metrics = [
    plugin('MutatingAdmissionWebhook', 'CREATE', 'admit', 'count', 400),
    plugin('MutatingAdmissionWebhook', 'CREATE', 'admit', 'sum', 0.9),
    plugin('MutatingAdmissionWebhook', 'UPDATE', 'admit', 'count', 50),
    plugin('ValidatingAdmissionWebhook', 'CREATE', 'validate', 'count', 200),
    plugin('MutatingAdmissionPolicy', 'CREATE', 'admit', 'sum', 0.5),
    plugin('ServiceAccount', 'CREATE', 'admit', 'sum', 0.04),
    plugin('ServiceAccount', 'CREATE', 'admit', 'count', 400),
    plugin('LimitRanger', 'CREATE', 'admit', 'sum', 0.01),
    plugin('LimitRanger', 'CREATE', 'validate', 'sum', 3),
    plugin('LimitRanger', 'UPDATE', 'admit', 'sum', 7),
  ].join('\n');
  const seen = webhookDuration(metrics, undefined);
  assert.is(seen.webhookPluginPasses, 400);
  assert.is(seen.inTreeAdmitSum.toFixed(2), '0.05');
  assert.equal(webhookDuration('', 'inject.pandocore.xyz').webhookPluginPasses, 0);
});

test('the turns: every setup first once in as many rounds, and after a different setup in consecutive rounds', () => {
  const setups = ['a', 'b', 'c', 'd', 'e'];
  const orders = [0, 1, 2, 3, 4].map((round) => turnOrder(setups, round));
  assert.equal(orders[0], setups);
  assert.equal(new Set(orders.map((order) => order[0])).size, setups.length);
  for (const order of orders) assert.equal([...order].sort(), setups);
  const before = (order: string[], setup: string) => order[order.indexOf(setup) - 1];
  for (const setup of setups.slice(1)) assert.is.not(before(orders[0], setup), before(orders[1], setup), setup);
});

test('the plot: a curve per setup and round, on finite coordinates', () => {
  const rows = [row('none', 8, 20), row('noop', 10, 30), row('ours', 10.5, 36), row('ours', 11, 40, { round: 1 })];
  const svg = plotAdmissionTimes(rows, { date: '2026-12-05T20:00:00.000Z', machine: '2 x test CPU', replicas: 2 });
  assert.ok(svg.startsWith('<svg '));
  assert.ok(svg.trim().endsWith('</svg>'));
  assert.is(svg.match(/<polyline /g)?.length, 4);
  assert.not.match(svg, /NaN|Infinity/);
  // The legend names only the setups the run has.
  assert.not.match(svg, /no matchCondition|no-op with our patch/);
  assert.match(plotAdmissionTimes([...rows, row('always', 10, 30)], { date: '2026-12-05T20:00:00.000Z', machine: 'm', replicas: 2 }), /no matchCondition/);
});

test.run();
