// Knative Serving for real, on the local node: its controller, webhook, autoscaler and activator
// (built from knative.dev/serving's mains by npm run tools) run as pods of local images, installed
// from the module's config/ YAML. Knative's webhook defaults a Service, its controllers make a
// Revision whose 2 pods run the user's container beside queue-proxy from our local image. No
// networking layer runs here (each needs Envoy): the Route waits on a KIngress nothing serves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectl, kubectlOk } from '../harness/kubeconfig';
import { STANDIN_IMAGES } from '../harness/images';
import {
  installKnative,
  KNATIVE_DEPLOYMENTS,
  KNATIVE_NAMESPACE,
  knativeImage,
  markedReadyByStandIn,
  missingKnativeTools,
  startIngressStandIn,
  uninstallKnative,
} from '../harness/knative';
import { waitFor } from '../harness/processes';
import { skipSuite } from '../../test/support/skip';
import { cluster, unique, type Obj } from './context';

const namespace = unique('knative-e2e');
const getJson = (args: string[]): Obj => JSON.parse(kubectlOk(cluster, [...args, '-o', 'json']));
const condition = (obj: Obj, type: string) => obj.status?.conditions?.find((c: Obj) => c.type === type);

// The sidecar stand-in answers on the port Knative gives the user container.
const service = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace },
  spec: {
    template: {
      metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '2' } },
      spec: {
        containers: [
          {
            image: STANDIN_IMAGES.sidecar,
            ports: [{ containerPort: 8080 }],
            env: [
              { name: 'PANDO_HEALTH_PORT', value: '8080' },
              { name: 'PANDO_LICENSE_KEY', value: 'local' },
            ],
          },
        ],
      },
    },
  },
};

const missing = missingKnativeTools(cluster.tools);
if (missing.length) {
  skipSuite(test, 'Knative Serving on the node', `${missing.join(', ')} not in ${cluster.tools} (npm run tools builds them)`);
} else {
  test.before(() => {
    const seconds = installKnative(cluster, (line) => console.log(`knative: ${line}`));
    console.log(`knative: installed and rolled out in ${seconds.toFixed(1)} s`);
    kubectlOk(cluster, ['create', 'namespace', namespace]);
  });

  test.after(() => {
    kubectl(cluster, ['delete', 'namespace', namespace, '--wait=true', '--timeout=90s']);
    uninstallKnative(cluster);
  });

  test("Knative's controller, webhook, autoscaler and activator run as pods of the local images, each Ready", () => {
    for (const name of KNATIVE_DEPLOYMENTS) {
      const pods = getJson(['-n', KNATIVE_NAMESPACE, 'get', 'pods', '-l', `app=${name}`]).items as Obj[];
      const running = pods.filter((pod) => !pod.metadata.deletionTimestamp);
      assert.is(running.length, 1, `${name}: ${running.map((p) => p.metadata.name).join(', ')}`);
      const pod = running[0];
      assert.is(pod.status.phase, 'Running', `${pod.metadata.name}: ${JSON.stringify(pod.status.containerStatuses)}`);
      assert.is(condition(pod, 'Ready')?.status, 'True', pod.metadata.name);
      assert.is(pod.spec.containers[0].image, knativeImage(name));
      console.log(`knative: ${pod.metadata.name} Running, Ready, restarts ${pod.status.containerStatuses[0].restartCount}`);
    }
  });

  test("Knative's webhook defaults the Service: timeout, readiness probe, the creator's name", () => {
    kubectlOk(cluster, ['apply', '-f', '-'], JSON.stringify(service));
    const stored = getJson(['-n', namespace, 'get', 'ksvc', 'hello']);
    assert.is(stored.spec.template.spec.timeoutSeconds, 300);
    assert.ok(stored.spec.template.spec.containers[0].readinessProbe, 'a readiness probe');
    assert.ok(stored.metadata.annotations['serving.knative.dev/creator'], 'the creator annotation');
  });

  test('the Revision is Ready with 2 pods, each the user container and queue-proxy from the local image', async () => {
    let revision: Obj = {};
    await waitFor(
      'the Revision Ready',
      async () => {
        const service = getJson(['-n', namespace, 'get', 'ksvc', 'hello']);
        const name = service.status?.latestCreatedRevisionName;
        if (!name) return false;
        revision = getJson(['-n', namespace, 'get', 'revision', name]);
        const ready = condition(revision, 'Ready');
        if (ready?.status === 'False') throw new Error(`${ready.reason}: ${ready.message}`);
        return ready?.status === 'True';
      },
      180_000,
    );
    const pods = (getJson(['-n', namespace, 'get', 'pods', '-l', `serving.knative.dev/revision=${revision.metadata.name}`]).items as Obj[]).filter(
      (pod) => !pod.metadata.deletionTimestamp,
    );
    assert.is(pods.length, 2, pods.map((p) => p.metadata.name).join(', '));
    for (const pod of pods) {
      assert.is(pod.status.phase, 'Running');
      assert.equal(
        pod.status.containerStatuses.map((s: Obj) => [s.name, s.ready]).sort(),
        [
          ['queue-proxy', true],
          ['user-container', true],
        ],
        pod.metadata.name,
      );
      assert.is(pod.spec.containers.find((c: Obj) => c.name === 'queue-proxy').image, knativeImage('queue'));
    }
    console.log(kubectlOk(cluster, ['-n', namespace, 'get', 'pods', '-l', `serving.knative.dev/revision=${revision.metadata.name}`]).trimEnd());
  });

  test('without a networking layer the Route waits on its KIngress: the Service is not Ready, its Configuration is', () => {
    const stored = getJson(['-n', namespace, 'get', 'ksvc', 'hello']);
    assert.is(condition(stored, 'ConfigurationsReady')?.status, 'True');
    const routes = condition(stored, 'RoutesReady');
    assert.is.not(routes?.status, 'True', JSON.stringify(routes));
    console.log(`knative: Service hello RoutesReady=${routes?.status} ${routes?.reason ?? ''}: ${routes?.message ?? ''}`);
  });

  // The one stand-in (e2e/harness/knative.ts): what a networking layer writes on the KIngress
  // once its proxies serve it (no proxy runs: traffic to the Route's host still reaches nothing).
  test('with its KIngress marked ready as a networking layer would, the Service becomes Ready', async () => {
    const standIn = startIngressStandIn(cluster);
    try {
      await waitFor('the Service Ready', async () => condition(getJson(['-n', namespace, 'get', 'ksvc', 'hello']), 'Ready')?.status === 'True', 90_000);
    } finally {
      standIn.stop();
    }
    // The stored status, not the stand-in's record of its answers: a write whose answer was lost
    // (seen once on CI, under load) still made the Service Ready.
    const ingress = getJson(['-n', namespace, 'get', 'ingresses.networking.internal.knative.dev', 'hello']);
    assert.ok(markedReadyByStandIn(ingress), JSON.stringify(ingress.status));
    console.log(
      `knative: KIngress hello ready by the stand-in; its answers: ${standIn.marked.join(', ') || 'none seen'}` +
        (standIn.errors.length ? `; calls that failed: ${standIn.errors.slice(0, 5).join('; ')}` : ''),
    );
    console.log(kubectlOk(cluster, ['-n', namespace, 'get', 'ksvc,revision', '-o', 'wide']).trimEnd());
  });
}

test.run();
