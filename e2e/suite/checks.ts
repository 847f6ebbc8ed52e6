// The injected pod as the API server stored it: what every suite asserts about it.
import * as assert from 'uvu/assert';
import { containersNamed, envValue, SIDECAR, type Obj } from './pods';

export interface Expected {
  mode?: string;
  serviceAccount?: string;
  hostPID?: boolean;
}

export function assertInjected(pod: Obj, expected: Expected = {}) {
  const sidecars = containersNamed(pod, SIDECAR);
  assert.is(sidecars.length, 1, `${pod.metadata.name}: one ${SIDECAR}`);
  const sidecar = sidecars[0];
  assert.is(envValue(sidecar, 'PANDO_MODE')?.value, expected.mode ?? 'monitor');
  assert.equal(envValue(sidecar, 'PANDO_LICENSE_KEY')?.valueFrom, { secretKeyRef: { name: 'pando-license', key: 'license-key' } });
  assert.is(envValue(sidecar, 'PANDO_LICENSE_KEY')?.value, undefined, 'the license is never inline');
  assert.is(envValue(sidecar, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
  assert.is(envValue(sidecar, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
  assert.ok(sidecar.livenessProbe?.httpGet && sidecar.readinessProbe?.httpGet, 'probes');
  assert.ok(sidecar.resources?.limits?.cpu && sidecar.resources?.limits?.memory, 'limits');
  assert.is(sidecar.securityContext?.runAsNonRoot, true);
  assert.is(sidecar.securityContext?.allowPrivilegeEscalation, false);
  assert.equal(sidecar.securityContext?.capabilities?.drop, ['ALL']);
  if (expected.hostPID) assert.not.ok(pod.spec.shareProcessNamespace, 'hostPID pods do not share the process namespace');
  else assert.is(pod.spec.shareProcessNamespace, true);
  assert.is(pod.spec.serviceAccountName, expected.serviceAccount ?? 'pando-sidecar');
  const status = JSON.parse(pod.metadata.annotations?.['pandocore.xyz/status'] ?? '{}');
  assert.is(status.mode, expected.mode ?? 'monitor');
}

export function assertUntouched(pod: Obj) {
  assert.is(containersNamed(pod, SIDECAR).length, 0, `${pod.metadata.name}: no ${SIDECAR}`);
  assert.is(pod.metadata.annotations?.['pandocore.xyz/status'], undefined);
}
