// The injected container, as a plain object you can read top to bottom.
import type { Config } from './config';
import type { Mode } from './schemas';
import { SIDECAR_NAME } from './pod';
import { configuredResources, type SidecarResources } from './overrides';

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly: true;
}

export function sidecarContainer(config: Config, mode: Mode, tokenMount?: VolumeMount, resources: SidecarResources = configuredResources(config)) {
  const probe = (path: string) => ({
    httpGet: { path, port: config.probe.port, scheme: 'HTTP' },
    periodSeconds: config.probe.periodSeconds,
    timeoutSeconds: config.probe.timeoutSeconds,
    failureThreshold: config.probe.failureThreshold,
  });
  return {
    name: SIDECAR_NAME,
    image: config.sidecarImage,
    imagePullPolicy: 'IfNotPresent',
    // A native sidecar: an init container that keeps running, started before the app containers
    // and stopped after them, so Jobs complete.
    ...(config.nativeSidecar ? { restartPolicy: 'Always' } : {}),
    env: [
      { name: 'PANDO_MODE', value: mode },
      { name: 'PANDO_LICENSE_KEY', valueFrom: { secretKeyRef: { name: config.licenseSecret.name, key: config.licenseSecret.key } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    ],
    // No declared ports: on a hostNetwork pod the API server would turn them into hostPorts,
    // which Pod Security baseline forbids. Probes name the port by number instead.
    livenessProbe: probe('/healthz'),
    readinessProbe: probe('/readyz'),
    resources,
    // Pod Security Standards "restricted", set on the container so the pod's own settings
    // (even runAsUser: 0 or privileged siblings) neither weaken nor break it. Its own UID, which
    // no app shares (config.ts says why).
    securityContext: {
      runAsNonRoot: true,
      runAsUser: config.sidecarUid,
      runAsGroup: config.sidecarUid,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...(tokenMount ? { volumeMounts: [tokenMount] } : {}),
  };
}
