// Admission objects: the MutatingWebhookConfiguration that calls the function, and the
// ValidatingAdmissionPolicy that notices a protected pod admitted without its sidecar.
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import type { IValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { PROTECT_LABEL, SIDECAR_NAME } from '../pod';
import type { Values } from './values';
import { meta, NAMES } from './meta';

/** Namespaces neither object looks at: the configured ones and the webhook's own. */
export const skippedNamespaces = (v: Values) => [...new Set([...v.excludedNamespaces, v.namespace])];

/** Set on a namespace by `task namespace:enable`, once its ServiceAccount and license Secret exist. */
export const ENABLED_LABEL = 'pandocore.xyz/enabled';

const notSkipped = (v: Values) => ({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: skippedNamespaces(v) });
/** The policy looks at every namespace but the skipped ones, so it also reports pods in namespaces not enabled. */
const policyNamespaces = (v: Values) => ({ matchExpressions: [notSkipped(v)] });
/** The webhook is called only in enabled namespaces: elsewhere the pando-sidecar ServiceAccount it
 * sets does not exist, and the API server's ServiceAccount admission would reject the pod. */
const webhookNamespaces = (v: Values) => ({ matchExpressions: [notSkipped(v), { key: ENABLED_LABEL, operator: 'In', values: ['true'] }] });
const objectSelector = { matchLabels: { [PROTECT_LABEL]: 'true' } };
const podCreate = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE' as const], resources: ['pods'] };

/** CEL: the pod already carries the sidecar (as a container or a native sidecar init container). */
export const HAS_SIDECAR_CEL =
  `object.spec.containers.exists(c, c.name == '${SIDECAR_NAME}') || `
  + `(has(object.spec.initContainers) && object.spec.initContainers.exists(c, c.name == '${SIDECAR_NAME}'))`;
/** CEL: a Windows pod, which the webhook leaves alone on purpose. */
const WINDOWS_CEL = `(has(object.spec.os) && object.spec.os.name == 'windows')`;

function caAnnotation(v: Values): Record<string, string> {
  if (v.webhook.route === 'knative-local-tls') return { 'cert-manager.io/inject-ca-from-secret': v.webhook.knativeLocalCaSecret };
  if (v.tls.certManager) return { 'cert-manager.io/inject-ca-from': `${v.namespace}/${NAMES.servingCertificate}` };
  return {}; // the TLS setup job writes the caBundle
}

function clientConfig(v: Values) {
  const name = v.webhook.route === 'direct' ? NAMES.httpsService : NAMES.knativeService;
  return { service: { namespace: v.namespace, name, port: 443, path: '/' } };
}

export function mutatingWebhookConfiguration(v: Values): IMutatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: meta(NAMES.webhookConfiguration, 'webhook', undefined, { annotations: caAnnotation(v) }),
    webhooks: [{
      name: 'inject.pandocore.xyz',
      admissionReviewVersions: ['v1'],
      clientConfig: clientConfig(v),
      rules: [{ ...podCreate, scope: 'Namespaced' as const }],
      matchPolicy: 'Equivalent',
      objectSelector,
      namespaceSelector: webhookNamespaces(v),
      // Skip the call entirely for pods that already have the sidecar (reinvocation, re-applies).
      matchConditions: [{ name: 'no-pando-sidecar-yet', expression: `!(${HAS_SIDECAR_CEL})` }],
      // Never block pod creation on the webhook; the policy below reports what slipped through.
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      timeoutSeconds: v.webhook.timeoutSeconds,
      reinvocationPolicy: 'IfNeeded',
    }],
  };
}

export function sidecarPolicy(v: Values): IValidatingAdmissionPolicy {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: meta(NAMES.policy, 'policy'),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [podCreate],
        objectSelector,
        namespaceSelector: policyNamespaces(v),
      },
      validations: [{
        expression: `${WINDOWS_CEL} || ${HAS_SIDECAR_CEL}`,
        message: `pod labelled ${PROTECT_LABEL}=true has no ${SIDECAR_NAME} container: the namespace is not enabled (${ENABLED_LABEL}=true) or the pando-webhook was not reached`,
        reason: 'Invalid',
      }],
    },
  };
}

export function sidecarPolicyBinding(v: Values): IValidatingAdmissionPolicyBinding {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: meta(NAMES.policy, 'policy'),
    spec: {
      policyName: NAMES.policy,
      // Warn: the creator sees it; Audit: the audit log records it. Deny is opt-in.
      validationActions: v.safetyNet.deny ? ['Deny'] : ['Warn', 'Audit'],
    },
  };
}
