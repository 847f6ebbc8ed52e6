// The cluster. The official Kubernetes client does the kubeconfig: contexts, exec credential
// plugins, tokens, client certificates, in-cluster config. The few calls the plugin makes go out
// as plain JSON requests over those credentials (the TLS setup's kubeRequest), because the
// client's generic object API drops the spec of custom resources (Knative Service, OpenFaaS
// Function) and turns timestamps into Dates. "Not found" becomes undefined, so callers read as checks.
import type https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeError, kubeRequest, statusMessage, type KubeAnswer } from '../function/kube/client';

/** `status -A` lists every protected pod of a cluster; the TLS setup's 1 MiB is far too little. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export const isNotFound = (error: unknown) => error instanceof KubeError && error.status === 404;

/** An object as the API server sends it, read by its documented paths. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
}

/** The resource of each kind the plugin reads or writes. */
const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  Pod: 'pods',
  Secret: 'secrets',
  ServiceAccount: 'serviceaccounts',
  Service: 'services',
  RoleBinding: 'rolebindings',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
  Job: 'jobs',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  Function: 'functions',
  Certificate: 'certificates',
};

export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`kubectl-pando does not know the resource of kind ${kind}`);
  const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export class Kube {
  readonly config = new KubeConfig();

  constructor(options: KubeOptions = {}) {
    if (options.kubeconfig) this.config.loadFromFile(options.kubeconfig);
    else this.config.loadFromDefault();
    if (options.context) this.config.setCurrentContext(options.context);
  }

  /** The namespace of the current context (kubectl's default for -n). */
  get currentNamespace(): string {
    return this.config.getContextObject(this.config.getCurrentContext())?.namespace || 'default';
  }

  /** One call with the kubeconfig's credentials; a refusal becomes a KubeError with its status. */
  private async call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ body: Obj; headers: KubeAnswer['headers'] }> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster in the kubeconfig (kubectl config current-context)');
    const requestOptions: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(requestOptions);
    const access = { baseUrl: cluster.server, requestOptions, timeoutMs: 30_000, maxResponseBytes: MAX_RESPONSE_BYTES };
    const answer = await kubeRequest(access, method, path, body, contentType);
    if (answer.status < 200 || answer.status >= 300) throw new KubeError(method, path, answer.status, statusMessage(answer.text));
    try {
      return { body: answer.text ? JSON.parse(answer.text) : {}, headers: answer.headers };
    } catch {
      throw new KubeError(method, path, answer.status, 'response is not JSON');
    }
  }

  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<Obj | undefined> {
    try {
      return (await this.call('GET', resourcePath(apiVersion, kind, namespace, name))).body;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** GET of a path on a Service's pods, through the API server's Service proxy (RBAC: services/proxy). */
  async serviceProxyGet(namespace: string, service: string, port: string, path: string): Promise<Obj> {
    return (await this.call('GET', `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`)).body;
  }

  async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<Obj[]> {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    try {
      return (await this.call('GET', `${resourcePath(apiVersion, kind, namespace)}${query}`)).body.items ?? [];
    } catch (error) {
      if (isNotFound(error)) return []; // the kind's API is not installed
      throw error;
    }
  }

  /** Server-side apply as the plugin's field manager: creates or updates, idempotent. */
  async apply(object: Obj): Promise<Obj> {
    const path = resourcePath(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    return (await this.call('PATCH', `${path}?fieldManager=kubectl-pando&force=true`, object, 'application/apply-patch+yaml')).body;
  }

  /** A strategic merge patch, as kubectl patch sends by default; the object after it. */
  async patch(apiVersion: string, kind: string, name: string, namespace: string | undefined, patch: Obj): Promise<Obj> {
    const path = `${resourcePath(apiVersion, kind, namespace, name)}?fieldManager=kubectl-pando`;
    return (await this.call('PATCH', path, patch, 'application/strategic-merge-patch+json')).body;
  }

  /** Deletes; false when it was not there. */
  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
    try {
      await this.call('DELETE', resourcePath(apiVersion, kind, namespace, name));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The pod the API server would store, and the warnings it sent back (server-side dry-run). */
  async dryRunPod(namespace: string, pod: Obj): Promise<{ pod: Obj; warnings: string[] }> {
    const answer = await this.call('POST', `${resourcePath('v1', 'Pod', namespace)}?dryRun=All`, pod);
    const header = answer.headers.warning;
    return { pod: answer.body, warnings: parseWarnings(Array.isArray(header) ? header.join(', ') : (header ?? '')) };
  }
}

/** Warning headers ("299 - \"text\"", comma-joined when several) as their texts. */
export function parseWarnings(header: string): string[] {
  const texts: string[] = [];
  const pattern = /\d{3} \S+ "((?:[^"\\]|\\.)*)"/g;
  for (let match = pattern.exec(header); match; match = pattern.exec(header)) texts.push(match[1].replace(/\\(.)/g, '$1'));
  return texts;
}

/** One line for any error the plugin meets talking to the cluster. */
export function describeError(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
