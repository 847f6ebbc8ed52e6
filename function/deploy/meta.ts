// Names and metadata shared by every rendered object.
import { version } from '../../package.json';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { Values } from './values';
import { OBJECT_NAMES, serviceDnsNames as dnsNamesOf } from '../settings';

export const APP = 'pando-webhook';

/** Object names; the TLS setup job and the README rely on them. */
export const NAMES = {
  /** The Knative Service (Knative also names its route's placeholder Service after it). */
  knativeService: 'pando-webhook',
  /** Our selector-based Service: it may not share the Knative Service's name, see README. */
  httpsService: OBJECT_NAMES.httpsService,
  webhookAccount: 'pando-webhook',
  webhookConfiguration: OBJECT_NAMES.webhookConfiguration,
  servingSecret: OBJECT_NAMES.servingSecret,
  caSecret: OBJECT_NAMES.caSecret,
  tlsSetup: 'pando-webhook-tls-setup',
  tlsRenew: 'pando-webhook-tls-renew',
  selfSignedIssuer: 'pando-webhook-selfsigned',
  caIssuer: 'pando-webhook-ca',
  servingCertificate: 'pando-webhook-serving',
  policy: 'pando-sidecar-required',
  sidecarRole: 'pando-sidecar',
} as const;

export const CONTAINER = 'pando-webhook';
export const HTTP_PORT = 8080;
export const HTTPS_PORT = 8443;
/** The non-root user our containers run as (the image must not need another). */
export const RUN_AS_USER = 65532;

export type Component = 'webhook' | 'tls' | 'policy' | 'sidecar-rbac' | 'namespace' | 'namespace-setup';

/** The Kubernetes recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export function labels(component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': APP,
    'app.kubernetes.io/instance': APP,
    'app.kubernetes.io/version': version,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'pandocore',
    'app.kubernetes.io/managed-by': 'pando-render',
  };
}

export function meta(name: string, component: Component, namespace?: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}) {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...labels(component), ...extra.labels },
    ...(extra.annotations && Object.keys(extra.annotations).length ? { annotations: extra.annotations } : {}),
  };
}

/** The API server's DNS names for our HTTPS Service (the serving certificate's names). */
export const serviceDnsNames = (v: Values) => dnsNamesOf(NAMES.httpsService, v.namespace);

/** Pod Security "restricted" on the container, as Knative allows it (no pod-level context there). */
export const containerSecurityContext = (): ISecurityContext => ({
  runAsNonRoot: true,
  runAsUser: RUN_AS_USER,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});
