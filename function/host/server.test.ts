// The production entry (node dist/function/main.js) as a child process, on loopback: HTTPS
// verified against the CA under the webhook's DNS name, admissions on HTTPS only once TLS is
// configured, TLS 1.2+ with AEAD suites whatever NODE_OPTIONS says, the connection cap and the
// request timeout, a certificate swapped on disk served on the next connection, HTTPS started
// late when the Secret is filled after start, and SIGTERM finishing every request in flight
// before exiting 0.
import { X509Certificate } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { startNode } from '../../test/support/child';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { version } from '../../package.json';
import { createHandler } from '../http';
import { jsonLogger } from '../log';
import { API_SERVER_IDLE_CONN_MS, SERVER_TIMEOUTS, startServers } from './server';
import { createCa, issueServingCert, KeyPairPem } from '../tls/certs';
import { serviceDnsNames } from '../tls/config';
import { defaultConfig, TEST_VERSION } from '../../test/support/config';
import { readable, readExpected, readFixture } from '../../test/support/fixtures';

const MAIN = join(__dirname, '..', '..', '..', 'dist', 'function', 'main.js');
const NAMES = serviceDnsNames('pando-webhook', 'pando-system');
const FIXTURE = 'deployment-pod';
const body = JSON.stringify(readFixture(FIXTURE));

interface Main {
  child: ChildProcess;
  lines: any[];
  exited: Promise<number | null>;
  waitFor(msg: string, ms?: number): Promise<any>;
}

function startMain(env: Record<string, string>): Main {
  const main = startNode([MAIN], { PORT: '0', PANDO_TLS_PORT: '0', ...env });
  return {
    child: main.process,
    lines: main.entries,
    exited: main.exited.then((e) => e.code),
    waitFor: (msg, ms = 5000) => main.waitForEntry((l) => l.msg === msg, ms),
  };
}

async function stopMain(main: Main) {
  if (main.child.exitCode === null) main.child.kill('SIGTERM');
  return main.exited;
}

