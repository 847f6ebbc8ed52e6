// `npm run cluster -- up` as a user runs it, on a cluster of its own (one node per machine: run
// after the others are down): no platform given, so the chart's default as in production, the
// webhook a Knative Service on Knative Serving's own controllers (the KIngress stand-in the one
// stand-in: no networking layer runs here). The lines up prints are run verbatim: the README's
// demo pod runs with its sidecar; kubectl pando check passes; `down` stops every process up
// started, the stand-in's daemon too (the leftovers suite after this one checks the host).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IMAGE } from '../../scripts/image';
import { knativeImageName } from '../harness/knative';
import { helmOk, kubectlOk } from '../harness/kubeconfig';
import { isAlive, waitFor } from '../harness/processes';
import { installedDocuments, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { readState, type ClusterState } from '../harness/state';
import { REPO } from '../harness/tools';
import { KNATIVE_SERVICE, knativeServiceReady } from '../harness/webhook';

type Obj = Record<string, any>;
const dir = join(mkdtempSync(join(tmpdir(), 'pando-cluster-cli-')), 'cluster');
const cli = (args: string[]) =>
  spawnSync(process.execPath, [join(REPO, 'build', 'e2e', 'harness', 'cli.js'), ...args], {
    env: { ...process.env, PANDO_CLUSTER_DIR: dir },
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
/** A line up printed for the user, run by bash after the export line up printed too. */
const runPrinted = (line: string) => spawnSync('bash', ['-c', `${exportLine}\n${line}`], { encoding: 'utf8', cwd: REPO });

let state: ClusterState;
let printed = '';
let exportLine = '';
let downRan = false;

test.before(() => {
  const run = cli(['up']);
  printed = run.stdout;
  console.log(printed.trimEnd());
  if (run.status !== 0) {
    const down = cli(['down']);
    downRan = true;
    throw new Error(`npm run cluster -- up: exit ${run.status}\n${run.stderr.slice(-3000)}\ndown: exit ${down.status}\n${down.stdout}${down.stderr}`);
  }
  state = readState(dir) as ClusterState;
  exportLine =
    printed
      .split('\n')
      .find((line) => line.startsWith('  export KUBECONFIG='))
      ?.trim() ?? '';
});

test.after(() => {
  if (downRan) return;
  const down = cli(['down']);
  if (down.status !== 0) throw new Error(`npm run cluster -- down: exit ${down.status}\n${down.stdout}${down.stderr}`);
});

test('up with no platform given: the chart default, a Knative Service Ready with 2 revision pods of the image; status says so', async () => {
  assert.match(printed, /^cluster: up in [\d.]+ s, the webhook on Knative Serving/m);
  assert.is(state.platform, 'knative');
  const values = JSON.parse(helmOk(state, ['get', 'values', RELEASE, '-n', SYSTEM_NAMESPACE, '-o', 'json']));
  assert.not.ok('platform' in values, `no platform set: ${JSON.stringify(values)}`);
  const docs = installedDocuments(state);
  assert.ok(docs.some((d) => d.apiVersion === 'serving.knative.dev/v1' && d.kind === 'Service'));
  assert.not.ok(
    docs.some((d) => d.kind === 'Deployment'),
    'no Deployment of ours',
  );
  const revision = await knativeServiceReady(state, 2);
  const pods = JSON.parse(kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'pods', '-l', `serving.knative.dev/revision=${revision}`, '-o', 'json']))
    .items as Obj[];
  assert.is(pods.length, 2);
  for (const pod of pods) {
    assert.is(pod.status.phase, 'Running');
    assert.is(pod.spec.containers.find((c: Obj) => c.name === 'pando-webhook').image, knativeImageName(IMAGE));
  }
  const status = cli(['status']);
  assert.is(status.status, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /^platform: knative$/m);
  assert.match(status.stdout, /^KIngress stand-in +running \(pid \d+\)$/m);
  assert.match(status.stdout, /^webhook pods: 2\/2 ready/m);
  assert.is(
    kubectlOk(state, ['-n', SYSTEM_NAMESPACE, 'get', 'ksvc', KNATIVE_SERVICE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']),
    'True',
  );
});

const demoNamespace = () => / -n (\S+) run demo/.exec(printed)?.[1];

test("the README's demo lines as up printed them, run verbatim: the demo pod Running 2/2; the sidecar's log shows mode, license and the app's processes", async () => {
  assert.match(exportLine, /^export KUBECONFIG=\S+ PATH=\S+:\$PATH$/);
  const [run, get, logs] = ['run demo', 'get pod demo', 'logs demo'].map((words) => {
    const line = printed.split('\n').find((l) => l.startsWith('  kubectl') && l.includes(` ${words}`));
    assert.ok(line, `up printed no "kubectl ... ${words}" line`);
    return line!.trim();
  });
  const created = runPrinted(run);
  assert.is(created.status, 0, created.stderr);
  let listed = '';
  await waitFor('the demo pod Running 2/2', async () => /^demo\s+2\/2\s+Running\s/m.test((listed = runPrinted(get).stdout)), 120_000).catch((error) => {
    throw new Error(`${(error as Error).message}: ${listed}`, { cause: error });
  });
  let log = '';
  await waitFor(
    "the sidecar's log names the app's processes",
    async () => /app processes seen: \d+:\/app-standin/.test((log = runPrinted(logs).stdout)),
    30_000,
  );
  assert.match(log, /mode=monitor/);
  assert.match(log, /license found/);
  // The original troubleshooting line, on the Knative Service's pods: one line per admission.
  const webhookLog = runPrinted(`kubectl logs -n ${SYSTEM_NAMESPACE} -l app.kubernetes.io/name=pando-webhook --tail=-1`);
  assert.is(webhookLog.status, 0, webhookLog.stderr);
  assert.ok(
    webhookLog.stdout.split('\n').some((line) => line.includes('"decision":"inject"') && line.includes(`"namespace":"${demoNamespace()}"`)),
    webhookLog.stdout.slice(-2000),
  );
});

test('kubectl pando check passes, its webhook step naming the Knative Service', () => {
  const check = runPrinted(`kubectl pando check -o json -n ${demoNamespace()}`);
  assert.is(check.status, 0, check.stdout + check.stderr);
  const checks = JSON.parse(check.stdout).checks as Obj[];
  assert.equal(
    checks.filter((c) => !c.ok),
    [],
  );
  assert.match(checks.find((c) => c.id === 'webhook-ready')?.detail, /^knative: Ready=True/);
});

test('down: every process up started is stopped, the stand-in too, and its directory is gone', async () => {
  const pids = [...Object.values(state.pids), ...Object.values(state.node?.pids ?? {})].filter((pid): pid is number => typeof pid === 'number');
  assert.ok(state.pids.ingressStandIn && isAlive(state.pids.ingressStandIn), 'the stand-in ran');
  const down = cli(['down']);
  downRan = true;
  assert.is(down.status, 0, down.stdout + down.stderr);
  assert.match(down.stdout, /stopping the KIngress stand-in \(pid \d+\)/);
  assert.equal(
    pids.filter((pid) => isAlive(pid)),
    [],
  );
  assert.not.ok(existsSync(dir));
});

test.run();
