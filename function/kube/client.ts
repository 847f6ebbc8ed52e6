// Kubernetes API calls as plain JSON requests over node:https: the TLS setup job's few calls
// (with the cluster's CA and the service account token), and the transport under the plugin's
// client (cli/kube.ts) and the e2e harness. No client library: four calls do not need one.
import http from 'node:http';
import https from 'node:https';

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export class KubeError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(`${method} ${path} failed: ${status ? `HTTP ${status}: ` : ''}${detail}`);
    this.name = 'KubeError';
  }
}

export interface KubeApi {
  get<T = unknown>(path: string): Promise<T>;
  put<T = unknown>(path: string, body: unknown): Promise<T>;
  jsonPatch<T = unknown>(path: string, operations: unknown[]): Promise<T>;
}

export interface KubeAccess {
  /** The API server's URL; a path prefix (a proxy's) is kept. */
  baseUrl: string;
  token?: string;
  ca?: string | Buffer;
  /** Connection reuse, for callers that make many calls (tests). */
  agent?: http.Agent;
  timeoutMs?: number;
  /** Larger answers are cut off (lists of a whole cluster need more than the setup's 1 MiB). */
  maxResponseBytes?: number;
  /** Credentials and TLS options from elsewhere: a kubeconfig, through the official client. */
  requestOptions?: https.RequestOptions;
}

export const secretPath = (namespace: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
export const mutatingWebhookPath = (name: string) => `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;

/** The API's own explanation from a Status object, shortened; never the request body. */
export function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: unknown; reason?: unknown };
    if (typeof status.message === 'string') return `${status.message.slice(0, 300)}${status.reason ? ` (${String(status.reason)})` : ''}`;
  } catch {
    /* not JSON: fall through */
  }
  return text.slice(0, 200) || 'no response body';
}

export interface KubeAnswer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** One API call, whatever its status: the answer's status, text (at most 1 MiB) and headers. */
export function kubeRequest(access: KubeAccess, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeAnswer> {
  // Appended, not resolved against the base: that would drop a path prefix.
  const url = new URL(`${access.baseUrl.replace(/\/+$/, '')}${path}`);
  const transport = url.protocol === 'https:' ? https : http;
  const limit = access.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const extra = access.requestOptions ?? {};
  return new Promise<KubeAnswer>((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = transport.request(
      url,
      {
        ...extra,
        method,
        ca: access.ca ?? extra.ca,
        agent: access.agent ?? extra.agent,
        timeout: access.timeoutMs ?? REQUEST_TIMEOUT_MS,
        headers: {
          ...extra.headers,
          ...(access.token ? { authorization: `Bearer ${access.token}` } : {}),
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) req.destroy(new Error(`response over ${limit} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', (error) => reject(new KubeError(method, path, undefined, error.message)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${(access.timeoutMs ?? REQUEST_TIMEOUT_MS) / 1000} s`)));
    req.on('error', (error) => reject(error instanceof KubeError ? error : new KubeError(method, path, undefined, error.message)));
    req.end(payload);
  });
}

export function kubeClient(access: KubeAccess): KubeApi {
  const call = async <T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> => {
    const { status, text } = await kubeRequest(access, method, path, body, contentType);
    if (status < 200 || status >= 300) throw new KubeError(method, path, status, statusMessage(text));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeError(method, path, status, 'response is not JSON');
    }
  };
  return {
    get: (path) => call('GET', path),
    put: (path, body) => call('PUT', path, body),
    jsonPatch: (path, operations) => call('PATCH', path, operations, 'application/json-patch+json'),
  };
}
