// The injected container's identity: with shareProcessNamespace (which inject sets), a process
// of the same UID reads /proc/<pid>/environ of the sidecar, where the license key is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from './config';
import { inject } from './inject';
import { sidecarContainer } from './sidecar';
import { defaultConfig } from '../test/support/config';

const DISTROLESS_NONROOT = 65532;

test('a distroless nonroot app (UID 65532) and the injected sidecar never share a UID or GID', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace: 'shop', labels: { 'pandocore.xyz/protect': 'true' } },
    spec: {
      securityContext: { runAsUser: DISTROLESS_NONROOT, runAsGroup: DISTROLESS_NONROOT },
      containers: [{ name: 'app', image: 'gcr.io/distroless/static:nonroot' }],
    },
  };
  const spec = inject(pod, defaultConfig).pod.spec as any;
  assert.is(spec.shareProcessNamespace, true);
  const sidecar = [...spec.containers, ...(spec.initContainers ?? [])].find((c: any) => c.name === 'pando-sidecar');
  assert.is.not(sidecar.securityContext.runAsUser, DISTROLESS_NONROOT);
  assert.is.not(sidecar.securityContext.runAsGroup, DISTROLESS_NONROOT);
  assert.ok(sidecar.securityContext.runAsUser > 0 && sidecar.securityContext.runAsNonRoot);
});

test('PANDO_SIDECAR_UID sets the UID and GID of the sidecar', () => {
  const config = loadConfig({ PANDO_SIDECAR_UID: '31337' });
  const { securityContext } = sidecarContainer(config, 'monitor');
  assert.is(securityContext.runAsUser, 31337);
  assert.is(securityContext.runAsGroup, 31337);
});

test.run();