/** A TLS Secret volume as the kubelet writes it: files behind a `..data` symlink swapped atomically. */
function secretVolume() {
  const dir = mkdtempSync(join(tmpdir(), 'pando-tls-'));
  let generation = 0;
  return {
    dir,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    write(pair: KeyPairPem) {
      const data = `..${++generation}`;
      mkdirSync(join(dir, data));
      writeFileSync(join(dir, data, 'tls.crt'), pair.cert);
      writeFileSync(join(dir, data, 'tls.key'), pair.key);
      symlinkSync(data, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      if (generation === 1) {
        symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
        symlinkSync('..data/tls.key', join(dir, 'tls.key'));
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  serial?: string;
}

/** One request on a new connection; for HTTPS, verified against `ca` under `servername`. */
function send(url: string, options: { method?: string; path?: string; ca?: string; servername?: string; body?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const target = new URL(options.path ?? '/?timeout=10s', url);
    const transport = target.protocol === 'https:' ? https : http;
    const req = transport.request(
      target,
      {
        method: options.method ?? 'POST',
        agent: false,
        ca: options.ca,
        servername: options.servername,
        timeout: 5000,
        headers: options.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) },
      },
      (res) => {
        const serial = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate?.()?.serialNumber;
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (c) => {
            text += c;
          })
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, serial }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The golden answer for the fixture, as served by a process reporting the package's version. */
function assertGolden(answer: Answer) {
  assert.is(answer.status, 200, answer.text);
  const served = readable(JSON.parse(answer.text));
  const normalized = JSON.parse(JSON.stringify(served).split(`\\"version\\":\\"${version}\\"`).join(`\\"version\\":\\"${TEST_VERSION}\\"`));
  assert.equal(normalized, readExpected(FIXTURE));
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

test('HTTPS answers under the webhook DNS name, verified against the CA; another name or CA is refused', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
  const main = startMain({ PANDO_TLS_CERT_FILE: volume.certFile, PANDO_TLS_KEY_FILE: volume.keyFile });
  try {
    const { https: url } = await main.waitFor('serving');
    assert.ok(url, 'HTTPS served from the start');
    assertGolden(await send(url, { ca: ca.cert, servername: 'pando-webhook.pando-system.svc', body }));
    const wrongName = await send(url, { ca: ca.cert, servername: 'pando-webhook.default.svc', body }).catch((e) => e);
    assert.is(wrongName.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const otherCa = await send(url, { ca: (await createCa('other CA')).cert, servername: NAMES[0], body }).catch((e) => e);
    assert.instance(otherCa, Error);
  } finally {
    assert.is(await stopMain(main), 0);
    volume.remove();
  }
});

test('both listeners keep an idle connection longer than the API server does, so it is always the client that closes one', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
  const running = await startServers(
    (_req, res) => res.end('{}'),
    { port: 0, drainTimeoutMs: 1000, tls: { port: 0, certFile: volume.certFile, keyFile: volume.keyFile } },
    jsonLogger(() => {}),
    SERVER_TIMEOUTS,
  );
  try {
    assert.ok(running.https, 'HTTPS served from the start');
    for (const server of [running.http, running.https!]) assert.ok(server.keepAliveTimeout > API_SERVER_IDLE_CONN_MS, String(server.keepAliveTimeout));
  } finally {
    await running.drain();
    volume.remove();
  }
});

test('a certificate swapped on disk is served from the next connection, without restart', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  const first = await issueServingCert(ca, { dnsNames: NAMES });
  const second = await issueServingCert(ca, { dnsNames: NAMES });
  volume.write(first);
  const main = startMain({ PANDO_TLS_CERT_FILE: volume.certFile, PANDO_TLS_KEY_FILE: volume.keyFile });
  try {
    const { https: url, http: plain } = await main.waitFor('serving');
    const verified = { ca: ca.cert, servername: NAMES[0], method: 'GET', path: '/healthz' };
    assert.is((await send(url, verified)).serial, serialOf(first.cert));
    const served = async () => JSON.parse((await send(url, { ...verified, path: '/tls/certificate' })).text).certificate;
    assert.is(serialOf(await served()), serialOf(first.cert), 'GET /tls/certificate: the served certificate, no key');
    volume.write(second);
    const after = await send(url, verified);
    assert.is(after.status, 200);
    assert.is(after.serial, serialOf(second.cert));
    assert.is(serialOf(await served()), serialOf(second.cert));
    assert.is((await send(plain, { method: 'GET', path: '/tls/certificate' })).status, 404, 'HTTPS only');
    assert.is.not(serialOf(first.cert), serialOf(second.cert));
    assert.ok(main.lines.some((l) => l.msg === 'TLS certificate reloaded'));
    assert.is(main.child.pid !== undefined && main.child.exitCode, null, 'same process');
  } finally {
    assert.is(await stopMain(main), 0);
    volume.remove();
  }
});

test('certificate files missing at start: HTTP serves (not ready), HTTPS starts once they appear', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  const main = startMain({ PANDO_TLS_CERT_FILE: volume.certFile, PANDO_TLS_KEY_FILE: volume.keyFile });
  try {
    const serving = await main.waitFor('serving');
    assert.is(serving.https, undefined);
    assert.ok(main.lines.some((l) => l.msg === 'waiting for the TLS certificate files, serving HTTP only' && l.reason === 'ENOENT'));
    assert.is((await send(serving.http, { method: 'GET', path: '/readyz' })).status, 503);
    assert.is((await send(serving.http, { method: 'GET', path: '/healthz' })).status, 200);
    assert.is((await send(serving.http, { body })).status, 403, 'admissions wait for HTTPS, never fall back to HTTP');
    volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
    const { https: url } = await main.waitFor('serving HTTPS');
    assertGolden(await send(url, { ca: ca.cert, servername: NAMES[0], body }));
    assert.is((await send(serving.http, { method: 'GET', path: '/readyz' })).status, 200);
  } finally {
    assert.is(await stopMain(main), 0);
    volume.remove();
  }
});

test('with TLS configured, plain HTTP answers the probes and refuses admissions with 403', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
  const main = startMain({ PANDO_TLS_CERT_FILE: volume.certFile, PANDO_TLS_KEY_FILE: volume.keyFile });
  try {
    const { https: url, http: plain } = await main.waitFor('serving');
    for (const path of ['/healthz', '/readyz']) assert.is((await send(plain, { method: 'GET', path })).status, 200, path);
    const refused = await send(plain, { body });
    assert.is(refused.status, 403);
    assert.match(JSON.parse(refused.text).error, /served over HTTPS only/);
    const logged = await main.waitFor('admission rejected');
    assert.equal([logged.reason, logged.status], ['plain_http', 403]);
    assertGolden(await send(url, { ca: ca.cert, servername: NAMES[0], body }));
  } finally {
    assert.is(await stopMain(main), 0);
    volume.remove();
  }
});

test('without TLS configured (npm start, the knative-local-tls route), plain HTTP serves admissions', async () => {
  const main = startMain({});
  try {
    const { http: plain, https: secure } = await main.waitFor('serving');
    assert.is(secure, undefined);
    assertGolden(await send(plain, { body }));
  } finally {
    assert.is(await stopMain(main), 0);
  }
});

/** The outcome of one TLS handshake: the protocol and suite agreed, or the error's code. */
function handshake(url: string, ca: string, options: tls.ConnectionOptions) {
  return new Promise<string>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(new URL(url).port), ca, servername: NAMES[0], ...options }, () => {
      const agreed = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
      socket.destroy();
      resolve(agreed);
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('timed out')));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(`refused: ${e.code ?? e.message}`));
  });
}

