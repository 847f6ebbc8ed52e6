// The plugin's requests, against a local HTTP server standing in for the API server: the path
// (a server URL may carry a prefix), not-found as undefined, other refusals as errors, and the
// warnings of a dry-run.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeError } from '../function/kube/client';
import { Kube } from './kube';

async function withApi(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void, body: (kube: Kube, seen: string[]) => Promise<void>) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'pando-kube-'));
  const kubeconfig = join(dir, 'config');
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses plain HTTP unless TLS checks are off; a test server on loopback is HTTP.
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}/k8s/clusters/c-abc/`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'team-a' } }],
      'current-context': 'x',
    }),
  );
  try {
    await body(new Kube({ kubeconfig }), seen);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const json = (res: http.ServerResponse, status: number, value: object, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

test("requests keep the server URL's path prefix; the context's namespace is the default", async () => {
  await withApi(
    (_req, res) => json(res, 200, { kind: 'Secret', data: { k: 'dg==' } }),
    async (kube, seen) => {
      assert.equal(await kube.get('v1', 'Secret', 'pando-license', 'team-a'), { kind: 'Secret', data: { k: 'dg==' } });
      await kube.list('apps/v1', 'Deployment', undefined, 'a=b');
      assert.equal(seen, [
        'GET /k8s/clusters/c-abc/api/v1/namespaces/team-a/secrets/pando-license',
        'GET /k8s/clusters/c-abc/apis/apps/v1/deployments?labelSelector=a%3Db',
      ]);
      assert.is(kube.currentNamespace, 'team-a');
    },
  );
});

test('not found is undefined (or an empty list); a refusal is an error that says what and why', async () => {
  await withApi(
    (req, res) => (req.url!.includes('forbidden') ? json(res, 403, { message: 'secrets "forbidden" is forbidden' }) : json(res, 404, { message: 'not found' })),
    async (kube) => {
      assert.is(await kube.get('v1', 'Secret', 'absent', 'team-a'), undefined);
      assert.equal(await kube.list('serving.knative.dev/v1', 'Service', 'team-a'), []);
      try {
        await kube.get('v1', 'Secret', 'forbidden', 'team-a');
        assert.unreachable('no error');
      } catch (error) {
        assert.instance(error, KubeError);
        assert.is((error as KubeError).status, 403);
        assert.match((error as Error).message, /HTTP 403: secrets "forbidden" is forbidden/);
      }
    },
  );
});

test('a dry-run pod comes back with the warnings the API server sent', async () => {
  await withApi(
    (_req, res) => json(res, 201, { kind: 'Pod', spec: {} }, { warning: '299 - "first, with a comma", 299 - "second"' }),
    async (kube, seen) => {
      const answer = await kube.dryRunPod('team-a', { kind: 'Pod' });
      assert.equal(answer.warnings, ['first, with a comma', 'second']);
      assert.equal(seen, ['POST /k8s/clusters/c-abc/api/v1/namespaces/team-a/pods?dryRun=All']);
    },
  );
});

test.run();
