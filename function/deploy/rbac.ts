// What the injected sidecar may do, and the objects each protected namespace needs.
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { Values } from './values';
import { meta, NAMES } from './meta';

/**
 * The sidecar reads its own pod (mode and status annotations, containers it watches): `get` on
 * pods. Pod names are generated, so resourceNames cannot narrow it; a RoleBinding per namespace
 * keeps it to that namespace.
 */
export function sidecarClusterRole(): IClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(NAMES.sidecarRole, 'sidecar-rbac'),
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  };
}

/** ServiceAccount, RoleBinding and license Secret for one namespace (task namespace:enable). */
export function namespaceSetup(v: Values, namespace: string, licenseKey: string): [IServiceAccount, IRoleBinding, ISecret] {
  const account = v.sidecar.serviceAccount;
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(account, 'namespace-setup', namespace),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(account, 'namespace-setup', namespace),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMES.sidecarRole },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(v.license.secretName, 'namespace-setup', namespace),
      type: 'Opaque',
      stringData: { [v.license.secretKey]: licenseKey },
    },
  ];
}
