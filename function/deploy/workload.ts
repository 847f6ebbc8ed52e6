// The webhook itself: its namespace, its service account, the Knative Service and, on the direct
// route, the Service the API server calls.
//
// Knative's default config-features reject in a Knative Service: a pod-level securityContext,
// automountServiceAccountToken, fieldRef env vars, more than one declared port, secret mounts
// without readOnly, runAsGroup in the container context. So security settings sit on the
// container and the token is switched off on the ServiceAccount.
// Return types are the kubernetes-models interfaces: a misspelt field fails the type check.
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IService as IKnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { envFromValues, Values } from './values';
import { CONTAINER, containerSecurityContext, HTTP_PORT, HTTPS_PORT, labels, meta, NAMES } from './meta';

const TLS_DIR = '/tls';

export function namespace(v: Values): INamespace {
  const level = v.podSecurity.enforce;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: meta(v.namespace, 'namespace', undefined, {
      labels: {
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/warn-version': 'latest',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/audit-version': 'latest',
      },
    }),
  };
}

export function webhookServiceAccount(v: Values): IServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(NAMES.webhookAccount, 'webhook', v.namespace),
    // The function calls no API.
    automountServiceAccountToken: false,
  };
}

const direct = (v: Values) => v.webhook.route === 'direct';

function scaleAnnotations(v: Values): Record<string, string> {
  const common = {
    // Never below `replicas`: a cold start must never meet the webhook timeout.
    'autoscaling.knative.dev/min-scale': String(v.replicas),
    'autoscaling.knative.dev/initial-scale': String(v.replicas),
    'autoscaling.knative.dev/max-scale': String(v.maxReplicas),
  };
  if (v.autoscaling.class === 'hpa') {
    // CPU-based: sees load however it arrives (the direct route bypasses queue-proxy's counters).
    return {
      'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
      'autoscaling.knative.dev/metric': 'cpu',
      'autoscaling.knative.dev/target': String(v.autoscaling.cpuTargetPercent),
      ...common,
    };
  }
  return { 'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev', ...common };
}

function containerEnv(v: Values) {
  const env = Object.entries(envFromValues(v)).map(([name, value]) => ({ name, value }));
  if (!direct(v)) return env;
  return [
    ...env,
    { name: 'PANDO_TLS_PORT', value: String(HTTPS_PORT) },
    { name: 'PANDO_TLS_CERT_FILE', value: `${TLS_DIR}/tls.crt` },
    { name: 'PANDO_TLS_KEY_FILE', value: `${TLS_DIR}/tls.key` },
  ];
}

export function knativeService(v: Values): IKnativeService {
  const probe = (path: string, periodSeconds: number) => ({
    // No port: Knative routes HTTP probes to the declared containerPort through queue-proxy.
    httpGet: { path },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold: 3,
    successThreshold: 1,
  });
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: meta(NAMES.knativeService, 'webhook', v.namespace, {
      labels: { 'networking.knative.dev/visibility': 'cluster-local' },
    }),
    spec: {
      template: {
        metadata: {
          labels: labels('webhook'),
          annotations: { ...scaleAnnotations(v), 'kubectl.kubernetes.io/default-container': CONTAINER },
        },
        spec: {
          serviceAccountName: NAMES.webhookAccount,
          enableServiceLinks: false,
          // Request timeout, and the pods' termination grace period: longer than the drain.
          timeoutSeconds: 30,
          containers: [{
            name: CONTAINER,
            image: v.image,
            imagePullPolicy: 'IfNotPresent',
            // One port only; Knative sets PORT from it. HTTPS on PANDO_TLS_PORT is undeclared on purpose.
            ports: [{ name: 'http1', containerPort: HTTP_PORT }],
            env: containerEnv(v),
            readinessProbe: probe('/readyz', 5),
            livenessProbe: probe('/healthz', 10),
            resources: v.resources,
            securityContext: containerSecurityContext(),
            ...(direct(v) ? { volumeMounts: [{ name: 'tls', mountPath: TLS_DIR, readOnly: true }] } : {}),
          }],
          ...(direct(v) ? { volumes: [{ name: 'tls', secret: { secretName: NAMES.servingSecret } }] } : {}),
        },
      },
    },
  };
}

/**
 * The direct route: a plain ClusterIP Service selecting the revision pods by the label Knative
 * puts on them, so kube-apiserver reaches the function's own HTTPS listener.
 */
export function httpsService(v: Values): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(NAMES.httpsService, 'webhook', v.namespace),
    spec: {
      type: 'ClusterIP',
      selector: { 'serving.knative.dev/service': NAMES.knativeService },
      ports: [{ name: 'https', port: 443, targetPort: HTTPS_PORT, protocol: 'TCP' }],
    },
  };
}
