// kubectl pando enable|disable NS: the per-namespace setup of the original instructions
// (ServiceAccount, RoleBinding, license Secret) and the label the webhook selects namespaces by.
// Server-side apply makes enable idempotent; the label comes last, so the webhook starts
// injecting only once a protected pod there can run.
import { SIDECAR_CLUSTER_ROLE } from '../function/pod';
import { UsageError } from './errors';
import { Kube, type Obj } from './kube';
import { ENABLED_LABEL, enabledNamespaces, findInstall, MANAGED_BY, configOf } from './read-install';

export interface EnableOptions {
  /** The license key itself, read from --license-file; otherwise copied from the release namespace. */
  licenseKey?: string;
  /** Create the namespace when it does not exist (--create). */
  create?: boolean;
  /** --pull-secret-from NS/NAME: a registry Secret to copy into the namespace, under its own name. */
  pullSecretFrom?: string;
}

const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';

/** The registry Secret --pull-secret-from names, read and checked before anything is written. */
async function pullSecretSource(kube: Kube, from: string): Promise<Obj> {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(from);
  if (!match) throw new UsageError(`--pull-secret-from ${from}: NAMESPACE/NAME of a Secret`);
  const [namespace, name] = [match[1], match[3]];
  const source = await kube.get('v1', 'Secret', name, namespace);
  if (!source) throw new UsageError(`--pull-secret-from: Secret ${namespace}/${name} not found`);
  if (source.type !== DOCKER_CONFIG_JSON) {
    throw new UsageError(
      `--pull-secret-from: Secret ${namespace}/${name} is of type ${source.type ?? 'Opaque'}, not ${DOCKER_CONFIG_JSON} (kubectl create secret docker-registry makes one)`,
    );
  }
  return source;
}

export async function enableNamespace(kube: Kube, namespace: string, options: EnableOptions = {}): Promise<string[]> {
  const install = await findInstall(kube);
  const { serviceAccount: account, licenseSecret: license } = configOf(install);
  if (namespace === install.namespace || install.config?.excludedNamespaces.has(namespace)) {
    throw new UsageError(`${namespace} is never injected (the release namespace or excludedNamespaces)`);
  }
  const pullSecret = options.pullSecretFrom ? await pullSecretSource(kube, options.pullSecretFrom) : undefined;
  const done: string[] = [];
  if (!(await kube.get('v1', 'Namespace', namespace))) {
    if (!options.create) throw new UsageError(`namespace ${namespace} not found: add --create to create it, or kubectl create namespace ${namespace}`);
    // Not labelled as ours: disable keeps a namespace, whoever made it.
    await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    done.push(`namespace/${namespace} created`);
  }

  const metadata = (name: string) => ({ name, namespace, labels: MANAGED_BY });
  // Objects someone else made (by hand, another chart, inject-pandocore.sh) are left as they are:
  // the plugin never takes them over, so disable never deletes them.
  const ensure = async (object: Obj, update: boolean) => {
    const name = `${object.kind.toLowerCase()}/${object.metadata.name}`;
    const existing = await kube.get(object.apiVersion, object.kind, object.metadata.name, namespace);
    if (existing && !isOurs(existing)) return done.push(`${name} kept (not made by kubectl pando)`);
    if (existing && !update) return done.push(`${name} kept`);
    await kube.apply(object);
    done.push(`${name} ${existing ? 'applied' : 'created'}`);
  };
  await ensure({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(account) }, true);
  await ensure(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(account),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SIDECAR_CLUSTER_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
    },
    true,
  );
  const secret = await kube.get('v1', 'Secret', license.name, namespace);
  if (secret && !isOurs(secret) && options.licenseKey !== undefined) {
    throw new UsageError(`Secret ${namespace}/${license.name} was not made by kubectl pando: update its ${license.key} yourself`);
  }
  // The key: from --license-file, else copied from the release namespace when the Secret is new.
  const key = options.licenseKey ?? (secret ? undefined : await releaseLicense(kube, install.namespace, license));
  await ensure(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(license.name),
      type: 'Opaque',
      data: { [license.key]: Buffer.from((key ?? '').trim()).toString('base64') },
    },
    key !== undefined,
  );
  if (pullSecret) {
    // The data only: the source's labels, annotations and owners belong to it. Applied on every
    // run, so enable again after the source changed (a new registry password) copies it again.
    const name = pullSecret.metadata.name as string;
    await ensure({ apiVersion: 'v1', kind: 'Secret', metadata: metadata(name), type: DOCKER_CONFIG_JSON, data: { ...(pullSecret.data ?? {}) } }, true);
    if (!install.config?.imagePullSecrets.includes(name)) {
      done.push(`note: the webhook adds ${name} to pods only when sidecar.imagePullSecrets lists it (helm upgrade --set sidecar.imagePullSecrets={${name}})`);
    }
  }
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [ENABLED_LABEL]: 'true' } } });
  done.push(`namespace/${namespace} labelled ${ENABLED_LABEL}=true`);
  return done;
}

