// Pods that run, on the local cluster's node: the node Ready, the README's demo pod Running with
// the sidecar (the stand-in, set with helm upgrade --set sidecar.image as a user sets an image)
// Ready, what the sidecar logs, and a Service reached by name through CoreDNS from a pod.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectl, kubectlOk } from '../harness/kubeconfig';
import { NETWORK } from '../harness/host';
import { STANDIN_IMAGES } from '../harness/images';
import { NODE_NAME } from '../harness/node';
import { waitFor } from '../harness/processes';
import { cluster, SIDECAR, unique, type Obj, runsOnNode } from './context';

const namespace = unique('node');

const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const podPhase = (name: string) => kubectl(cluster, ['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}']).stdout;

async function waitForPhase(name: string, phases: string[], timeoutMs = 60_000) {
  await waitFor(`pod ${name} ${phases.join(' or ')}`, async () => phases.includes(podPhase(name)), timeoutMs);
  return podPhase(name);
}

test.before(() => assert.ok(cluster.node, 'npm run e2e brings the cluster up with a node'));
runsOnNode(test, namespace);

test('the node is Ready, with its InternalIP on the project bridge and the cluster DNS', () => {
  const node = getJson(['get', 'node', NODE_NAME]);
  const ready = node.status.conditions.find((c: Obj) => c.type === 'Ready');
  assert.is(ready?.status, 'True', JSON.stringify(ready));
  assert.equal(
    node.status.addresses.filter((a: Obj) => a.type === 'InternalIP').map((a: Obj) => a.address),
    [NETWORK.nodeIp],
  );
  assert.equal(node.spec.taints ?? [], [], 'the not-ready taint is gone');
});

test("the README's demo pod runs: Running, the sidecar Ready, its logs show mode, license and the app's processes", async () => {
  kubectlOk(cluster, ['-n', namespace, 'run', 'demo', `--image=${STANDIN_IMAGES.app}`, '--labels=pandocore.xyz/protect=true']);
  assert.is(await waitForPhase('demo', ['Running', 'Failed']), 'Running');
  kubectlOk(cluster, ['-n', namespace, 'wait', '--for=condition=Ready', 'pod/demo', '--timeout=60s']);
  const pod = getJson(['-n', namespace, 'get', 'pod', 'demo']);
  const statuses = [...(pod.status.initContainerStatuses ?? []), ...pod.status.containerStatuses];
  const sidecar = statuses.find((s: Obj) => s.name === SIDECAR);
  assert.ok(sidecar, `no ${SIDECAR} status: ${JSON.stringify(statuses.map((s: Obj) => s.name))}`);
  assert.is(sidecar.ready, true);
  assert.is(sidecar.image, STANDIN_IMAGES.sidecar);
  assert.is(pod.spec.shareProcessNamespace, true);
  assert.is(pod.spec.nodeName, NODE_NAME);
  // The sidecar prints what it sees once a second: the app's process appears after it starts.
  let logs = '';
  await waitFor(
    "the sidecar's logs name the app's process",
    async () => /app processes seen: .*app-standin/.test((logs = kubectlOk(cluster, ['-n', namespace, 'logs', 'demo', '-c', SIDECAR]))),
    15_000,
  );
  assert.match(logs, /mode=monitor/);
  assert.match(logs, /license found/);
  assert.match(logs, /app processes seen: \d+:\/app-standin/);
  // Printed in the same order kubectl logs shows (the README's command).
  const readme = kubectl(cluster, ['logs', 'demo', '-c', SIDECAR, '-n', namespace]);
  assert.is(readme.code, 0, readme.stderr);
});

test('a Service is reached by name through CoreDNS from a pod; a name outside cluster.local resolves to nothing', async () => {
  // The demo pod's sidecar serves /readyz on 9901: a Service in front of it.
  kubectlOk(cluster, ['-n', namespace, 'expose', 'pod', 'demo', '--name=demo-health', '--port=80', '--target-port=9901']);
  const client = (name: string, url: string, seconds: number) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'client',
            image: STANDIN_IMAGES.app,
            env: [
              { name: 'APP_FETCH', value: url },
              { name: 'APP_FETCH_SECONDS', value: String(seconds) },
            ],
          },
        ],
      },
    });
  kubectlOk(cluster, ['-n', namespace, 'apply', '-f', '-'], client('by-name', 'http://demo-health/readyz', 30));
  kubectlOk(cluster, ['-n', namespace, 'apply', '-f', '-'], client('outside', 'http://example.com/', 2));
  assert.is(await waitForPhase('by-name', ['Succeeded', 'Failed']), 'Succeeded', kubectl(cluster, ['-n', namespace, 'logs', 'by-name']).stdout);
  assert.match(kubectlOk(cluster, ['-n', namespace, 'logs', 'by-name']), /GET http:\/\/demo-health\/readyz: 200 ready/);
  assert.is(await waitForPhase('outside', ['Succeeded', 'Failed']), 'Failed');
  const outside = kubectlOk(cluster, ['-n', namespace, 'logs', 'outside']);
  assert.match(outside, /GET http:\/\/example\.com\/: .*lookup example\.com/);
  const resolv = getJson(['-n', namespace, 'get', 'pod', 'by-name']).spec.dnsPolicy;
  assert.is(resolv, 'ClusterFirst');
});

test.run();