test('TLS 1.2+ and AEAD suites only, even with NODE_OPTIONS asking for TLS 1.0 and every cipher, and after a reload', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
  const main = startMain({
    PANDO_TLS_CERT_FILE: volume.certFile,
    PANDO_TLS_KEY_FILE: volume.keyFile,
    NODE_OPTIONS: '--tls-min-v1.0 --tls-cipher-list=ALL@SECLEVEL=0',
  });
  try {
    const { https: url } = await main.waitFor('serving');
    const weak: tls.ConnectionOptions[] = [
      { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'ALL@SECLEVEL=0' },
      { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA' },
    ];
    const check = async () => {
      for (const options of weak) assert.match(await handshake(url, ca.cert, options), /^refused/, JSON.stringify(options));
      assert.is(
        await handshake(url, ca.cert, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }),
        'TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      );
      assert.match(await handshake(url, ca.cert, {}), /^TLSv1\.3 TLS_AES_/);
    };
    await check();
    volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
    assert.is((await send(url, { ca: ca.cert, servername: NAMES[0], method: 'GET', path: '/healthz' })).status, 200);
    assert.ok(main.lines.some((l) => l.msg === 'TLS certificate reloaded'));
    await check();
  } finally {
    assert.is(await stopMain(main), 0);
    volume.remove();
  }
});

test('PANDO_MAX_CONNECTIONS: connections over the cap are closed unanswered; PANDO_REQUEST_TIMEOUT_SECONDS cuts a slow upload', async () => {
  const main = startMain({ PANDO_MAX_CONNECTIONS: '3', PANDO_REQUEST_TIMEOUT_SECONDS: '1' });
  const sockets: net.Socket[] = [];
  try {
    const { http: plain } = await main.waitFor('serving');
    const port = Number(new URL(plain).port);
    const open = () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
        sockets.push(socket);
      });
    const held = await Promise.all([open(), open(), open()]);
    const fourth = await open();
    const outcome = await new Promise<string>((resolve) => {
      fourth.on('data', () => resolve('answered'));
      fourth.on('close', () => resolve('closed'));
      fourth.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.is(outcome, 'closed');
    // A slow upload on a held connection: cut by the request timeout with 408.
    const started = performance.now();
    const cut = await new Promise<string>((resolve) => {
      let text = '';
      held[0].on('data', (c) => (text += c));
      held[0].on('close', () => resolve(text));
      held[0].write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    });
    assert.match(cut, /^HTTP\/1\.1 408/);
    assert.ok(performance.now() - started < 3000, `cut after ${performance.now() - started} ms`);
    for (const socket of held) socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.is((await send(plain, { method: 'GET', path: '/healthz' })).status, 200, 'served again below the cap');
  } finally {
    for (const socket of sockets) socket.destroy();
    assert.is(await stopMain(main), 0);
  }
});

/** A POST whose headers the server has read (100-continue) and whose body is sent later. */
function heldRequest(url: string, options: { ca?: string; servername?: string } = {}) {
  const target = new URL('/?timeout=10s', url);
  const transport = target.protocol === 'https:' ? https : http;
  const req = transport.request(target, {
    method: 'POST',
    agent: false,
    ...options,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c) => {
          text += c;
        })
        .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
  });
  answer.catch(() => undefined); // failures are asserted where awaited, never left unhandled
  const accepted = new Promise<void>((resolve) =>
    req.once('continue', () => {
      req.write(body.slice(0, 100));
      resolve();
    }),
  );
  req.flushHeaders();
  /** Sends the rest of the body in `chunks` pieces, one every `everyMs`. */
  const finish = async (chunks = 1, everyMs = 0) => {
    const rest = body.slice(100);
    const size = Math.ceil(rest.length / chunks);
    for (let i = 0; i < chunks - 1; i++) {
      req.write(rest.slice(i * size, (i + 1) * size));
      await new Promise((r) => setTimeout(r, everyMs));
    }
    req.end(rest.slice((chunks - 1) * size));
  };
  return { answer, accepted, finish };
}

