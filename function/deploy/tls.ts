// The serving certificate of the direct route, in one of two ways:
//   tls.certManager: true   cert-manager: self-signed Issuer -> CA Certificate -> CA Issuer ->
//                           serving Certificate; cainjector writes the MWC caBundle.
//   tls.certManager: false  our own image as a Job (and a weekly CronJob) that creates the CA and
//                           serving certificate and writes the caBundle (function/tls/), with RBAC
//                           limited to the named objects it touches.
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { Values } from './values';
import { containerSecurityContext, meta, NAMES, serviceDnsNames } from './meta';

export function certManagerObjects(v: Values): Array<IIssuer | ICertificate> {
  const ns = v.namespace;
  const issuer = (name: string, spec: IIssuer['spec']): IIssuer => ({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(name, 'tls', ns), spec });
  const ecdsa = { algorithm: 'ECDSA' as const, size: 256, rotationPolicy: 'Always' as const };
  return [
    issuer(NAMES.selfSignedIssuer, { selfSigned: {} }),
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(NAMES.caIssuer, 'tls', ns),
      spec: {
        isCA: true,
        commonName: `${NAMES.caIssuer}.${ns}`,
        secretName: NAMES.caSecret,
        duration: '43800h', // 5 years: replacing the CA is the one step with a trust gap, see README
        renewBefore: '8760h',
        privateKey: ecdsa,
        issuerRef: { name: NAMES.selfSignedIssuer, kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
    issuer(NAMES.caIssuer, { ca: { secretName: NAMES.caSecret } }),
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(NAMES.servingCertificate, 'tls', ns),
      spec: {
        secretName: NAMES.servingSecret,
        dnsNames: serviceDnsNames(v),
        duration: '2160h', // 90 days
        renewBefore: `${v.tls.renewBeforeDays * 24}h`,
        usages: ['server auth', 'digital signature'],
        privateKey: ecdsa,
        issuerRef: { name: NAMES.caIssuer, kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
  ];
}

/** The TLS setup contract with function/tls (its env, its command). */
export function tlsSetupEnv(v: Values) {
  return [
    { name: 'PANDO_NAMESPACE', value: v.namespace },
    { name: 'PANDO_SERVICE_NAME', value: NAMES.httpsService },
    { name: 'PANDO_TLS_SECRET', value: NAMES.servingSecret },
    { name: 'PANDO_CA_SECRET', value: NAMES.caSecret },
    { name: 'PANDO_WEBHOOK_CONFIGURATION', value: NAMES.webhookConfiguration },
    { name: 'PANDO_RENEW_BEFORE_DAYS', value: String(v.tls.renewBeforeDays) },
  ];
}

function tlsPodTemplate(v: Values): IJobSpec['template'] {
  return {
    metadata: { labels: meta('', 'tls').labels },
    spec: {
      serviceAccountName: NAMES.tlsSetup,
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'tls-setup',
        image: v.image,
        imagePullPolicy: 'IfNotPresent',
        command: ['node', 'dist/function/tls/setup.js'],
        env: tlsSetupEnv(v),
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
        securityContext: containerSecurityContext(),
      }],
    },
  };
}

export function tlsJobObjects(v: Values): Array<ISecret | IServiceAccount | IRole | IRoleBinding | IClusterRole | IClusterRoleBinding | IJob | ICronJob> {
  const ns = v.namespace;
  // Pre-created without data: the job needs no `create` right, and re-applying never wipes what
  // it wrote (the manifest has no data field for kubectl apply to take away).
  const emptySecret = (name: string): ISecret => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta(name, 'tls', ns), type: 'Opaque' });
  const subjects = [{ kind: 'ServiceAccount', name: NAMES.tlsSetup, namespace: ns }];
  const jobSpec: IJobSpec = { backoffLimit: 4, activeDeadlineSeconds: 300, template: tlsPodTemplate(v) };
  const account: IServiceAccount = {
    apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAMES.tlsSetup, 'tls', ns),
    automountServiceAccountToken: true, // it calls the API server
  };
  const role: IRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(NAMES.tlsSetup, 'tls', ns),
    rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [NAMES.servingSecret, NAMES.caSecret], verbs: ['get', 'update'] }],
  };
  const roleBinding: IRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(NAMES.tlsSetup, 'tls', ns),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAMES.tlsSetup },
    subjects,
  };
  const clusterRole: IClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(NAMES.tlsSetup, 'tls'),
    rules: [{
      apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'],
      resourceNames: [NAMES.webhookConfiguration], verbs: ['get', 'patch'],
    }],
  };
  const clusterRoleBinding: IClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta(NAMES.tlsSetup, 'tls'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMES.tlsSetup },
    subjects,
  };
  const job: IJob = { apiVersion: 'batch/v1', kind: 'Job', metadata: meta(NAMES.tlsSetup, 'tls', ns), spec: jobSpec };
  const renew: ICronJob = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: meta(NAMES.tlsRenew, 'tls', ns),
    spec: {
      // Weekly: renewal starts renewBeforeDays ahead, so several runs can fail without harm.
      schedule: v.tls.renewSchedule,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: { metadata: { labels: meta('', 'tls').labels }, spec: jobSpec },
    },
  };
  return [emptySecret(NAMES.caSecret), emptySecret(NAMES.servingSecret), account, role, roleBinding, clusterRole, clusterRoleBinding, job, renew];
}
