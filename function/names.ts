// The names of the objects the chart makes, in one place: the TLS setup, the plugin and the tests
// look objects up by these, and test/chart/names.test.ts fails when the chart renders another.
// They are fixed (not derived from the release name) because the README and the troubleshooting
// commands name them too.
export const OBJECT_NAMES = {
  /** The MutatingWebhookConfiguration, the workload (Deployment, Knative Service or OpenFaaS
   * Function), its ServiceAccount, NetworkPolicy, PodDisruptionBudget and monitors. */
  webhook: 'pando-webhook',
  /** Our selector-based HTTPS Service (Knative owns a Service named after the Knative Service). */
  httpsService: 'pando-webhook-https',
  metricsService: 'pando-webhook-metrics',
  servingSecret: 'pando-webhook-tls',
  caSecret: 'pando-webhook-ca',
  /** cert-manager's Certificate for the serving key (tls.certManager=true). */
  servingCertificate: 'pando-webhook-serving',
  selfSignedIssuer: 'pando-webhook-selfsigned',
  /** The TLS setup's account, its roles and bindings, and the prefix of its Jobs. */
  tlsSetup: 'pando-webhook-tls-setup',
  /** The CronJob that renews the serving certificate. */
  tlsRenew: 'pando-webhook-tls-renew',
  /** The policy that lets the TLS setup account change nothing but the caBundle. */
  tlsSetupCaBundleOnly: 'pando-webhook-tls-setup-cabundle-only',
  dashboard: 'pando-webhook-dashboard',
  /** The ClusterRole the sidecar is bound to, whatever its account is called. */
  sidecarClusterRole: 'pando-sidecar',
  /** The defaults of sidecar.serviceAccount and license.secretName. */
  sidecarServiceAccount: 'pando-sidecar',
  licenseSecret: 'pando-license',
  /** The safety-net policies: a protected pod has the sidecar, an update keeps it. */
  sidecarRequiredPolicy: 'pando-sidecar-required',
  sidecarUnchangedPolicy: 'pando-sidecar-unchanged',
  /** helm test: its pod, account and roles (templates/tests/check.yaml). */
  helmTest: 'pando-webhook-test',
} as const;

/** The namespace the README installs into; the webhook configuration says where it really is. */
export const DEFAULT_RELEASE_NAMESPACE = 'pando-system';
