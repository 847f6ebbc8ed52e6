// kubectl pando status reads the sidecar from the pod's spec and status: the status annotation,
// which whoever creates the pod writes, never makes a pod current.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeImage, renderStatus, sidecarStatusOf } from './status';

const CONFIGURED = 'ghcr.io/pandocore/pando-sidecar:1.1.0';
const annotation = (image: string) => ({ 'pandocore.xyz/status': JSON.stringify({ image, mode: 'enforce', version: '0.1.0' }) });
const sidecar = (image: string, mode = 'monitor') => ({ name: 'pando-sidecar', image, env: [{ name: 'PANDO_MODE', value: mode }] });
const pod = (containers: object[], annotations?: object, status?: object) => ({
  metadata: { name: 'p', namespace: 'shop', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'nginx' }, ...containers] },
  ...(status ? { status } : {}),
});

test('the spec decides: image and mode of the sidecar container, current when it is the configured image', () => {
  assert.equal(sidecarStatusOf(pod([sidecar(CONFIGURED, 'debug')], annotation(CONFIGURED)), CONFIGURED), {
    image: CONFIGURED,
    running: undefined,
    mode: 'debug',
    current: true,
  });
  const native = { metadata: { name: 'p' }, spec: { initContainers: [{ ...sidecar(CONFIGURED), restartPolicy: 'Always' }], containers: [{ name: 'app' }] } };
  assert.is(sidecarStatusOf(native, CONFIGURED).current, true);
});

test('the status annotation alone makes nothing current, and a contradicting one is reported', () => {
  const bare = sidecarStatusOf(pod([], annotation(CONFIGURED)), CONFIGURED);
  assert.is(bare.current, false);
  assert.is(bare.image, undefined);
  assert.equal(bare.problems, [`status annotation names ${CONFIGURED}, the spec no sidecar`]);
  const swapped = sidecarStatusOf(pod([sidecar('registry.example/evil:1')], annotation(CONFIGURED)), CONFIGURED);
  assert.is(swapped.current, false);
  assert.is(swapped.image, 'registry.example/evil:1');
  const text = renderStatus({
    configuredImage: CONFIGURED,
    pods: [{ namespace: 'shop', pod: 'p', workload: undefined, ...swapped }],
    restarts: [],
    reinject: [],
  });
  assert.match(
    text,
    /Not what they claim:\n {2}shop\/p: status annotation names ghcr\.io\/pandocore\/pando-sidecar:1\.1\.0, the spec registry\.example\/evil:1/,
  );
});

test('the running image (container status) must be the spec one; runtimes spell references out', () => {
  const running = (image: string) => ({ containerStatuses: [{ name: 'pando-sidecar', image }] });
  assert.is(sidecarStatusOf(pod([sidecar(CONFIGURED)], undefined, running(CONFIGURED)), CONFIGURED).current, true);
  const other = sidecarStatusOf(pod([sidecar(CONFIGURED)], undefined, running('ghcr.io/pandocore/pando-sidecar:0.9.0')), CONFIGURED);
  assert.is(other.current, false);
  assert.equal(other.problems, [`running ghcr.io/pandocore/pando-sidecar:0.9.0, not the spec's ${CONFIGURED}`]);
  assert.is(sidecarStatusOf(pod([sidecar('pando/sidecar')], undefined, running('docker.io/pando/sidecar:latest')), 'pando/sidecar').current, true);
  assert.is(normalizeImage('nginx'), 'docker.io/library/nginx:latest');
  assert.is(normalizeImage('localhost:5000/a/b'), 'localhost:5000/a/b:latest');
  assert.is(normalizeImage(`ghcr.io/x/y@sha256:${'a'.repeat(64)}`), `ghcr.io/x/y@sha256:${'a'.repeat(64)}`);
});

test.run();
