// The built production entry (dist/function/main.js) as a child process: bodies over the limit
// cost little memory, nothing it writes holds a secret or a request body, and a bad
// configuration stops it before it listens.
import http from 'node:http';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyFor, expectedAnswersAreGolden } from '../support/reliability/bodies';
import { MiB, validBody, validReview } from '../support/reliability/catalogue';
import { startLoad } from '../support/load';
import { Child, MAIN_JS, spawnMain, stopChild } from '../support/reliability/serve';
import { freePort, startNode } from '../support/child';
import { exchange, jsonPost, rawRequest, Step } from '../support/reliability/wire';

const MARKER = 'zq-secret-marker-7731';
const LICENSE = 'PANDO-LIC-4F9A-22C1-9B7E-01DD-8A3F';

async function stillServes(child: Child) {
  const answer = await exchange(Number(new URL(child.urls.http).port), [jsonPost(validBody())]);
  assert.is(answer.status, 200);
}

async function stop(child: Child) {
  const { code } = await stopChild(child);
  assert.is(code, 0);
}

/** A chunked upload of `total` bytes in 64 KiB chunks, produced as the socket drains. */
function* chunkedUpload(total: number): Generator<Step> {
  yield rawRequest('POST', '/', [
    ['Host', 'x'],
    ['Content-Type', 'application/json'],
    ['Transfer-Encoding', 'chunked'],
  ]);
  const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x20), Buffer.from('\r\n')]);
  for (let sent = 0; sent < total; sent += 0x10000) yield chunk;
  yield '0\r\n\r\n';
}

test('the answers the load and SIGTERM runs expect are the golden answers of the fixtures', () => {
  assert.equal(expectedAnswersAreGolden(), []);
});