test('SIGTERM: no new connection, every request in flight answered 200, then exit 0', async () => {
  const ca = await createCa('test CA');
  const volume = secretVolume();
  volume.write(await issueServingCert(ca, { dnsNames: NAMES }));
  const main = startMain({ PANDO_TLS_CERT_FILE: volume.certFile, PANDO_TLS_KEY_FILE: volume.keyFile });
  try {
    const { http: plain, https: secure } = await main.waitFor('serving');
    const held = [1, 2, 3, 4].map(() => heldRequest(secure, { ca: ca.cert, servername: NAMES[0] }));
    await Promise.all(held.map((h) => h.accepted)); // the server has read each request's headers
    main.child.kill('SIGTERM');
    await main.waitFor('draining');
    for (const url of [plain, secure]) {
      const refused = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      assert.is(refused, 'ECONNREFUSED', `${url} after SIGTERM`);
    }
    // the bodies trickle in over ~600 ms after SIGTERM; the process must wait for all of them
    await Promise.all(held.map((h) => h.finish(7, 100)));
    assert.is(main.child.exitCode, null, 'still running while requests are in flight');
    for (const settled of await Promise.allSettled(held.map((h) => h.answer))) {
      if (settled.status === 'rejected') throw new Error(`a request in flight failed: ${settled.reason}`);
      const answer = settled.value;
      assertGolden(answer);
      assert.is(answer.headers.connection, 'close');
    }
    assert.is(await main.exited, 0);
    assert.ok(main.lines.some((l) => l.msg === 'stopped'));
  } finally {
    main.child.kill('SIGKILL');
    volume.remove();
  }
});

test('SIGTERM with a request that never finishes: exit after PANDO_DRAIN_TIMEOUT_SECONDS', async () => {
  const main = startMain({ PANDO_DRAIN_TIMEOUT_SECONDS: '1' });
  try {
    const { http: plain } = await main.waitFor('serving');
    const stuck = heldRequest(plain);
    await stuck.accepted;
    void stuck.answer.catch(() => undefined);
    main.child.kill('SIGTERM');
    const code = await Promise.race([main.exited, new Promise((r) => setTimeout(() => r('still running'), 4000).unref())]);
    assert.is(code, 0);
    assert.ok(main.lines.some((l) => l.msg === 'drain timed out, closing the remaining connections'));
  } finally {
    main.child.kill('SIGKILL');
  }
});

test('bodies buffered at once are bounded: over the budget, 503 with Retry-After; freed once answered', async () => {
  const logs: any[] = [];
  const log = jsonLogger((l) => void logs.push(JSON.parse(l)));
  const running = await startServers(
    (_req, res) => res.end('{}'),
    { port: 0, drainTimeoutMs: 1000, limits: { maxConnections: 100, bodyBudgetBytes: 2 * Buffer.byteLength(body) } },
    log,
    { requestMs: 5000, headersMs: 5000, keepAliveMs: 5000 },
  );
  try {
    const held = [heldRequest(running.urls.http), heldRequest(running.urls.http)];
    await Promise.all(held.map((h) => h.accepted));
    const busy = await send(running.urls.http, { body });
    assert.is(busy.status, 503);
    assert.is(busy.headers['retry-after'], '1');
    assert.ok(logs.some((l) => l.reason === 'busy'));
    await Promise.all(held.map((h) => h.finish()));
    for (const h of held) assert.is((await h.answer).status, 200);
    assert.is((await send(running.urls.http, { body })).status, 200, 'the budget is given back');
  } finally {
    await running.drain();
  }
});

test('servedMs counts from the headers: a body held back shows in it and in the histogram, not in durationMs', async () => {
  const logs: any[] = [];
  const observed: number[] = [];
  const running = await startServers(
    createHandler(
      defaultConfig,
      jsonLogger((l) => void logs.push(JSON.parse(l))),
      (_record, seconds) => void observed.push(seconds),
    ),
    { port: 0, drainTimeoutMs: 1000 },
    jsonLogger(() => {}),
    { requestMs: 5000, headersMs: 5000, keepAliveMs: 5000 },
  );
  try {
    const held = heldRequest(running.urls.http);
    await held.accepted;
    await new Promise((r) => setTimeout(r, 150));
    await held.finish();
    assert.is((await held.answer).status, 200);
    const [line] = logs.filter((l) => l.msg === 'admission');
    assert.ok(line.servedMs >= 140, `servedMs ${line.servedMs} includes the 150 ms the body was held`);
    assert.ok(line.durationMs < 100, `durationMs ${line.durationMs} is the decision alone`);
    assert.equal(observed, [line.servedMs / 1000], 'the duration histogram observes servedMs');
  } finally {
    await running.drain();
  }
});

test('TLS files that never appear: startServers gives up after its bound and says so', async () => {
  const logs: any[] = [];
  const running = await startServers(
    (_req, res) => res.end(),
    {
      port: 0,
      drainTimeoutMs: 1000,
      tls: { port: 0, certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' },
    },
    jsonLogger((l) => {
      logs.push(JSON.parse(l));
    }),
    { requestMs: 5000, headersMs: 5000, keepAliveMs: 5000, tlsWait: { firstMs: 10, maxMs: 40, giveUpMs: 150 } },
  );
  try {
    assert.is(await running.tlsReady, undefined);
    assert.is(running.urls.https, undefined);
    assert.ok(logs.some((l) => l.level === 'error' && /did not appear in time/.test(l.msg)));
  } finally {
    await running.drain();
  }
});

test.run();
