// After `down` (npm run e2e runs this once the cluster is down): no process, mount, link, route,
// iptables rule or chain, cgroup or sysctl change of the cluster is left on the host.
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterState } from '../harness/state';
import { JOURNAL, mountsUnder } from '../harness/host';
import { shimPids } from '../harness/node';
import { isAlive } from '../harness/processes';
import { hostSnapshot, type HostSnapshot } from './snapshot';
import { SKIP_LINE } from '../../test/support/skip';

const dir = process.env.PANDO_E2E_DIR as string;
const before = JSON.parse(readFileSync(process.env.PANDO_E2E_HOST_BEFORE as string, 'utf8')) as HostSnapshot;
const after = hostSnapshot();
// The main cluster's record, when this run brought it up (a filter may pick only the suites of
// clusters of their own: each of those takes its own down; the host checks below cover them all).
const statePath = `${dir}.state.json`;
const state = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as ClusterState) : undefined;

/** Alive and still ours: its command line names the cluster dir (a pid may be reused since). */
function ours(pid: number | undefined): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

if (state) {
  test('the cluster had a node (else there is nothing to check)', () => {
    assert.ok(state.node, 'npm run e2e brings up a node');
    assert.ok(Object.values(state.node!.pids).every(Boolean), JSON.stringify(state.node!.pids));
  });

  test('no process of the cluster runs: control plane, node, pod shims, the registry', () => {
    const pids = { ...state.pids, ...state.node?.pids, registry: state.registry?.pid };
    const alive = Object.entries(pids).filter(([, pid]) => ours(pid));
    assert.equal(alive, []);
    assert.equal(shimPids(`${state.node?.dir}/containerd/containerd.sock`), []);
  });
} else {
  test.skip('the main cluster: no process left (this run did not bring it up)', () => undefined);
  console.log(`${SKIP_LINE}the main cluster's processes: this run's filter picked none of its suites`);
}

test('no mount under the cluster dir, which is gone', () => {
  assert.equal(mountsUnder(dir), []);
  assert.not.ok(existsSync(dir), dir);
});

test('links and routes as before', () => {
  assert.equal(after.links, before.links);
  assert.equal(after.routes, before.routes);
});

test('no iptables chain or jump of the node (KUBE-*, CNI-*, PANDO-NODE-*) in any table or backend', () => {
  assert.equal(after.chains, before.chains);
  assert.equal(after.rules, before.rules);
});

test('no cgroup of the node', () => {
  assert.equal(after.cgroups, before.cgroups);
});

test('sysctls restored, paths outside the cluster dir removed, the journal gone', () => {
  assert.equal(after.sysctls, before.sysctls);
  assert.equal(after.paths, before.paths);
  assert.not.ok(existsSync(JOURNAL), JOURNAL);
});

test.run();
