// A small client for the local API server, for tests that need the raw answer: status, body and
// the Warning headers the API server sends back (what kubectl prints as "Warning: ...").
import https from 'node:https';
import { kubeRequest } from '../../function/kube/client';

export interface ApiAccess {
  server: string;
  token: string;
  ca: string;
}
export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  warnings: string[];
}

export type Api = ReturnType<typeof apiClient>;

export function apiClient(access: ApiAccess, maxSockets = 8) {
  const agent = new https.Agent({ keepAlive: true, maxSockets, ca: access.ca });
  const kube = { baseUrl: access.server, token: access.token, ca: access.ca, agent, timeoutMs: 30_000 };
  const request = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    headers?: Record<string, string>,
  ): Promise<ApiAnswer<T>> => {
    const answer = await kubeRequest(headers ? { ...kube, requestOptions: { headers } } : kube, method, path, body, contentType);
    let parsed: any = answer.text;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      /* plain text answer */
    }
    const header = answer.headers.warning;
    const warnings = (Array.isArray(header) ? header : header ? [header] : [])
      .flatMap((h) => h.split(/,(?=\s*299 )/))
      .map((h) =>
        h
          .trim()
          .replace(/^299 - "/, '')
          .replace(/"$/, '')
          .replace(/\\"/g, '"'),
      );
    return { status: answer.status, body: parsed as T, warnings };
  };
  return {
    request,
    get: <T = any>(path: string) => request<T>('GET', path),
    post: <T = any>(path: string, body: unknown, headers?: Record<string, string>) => request<T>('POST', path, body, 'application/json', headers),
    put: <T = any>(path: string, body: unknown) => request<T>('PUT', path, body),
    delete: <T = any>(path: string) => request<T>('DELETE', path),
    mergePatch: <T = any>(path: string, body: unknown) => request<T>('PATCH', path, body, 'application/merge-patch+json'),
    close: () => agent.destroy(),
  };
}

/** The body of a 2xx answer, or an error naming the call and the API server's message. */
export function ok<T>(answer: ApiAnswer<T>, what: string): T {
  if (answer.status < 200 || answer.status >= 300) {
    const message = (answer.body as any)?.message ?? JSON.stringify(answer.body).slice(0, 300);
    throw new Error(`${what}: HTTP ${answer.status}: ${message}`);
  }
  return answer.body;
}
