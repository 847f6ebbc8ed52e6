// bench:cluster's floor, the no-op webhook (bench/cluster.ts NOOP_SERVER), run here as its pods
// run it: allowed: true on /, our patch on /replay with the pod's token volume renamed in, and
// its totals line, which bench:cluster reads for each turn's time in the pods.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NOOP_SERVER } from '../bench/cluster';
import { createCa, issueServingCert } from '../function/tls/certs';
import { freePort, startNode } from './support/child';

const post = (port: number, ca: string, path: string, body: string) =>
  new Promise<any>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', ca, servername: 'bench-noop', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(body);
  });

test('the no-op answers allowed, the replay our patch with the pod token volume renamed, and their totals are printed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pando-noop-'));
  const ca = await createCa('bench CA');
  const pair = await issueServingCert(ca, { dnsNames: ['bench-noop'] });
  writeFileSync(join(dir, 'tls.crt'), pair.cert);
  writeFileSync(join(dir, 'tls.key'), pair.key);
  writeFileSync(join(dir, 'patch.json'), '[{"op":"add","path":"/spec/volumes/-","value":{"name":"kube-api-access-probe"}}]');
  writeFileSync(join(dir, 'token-volume'), 'kube-api-access-probe');
  writeFileSync(join(dir, 'server.js'), NOOP_SERVER);
  const port = await freePort();
  const server = startNode([join(dir, 'server.js')], { BENCH_TLS_DIR: dir, BENCH_NOOP_DIR: dir, BENCH_PORT: String(port) });
  try {
    const review = (uid: string) => JSON.stringify({ request: { uid, object: { spec: { volumes: [{ name: 'kube-api-access-x7k2q' }] } } } });
    let noop: any;
    for (let attempt = 0; !noop; attempt++) {
      noop = await post(port, ca.cert, '/?timeout=5s', review('a')).catch((error) => {
        if (attempt > 50) throw error;
        return new Promise((resolve) => setTimeout(resolve, 100));
      });
    }
    assert.equal(noop.response, { uid: 'a', allowed: true });
    const replay = await post(port, ca.cert, '/replay?timeout=5s', review('b'));
    assert.is(replay.response.patchType, 'JSONPatch');
    assert.equal(JSON.parse(Buffer.from(replay.response.patch, 'base64').toString()), [
      { op: 'add', path: '/spec/volumes/-', value: { name: 'kube-api-access-x7k2q' } },
    ]);
    const totals = await server.waitForEntry((entry) => entry.msg === 'served' && entry.replay.calls === 1, 3000);
    assert.is(totals.noop.calls, 1);
    assert.ok(totals.noop.ms > 0 && totals.replay.ms > 0, JSON.stringify(totals));
    assert.ok(!Number.isNaN(Date.parse(totals.time)));
  } finally {
    await server.stop('SIGTERM', 3000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
