// Test support: the install values each test renders, the defaults and one per value changed.
export const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  'tls.certManager=true': { tls: { certManager: true } },
  'safetyNet.deny=true': { safetyNet: { deny: true } },
  'replicas=3': { replicas: 3, maxReplicas: 9 },
  excludedNamespaces: { excludedNamespaces: ['kube-system', 'monitoring'] },
  'defaultMode=enforce': { defaultMode: 'enforce' },
  'sidecar.image': { sidecar: { image: 'registry.example/pando-sidecar:2.0.0' } },
  'webhook.route=knative-local-tls': { webhook: { route: 'knative-local-tls' } },
  'autoscaling.class=hpa': { autoscaling: { class: 'hpa' } },
  'podSecurity.enforce=restricted': { podSecurity: { enforce: 'restricted' } },
  'namespace=pando': { namespace: 'pando' },
};