/**
 * kubectl pando enable --rotate-license: writes the key (from --license-file, else the release
 * namespace's Secret, which the operator has just updated) into every license Secret enable
 * made, in every namespace labelled for the webhook. Secrets made by others, and namespaces the
 * Helm release enables (helm upgrade rotates those), are listed, not touched.
 */
export async function rotateLicense(kube: Kube, options: EnableOptions = {}): Promise<string[]> {
  const install = await findInstall(kube);
  const { licenseSecret: license } = configOf(install);
  const key = (options.licenseKey ?? (await releaseLicense(kube, install.namespace, license))).trim();
  const data = Buffer.from(key).toString('base64');
  const { labelled, listed } = await enabledNamespaces(kube, install);
  const done: string[] = [];
  for (const namespace of [...new Set(labelled)].sort()) {
    const name = `${namespace}/secret/${license.name}`;
    if (listed.includes(namespace)) {
      done.push(`${name} kept (the Helm release enables ${namespace}: helm upgrade --set-file licenseKey=... rotates it)`);
      continue;
    }
    const secret = await kube.get('v1', 'Secret', license.name, namespace);
    if (!secret) {
      done.push(`${name} missing (kubectl pando enable ${namespace} makes it)`);
      continue;
    }
    if (!isOurs(secret)) {
      done.push(`${name} kept (not made by kubectl pando: update its ${license.key} yourself)`);
      continue;
    }
    if (secret.data?.[license.key] === data) {
      done.push(`${name} already current`);
      continue;
    }
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: license.name, namespace, labels: MANAGED_BY },
      type: 'Opaque',
      data: { [license.key]: data },
    });
    done.push(`${name} rotated`);
  }
  return done;
}

const isOurs = (object: Obj) => object.metadata?.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY['app.kubernetes.io/managed-by'];

async function releaseLicense(kube: Kube, releaseNamespace: string, license: { name: string; key: string }): Promise<string> {
  const source = await kube.get('v1', 'Secret', license.name, releaseNamespace);
  const data = source?.data?.[license.key];
  if (!data) throw new UsageError(`no license to copy: Secret ${releaseNamespace}/${license.name} has no ${license.key}; pass --license-file FILE`);
  return Buffer.from(data, 'base64').toString('utf8');
}

export async function disableNamespace(kube: Kube, namespace: string): Promise<string[]> {
  const install = await findInstall(kube);
  const { listed } = await enabledNamespaces(kube, install);
  if (listed.includes(namespace)) {
    throw new UsageError(`${namespace} is enabled by the Helm release (its namespaces value): helm upgrade pando-webhook ... without it`);
  }
  const { serviceAccount: account, licenseSecret: license } = configOf(install);
  const done: string[] = [];
  // First the label: the webhook stops injecting before what injected pods need goes away.
  // The plugin's field manager releases its label; other owners of the label keep theirs.
  if (!(await kube.get('v1', 'Namespace', namespace))) throw new UsageError(`namespace ${namespace} not found`);
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const after = await kube.get('v1', 'Namespace', namespace);
  if (after?.metadata?.labels?.[ENABLED_LABEL] !== undefined) {
    throw new UsageError(`namespace ${namespace} keeps ${ENABLED_LABEL} (set by another tool): kubectl label namespace ${namespace} ${ENABLED_LABEL}-`);
  }
  done.push(`namespace/${namespace} no longer labelled ${ENABLED_LABEL}`);
  for (const [apiVersion, kind, name] of [
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', account],
    ['v1', 'ServiceAccount', account],
    ['v1', 'Secret', license.name],
  ]) {
    const object = await kube.get(apiVersion, kind, name, namespace);
    // Only what enable made: an account or Secret someone else owns stays.
    if (!object || !isOurs(object)) continue;
    await kube.delete(apiVersion, kind, name, namespace);
    done.push(`${kind.toLowerCase()}/${name} deleted`);
  }
  // The registry Secrets --pull-secret-from copied (ours, of that type).
  for (const secret of await kube.list('v1', 'Secret', namespace, 'app.kubernetes.io/managed-by=kubectl-pando')) {
    if (secret.type !== DOCKER_CONFIG_JSON || !isOurs(secret)) continue;
    await kube.delete('v1', 'Secret', secret.metadata.name, namespace);
    done.push(`secret/${secret.metadata.name} deleted`);
  }
  return done;
}