test('bodies over 3 MiB are refused without being buffered whole: RSS stays flat, a 50 MiB stream is cut early', async () => {
  const child = await spawnMain({});
  const port = Number(new URL(child.urls.http).port);
  try {
    for (let i = 0; i < 20; i++) await stillServes(child); // warm up
    const before = child.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, child.rss());
    }, 10);
    const declared = await exchange(port, [
      rawRequest('POST', '/', [
        ['Host', 'x'],
        ['Content-Type', 'application/json'],
        ['Content-Length', 50 * MiB],
      ]),
    ]);
    assert.is(declared.status, 413);
    const streams = [];
    for (let i = 0; i < 3; i++) {
      const streamed = await exchange(port, chunkedUpload(50 * MiB), 20_000);
      assert.is(streamed.status, 413);
      assert.ok(streamed.closedByServer);
      streams.push(streamed.written);
      assert.ok(streamed.written < 24 * MiB, `the server read ${streamed.written} bytes before cutting the stream`);
    }
    for (let i = 0; i < 10; i++) {
      const over = await exchange(port, [jsonPost(Buffer.alloc(3 * MiB + 1, 0x20))], 10_000);
      assert.is(over.status, 413);
    }
    clearInterval(sampler);
    await stillServes(child);
    const growth = peak - before;
    assert.ok(growth < 40 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    if (process.env.RELIABILITY_VERBOSE)
      console.log({ rssBeforeMiB: before / MiB, peakGrowthMiB: growth / MiB, streamedBeforeCutMiB: streams.map((w) => w / MiB) });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nserver output:\n${child.output.slice(-20).join('\n')}`, { cause: error });
  } finally {
    await stop(child);
  }
});

test('a client that sends an oversized body whole still reads the 413 (no reset before the answer)', async () => {
  const child = await spawnMain({});
  try {
    const statuses: Record<string, number> = {};
    const agent = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 40; i++) {
      const status = await new Promise<string>((resolve) => {
        const req = http.request(child.urls.http, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        });
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        req.end(Buffer.alloc(3 * MiB + 1, 0x20));
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    agent.destroy();
    assert.equal(statuses, { 413: 40 });
    await stillServes(child);
  } finally {
    await stop(child);
  }
});

test('nothing the process writes holds a pod env value, a license key or a request body', async () => {
  const child = await spawnMain({ PANDO_DEFAULT_MODE: 'enforce' });
  const port = Number(new URL(child.urls.http).port);
  try {
    const review = validReview();
    const container = review.request.object.spec.containers[0];
    container.env = [
      { name: 'API_TOKEN', value: MARKER },
      { name: 'PANDO_LICENSE_KEY', value: LICENSE },
      { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: `${MARKER}-secret`, key: MARKER } } },
    ];
    container.args = ['--token', MARKER];
    review.request.object.metadata.annotations = { note: MARKER, 'pandocore.xyz/mode': MARKER };
    const bodies: (string | Buffer)[] = [
      JSON.stringify(review),
      JSON.stringify({ ...review, request: { ...review.request, operation: 'UPDATE' } }),
      JSON.stringify({ ...review, request: { ...review.request, uid: 7 } }), // 400, bad envelope
      JSON.stringify({ ...review, apiVersion: MARKER }),
      JSON.stringify({ ...review, request: { ...review.request, object: { ...review.request.object, spec: { containers: MARKER } } } }),
      `{"apiVersion":"admission.k8s.io/v1","request":{"object":{"env":"${MARKER} ${LICENSE}"`, // malformed
      Buffer.concat([Buffer.from(JSON.stringify(review)), Buffer.alloc(3 * MiB, 0x20)]), // 413
    ];
    for (const body of bodies) await exchange(port, [jsonPost(body)], 10_000);
    await exchange(port, [
      rawRequest(
        'POST',
        '/',
        [
          ['Host', 'x'],
          ['Content-Type', 'text/plain'],
          ['Content-Length', Buffer.byteLength(bodies[0])],
          ['Connection', 'close'],
        ],
        bodies[0],
      ),
    ]);
    await exchange(port, [
      rawRequest('GET', `/%${MARKER}`, [
        ['Host', 'x'],
        ['Connection', 'close'],
      ]),
    ]);
    await stillServes(child);
  } finally {
    await stop(child);
  }
  const admissions = child.output.filter((l) => l.includes('"admission'));
  assert.ok(admissions.length >= 7, `expected a log line per admission, got:\n${child.output.join('\n')}`);
  for (const line of child.output) {
    for (const secret of [MARKER, LICENSE, 'registry.example.com/shop/checkout', 'DATABASE_URL', 'secretKeyRef', '"containers"']) {
      assert.not.ok(line.includes(secret), `a log line holds ${secret}: ${line.slice(0, 300)}`);
    }
  }
});

test('SIGTERM under load: every request on a connection the server accepted is answered 200, then exit 0', async () => {
  const child = await spawnMain({});
  const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
  const run = startLoad({ url: `${child.urls.http}/?timeout=10s`, agent, connections: 100, bodyFor, maxRequests: 1_000_000, maxMs: 10_000 });
  await new Promise((r) => setTimeout(r, 1500));
  const inFlight = run.inFlight();
  const killedAt = performance.now();
  const exit = stopChild(child);
  const { code } = await exit.finally(() => run.stop());
  const result = await run.promise;
  agent.destroy();
  // Refused, or reset on a new connection: the connection was still in the kernel's accept queue
  // when the listener closed, so the server never saw the request (the API server retries both).
  const { ECONNREFUSED: refusedAfterClose = 0, 'ECONNRESET (new connection)': resetInAcceptQueue = 0, ...lost } = result.errors;
  assert.is(code, 0);
  assert.ok(inFlight > 50, `only ${inFlight} requests in flight at SIGTERM`);
  assert.is(result.wrong, 0, result.firstWrong);
  assert.equal(
    lost,
    {},
    `requests lost: ${JSON.stringify(lost)}; exit ${Math.round(performance.now() - killedAt)} ms after SIGTERM; ${child.output
      .filter((l) => !l.includes('"admission"'))
      .slice(-5)
      .join(' | ')}`,
  );
  assert.ok(refusedAfterClose <= 100 && resetInAcceptQueue <= 100, `${refusedAfterClose} refused, ${resetInAcceptQueue} reset in the accept queue`);
  assert.not.ok(
    child.output.some((l) => l.includes('drain timed out')),
    'the drain timed out and cut connections',
  );
});

/** Starts main.js with a bad environment; resolves with its exit code, output and whether the port ever accepted. */
async function startBadly(env: Record<string, string>, probePort?: number) {
  const started = performance.now();
  const child = startNode([MAIN_JS], env);
  let listened = false;
  const probe = probePort
    ? setInterval(() => {
        const s = net.connect(probePort, '127.0.0.1', () => {
          listened = true;
          s.destroy();
        });
        s.on('error', () => s.destroy());
      }, 5)
    : undefined;
  const killer = setTimeout(() => child.process.kill('SIGKILL'), 5000);
  const { code } = await child.exited;
  clearTimeout(killer);
  if (probe) clearInterval(probe);
  return { code, ms: performance.now() - started, stderr: child.stderr(), stdout: child.stdout(), listened };
}

test('a bad configuration exits non-zero at once, naming every bad variable in one message, and never listens', async () => {
  const port = await freePort();
  const cases: [Record<string, string>, string[]][] = [
    [{ PANDO_DEFAULT_MODE: 'audit', PORT: 'x' }, ['PANDO_DEFAULT_MODE', 'PORT']],
    [{ PANDO_DEFAULT_MODE: 'audit', PANDO_SIDECAR_CPU_LIMIT: 'lots', PORT: String(port) }, ['PANDO_DEFAULT_MODE', 'PANDO_SIDECAR_CPU_LIMIT']],
    [
      { PORT: String(port), PANDO_TLS_CERT_FILE: '/nonexistent/tls.crt', PANDO_PROBE_PERIOD_SECONDS: '0' },
      ['PANDO_TLS_CERT_FILE', 'PANDO_TLS_KEY_FILE', 'PANDO_PROBE_PERIOD_SECONDS'],
    ],
    [
      { PORT: String(port), PANDO_DRAIN_TIMEOUT_SECONDS: '0', PANDO_EXCLUDED_NAMESPACES: 'Not_A_Namespace' },
      ['PANDO_DRAIN_TIMEOUT_SECONDS', 'PANDO_EXCLUDED_NAMESPACES'],
    ],
  ];
  for (const [env, names] of cases) {
    const run = await startBadly(env, port);
    const label = JSON.stringify(env);
    assert.is.not(run.code, 0, label);
    assert.ok(run.ms < 3000, `${label}: took ${run.ms} ms to exit`);
    assert.not.ok(run.listened, `${label}: port ${port} accepted a connection`);
    assert.not.match(run.stdout, /serving/, label);
    const lines = run.stderr.trim().split('\n');
    assert.is(lines.length, 1, `${label}: expected one message, got:\n${run.stderr}`);
    const message = JSON.parse(lines[0]);
    assert.is(message.level, 'error');
    for (const name of names) assert.ok(message.msg.includes(name), `${label}: the message does not name ${name}:\n${message.msg}`);
  }
});

test.run();
