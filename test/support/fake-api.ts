// Test support: a loopback HTTPS stand-in for the Kubernetes API, holding the two Secrets and
// the webhook configuration. It checks every request the TLS job makes (route, token, headers,
// body shape, resourceVersion) and records a problem for anything a real API server or the
// job's least-privilege RBAC would refuse.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { applyPatch } from 'fast-json-patch';
import { createCa, issueServingCert } from '../../function/tls/certs';

type Json = Record<string, any>;
export interface Recorded {
  method: string;
  path: string;
  contentType?: string;
  body?: any;
}
export interface Failure {
  method: string;
  path: string;
  status: number;
  message: string;
}

const NS = 'pando-system';
const SECRETS = ['pando-webhook-ca', 'pando-webhook-tls'];
const MWC = 'pando-webhook';
const SECRET_PATH = new RegExp(`^/api/v1/namespaces/${NS}/secrets/([^/?]+)$`);
const MWC_PATH = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${MWC}`;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const emptySecret = (name: string): Json => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS, resourceVersion: '1' },
  type: 'Opaque',
});

export const webhookConfiguration = (webhooks: string[]): Json => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: { name: MWC, resourceVersion: '1' },
  webhooks: webhooks.map((name) => ({ name, clientConfig: { service: { name: 'pando-webhook', namespace: NS, path: '/' } } })),
});

export async function startFakeApi(token = 'test-token') {
  const ca = await createCa('fake API CA');
  const serving = await issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const state = {
    secrets: new Map<string, Json>(SECRETS.map((n) => [n, emptySecret(n)])),
    mwc: webhookConfiguration(['pods.pandocore.xyz', 'pods-reinvoke.pandocore.xyz']) as Json | undefined,
    requests: [] as Recorded[],
    problems: [] as string[],
    fail: undefined as Failure | undefined,
  };
  const status = (code: number, message: string, reason: string) => ({
    code,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code },
  });

  const handle = (method: string, path: string, headers: Json, body: any): { code: number; body: Json } => {
    if (headers.authorization !== `Bearer ${token}`) {
      state.problems.push(`${method} ${path}: bad token`);
      return status(401, 'Unauthorized', 'Unauthorized');
    }
    if (!String(headers.accept ?? '').includes('application/json')) state.problems.push(`${method} ${path}: accept ${headers.accept}`);
    if (state.fail && state.fail.method === method && state.fail.path === path) return status(state.fail.status, state.fail.message, 'Forbidden');
    const secretName = SECRET_PATH.exec(path)?.[1];
    if (secretName && SECRETS.includes(secretName)) {
      const current = state.secrets.get(secretName)!;
      if (method === 'GET') return { code: 200, body: current };
      if (method === 'PUT') {
        if (headers['content-type'] !== 'application/json') state.problems.push(`PUT ${path}: content-type ${headers['content-type']}`);
        if (body?.apiVersion !== 'v1' || body?.kind !== 'Secret' || body?.metadata?.name !== secretName || body?.metadata?.namespace !== NS) {
          state.problems.push(`PUT ${path}: not this Secret`);
          return status(400, 'bad object', 'BadRequest');
        }
        if (body.type !== current.type) state.problems.push(`PUT ${path}: type changed to ${body.type}`);
        if (!body.data || Object.values(body.data).some((v) => typeof v !== 'string' || !BASE64.test(v))) {
          state.problems.push(`PUT ${path}: data is not base64 strings`);
          return status(422, 'invalid data', 'Invalid');
        }
        if (body.metadata.resourceVersion !== current.metadata.resourceVersion) return status(409, 'the object has been modified', 'Conflict');
        const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(current.metadata.resourceVersion) + 1) } };
        state.secrets.set(secretName, stored);
        return { code: 200, body: stored };
      }
    }
    if (path === MWC_PATH && state.mwc) {
      if (method === 'GET') return { code: 200, body: state.mwc };
      if (method === 'PATCH') {
        if (headers['content-type'] !== 'application/json-patch+json') state.problems.push(`PATCH ${path}: content-type ${headers['content-type']}`);
        const ops = Array.isArray(body) ? body : [];
        const allowed =
          ops.length > 0 &&
          ops.every(
            (op) =>
              (op.op === 'test' && /^\/webhooks\/\d+\/name$/.test(op.path)) ||
              (['add', 'replace'].includes(op.op) && /^\/webhooks\/\d+\/clientConfig\/caBundle$/.test(op.path) && BASE64.test(op.value)),
          );
        if (!allowed) {
          state.problems.push(`PATCH ${path}: unexpected operations`);
          return status(422, 'unexpected patch', 'Invalid');
        }
        try {
          const patched = applyPatch(structuredClone(state.mwc), ops, true, false).newDocument as Json;
          patched.metadata.resourceVersion = String(Number(patched.metadata.resourceVersion) + 1);
          state.mwc = patched;
          return { code: 200, body: patched };
        } catch (error) {
          return status(422, `patch does not apply: ${(error as Error).name}`, 'Invalid');
        }
      }
    }
    if (path === MWC_PATH) return status(404, `mutatingwebhookconfigurations.admissionregistration.k8s.io "${MWC}" not found`, 'NotFound');
    state.problems.push(`${method} ${path}: outside the job's RBAC`);
    return status(403, `${method} ${path} is forbidden`, 'Forbidden');
  };

  const server = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        state.problems.push(`${req.method} ${req.url}: body is not JSON`);
      }
      const method = req.method ?? '';
      const path = req.url ?? '';
      state.requests.push({ method, path, contentType: req.headers['content-type'], body });
      const answer = handle(method, path, req.headers, body);
      const out = JSON.stringify(answer.body);
      res.writeHead(answer.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    state,
    token,
    caPem: ca.cert,
    host: '127.0.0.1',
    port,
    url: `https://127.0.0.1:${port}`,
    /** Requests since the last call, as "METHOD path". */
    takeRequests() {
      return state.requests.splice(0).map((r) => `${r.method} ${r.path}`);
    },
    secretText(name: string): Record<string, string> {
      return Object.fromEntries(Object.entries(state.secrets.get(name)?.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
    },
    bundles(): string[] {
      return (state.mwc?.webhooks ?? []).map((w: Json) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
export type FakeApi = Awaited<ReturnType<typeof startFakeApi>>;
