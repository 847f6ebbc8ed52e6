// The Taskfile's operator targets, run by the real task binary against the local cluster.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toolEnv } from '../harness/kubeconfig';
import { REPO } from '../harness/tools';
import { cluster, createPod, plainNamespace, simplePod, unique } from './context';
import { assertInjected } from './checks';

const task = (...args: string[]) =>
  spawnSync(join(cluster.tools, 'task'), ['--dir', REPO, ...args], {
    encoding: 'utf8',
    env: { ...toolEnv(cluster), PANDO_CLUSTER_DIR: cluster.dir },
  });

test('task namespace:enable NS=... enables a namespace: its labelled pods are injected', async () => {
  const namespace = plainNamespace('e2e-task-enabled');
  const run = task('namespace:enable', `NS=${namespace}`);
  assert.is(run.status, 0, run.stdout + run.stderr);
  const answer = await createPod(namespace, simplePod(unique('task')));
  assert.is(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
  assertInjected(answer.body);
});

test('task namespace:enable twice changes nothing and still succeeds', () => {
  const run = task('namespace:enable', 'NS=e2e-task-enabled');
  assert.is(run.status, 0, run.stdout + run.stderr);
});

test('task status lists the install', () => {
  const run = task('status');
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /pando-webhook/);
  assert.match(run.stdout, /inject\.pandocore\.xyz: caBundle \S{20,}/);
});

test('task cluster:status reports the running control plane', () => {
  const run = task('cluster:status');
  assert.is(run.status, 0, run.stdout + run.stderr);
  // The cluster's own address, on the node's bridge; the webhook's pods on the node.
  assert.ok(run.stdout.includes(`API server ${cluster.server}: ready`), run.stdout);
  assert.match(cluster.server, /^https:\/\/10\.244\.0\.1:\d+$/);
  assert.match(run.stdout, /node pando-node: Ready/);
  assert.match(run.stdout, /webhook pods: 2\/2 ready \(10\.244\.0\.\d+, 10\.244\.0\.\d+\)/);
});

test.run();
