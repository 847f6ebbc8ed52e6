// The production host (function/host/) against the framework's own (the functions-framework's
// Express app, test/support/framework-host.ts): every fixture, every case of the hostile
// catalogue and the requests the framework answers itself get the same status, headers (but
// Date) and body, byte for byte, and the same log lines (but time, durationMs and servedMs). Last, the
// built entry (dist/function/main.js) and the framework's CLI serving dist/function/index.js
// answer every fixture the same.
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHandler } from '../function/http';
import { jsonLogger } from '../function/log';
import { startServers } from '../function/host/server';
import { hostileCases, validBody } from './support/reliability/catalogue';
import { TEST_TIMEOUTS } from './support/reliability/serve';
import { exchange, Exchange, jsonPost, rawRequest, Step } from './support/reliability/wire';
import { freePort, NodeChild, startNode } from './support/child';
import { defaultConfig } from './support/config';
import { fixtureNames, readFixture } from './support/fixtures';
import { startFrameworkHost } from './support/framework-host';

interface Host {
  port: number;
  logs: string[];
  close(): Promise<void>;
}

const capture = () => {
  const logs: string[] = [];
  return { logs, log: jsonLogger((line) => void logs.push(line)) };
};

async function startOurs(): Promise<Host> {
  const { logs, log } = capture();
  const running = await startServers(createHandler(defaultConfig, log), { port: 0, drainTimeoutMs: 2000 }, log, TEST_TIMEOUTS);
  return { port: Number(new URL(running.urls.http).port), logs, close: () => running.drain() };
}

async function startTheirs(): Promise<Host> {
  const { logs, log } = capture();
  const server = await startFrameworkHost(defaultConfig, log, TEST_TIMEOUTS);
  return { ...server, logs };
}

let ours: Host;
let theirs: Host;
test.before(async () => {
  [ours, theirs] = await Promise.all([startOurs(), startTheirs()]);
});
test.after(async () => {
  await Promise.all([ours.close(), theirs.close()]);
});

/** Status line, headers but Date (its value changes by the second), and body. */
const answerOf = (got: Exchange) => ({
  status: got.status,
  headers: got.head
    .split('\r\n')
    .slice(1)
    .filter((h) => !/^date:/i.test(h)),
  body: got.body,
});

/** Log lines without the fields that change from one run to the next. */
const linesOf = (logs: string[]) => logs.map((l) => JSON.stringify({ ...JSON.parse(l), time: undefined, durationMs: undefined, servedMs: undefined }));

async function sameAnswer(name: string, steps: () => Iterable<Step>, deadlineMs = 10_000) {
  ours.logs.length = 0;
  theirs.logs.length = 0;
  const [a, b] = [await exchange(ours.port, steps(), deadlineMs), await exchange(theirs.port, steps(), deadlineMs)];
  assert.equal(answerOf(a), answerOf(b), `${name}: ours differs from the framework's`);
  assert.equal(linesOf(ours.logs), linesOf(theirs.logs), `${name}: log lines differ`);
  return answerOf(a);
}

const request =
  (method: string, path: string, headers: [string, string | number][] = [], body = '') =>
  () => [rawRequest(method, path, [['Host', 'x'], ...headers, ['Connection', 'close']], body)];
const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];

test('every fixture gets the same answer from both hosts', async () => {
  for (const name of fixtureNames()) {
    const answer = await sameAnswer(name, () => [jsonPost(JSON.stringify(readFixture(name)))]);
    assert.is(answer.status, 200, name);
  }
});

test('every fast case of the hostile catalogue gets the same answer from both hosts', async () => {
  const statuses = new Set<number>();
  for (const c of hostileCases().filter((x) => !x.slow)) statuses.add((await sameAnswer(c.name, c.steps)).status);
  assert.equal([...statuses].sort(), [0, 200, 400, 404, 405, 413, 431]); // the comparison covered every kind of answer
});

test('every slow case of the hostile catalogue gets the same answer from both hosts', async () => {
  const slow = hostileCases().filter((x) => x.slow);
  const bound = TEST_TIMEOUTS.requestMs + 4000;
  const [a, b] = await Promise.all([ours, theirs].map((host) => Promise.all(slow.map((c) => exchange(host.port, c.steps(), bound)))));
  slow.forEach((c, i) => assert.equal(answerOf(a[i]), answerOf(b[i]), c.name));
});

test('what the framework answers before the function (ignored paths, bad escapes, empty bodies) stays the same', async () => {
  const body = validBody();
  const probes: [string, () => Iterable<Step>][] = [
    ['GET /favicon.ico', request('GET', '/favicon.ico')],
    ['POST /robots.txt with a review', request('POST', '/robots.txt', [JSON_TYPE, ['Content-Length', Buffer.byteLength(body)]], body)],
    ['GET /Favicon.ICO/x', request('GET', '/Favicon.ICO/x')],
    ['GET /favicon.icon', request('GET', '/favicon.icon')],
    ['POST /%E0%A4%A with a review', request('POST', '/%E0%A4%A', [JSON_TYPE, ['Content-Length', Buffer.byteLength(body)]], body)],
    ['GET /a%2Fb%20c', request('GET', '/a%2Fb%20c')],
    ['GET /healthz?x=%ZZ', request('GET', '/healthz?x=%ZZ')],
    ['GET absolute-form /healthz', request('GET', 'http://x/healthz')],
    ['GET absolute-form /favicon.ico', request('GET', 'http://x/favicon.ico')],
    ['POST absolute-form with a review', request('POST', 'http://x/?timeout=10s', [JSON_TYPE, ['Content-Length', Buffer.byteLength(body)]], body)],
    ['POST, Content-Length: 0, JSON', request('POST', '/', [JSON_TYPE, ['Content-Length', 0]])],
    [
      'POST, Content-Length: 0, JSON with charset',
      request('POST', '/', [
        ['Content-Type', 'application/json; charset=utf-8'],
        ['Content-Length', 0],
      ]),
    ],
    [
      'POST, Content-Length: 0, +json',
      request('POST', '/', [
        ['Content-Type', 'application/merge-patch+json'],
        ['Content-Length', 0],
      ]),
    ],
    [
      'POST, Content-Length: 0, cloudevents+json',
      request('POST', '/', [
        ['Content-Type', 'application/cloudevents+json'],
        ['Content-Length', 0],
      ]),
    ],
    [
      'POST, Content-Length: 0, text/plain',
      request('POST', '/', [
        ['Content-Type', 'text/plain'],
        ['Content-Length', 0],
      ]),
    ],
    ['POST, no length, JSON', request('POST', '/', [JSON_TYPE])],
    ['POST, chunked, empty, JSON', request('POST', '/', [JSON_TYPE, ['Transfer-Encoding', 'chunked']], '0\r\n\r\n')],
    [
      'POST, +json body',
      request(
        'POST',
        '/',
        [
          ['Content-Type', 'application/merge-patch+json'],
          ['Content-Length', Buffer.byteLength(body)],
        ],
        body,
      ),
    ],
    ['GET /healthz with a JSON body', request('GET', '/healthz', [JSON_TYPE, ['Content-Length', 2]], '{}')],
    ['GET /readyz with malformed JSON', request('GET', '/readyz', [JSON_TYPE, ['Content-Length', 1]], '{')],
    ['HEAD /readyz', request('HEAD', '/readyz')],
    ['HEAD /nothing', request('HEAD', '/nothing')],
    ['DELETE /favicon.ico', request('DELETE', '/favicon.ico', [['Content-Length', 0]])],
  ];
  for (const [name, steps] of probes) await sameAnswer(name, steps);
});

const DIST = join(__dirname, '..', '..', 'dist', 'function');
const FF_CLI = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');

async function startServing(args: string[], port: number): Promise<NodeChild> {
  const child = startNode(args, { PORT: String(port) });
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    if ((await exchange(port, request('GET', '/healthz')(), 1000)).status === 200) return child;
    if (child.process.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.process.kill('SIGKILL');
  throw new Error(`${args.join(' ')} did not serve:\n${child.output.slice(-10).join('\n')}`);
}

test('the built entry and the functions-framework CLI on the compiled function answer every fixture the same', async () => {
  const [mainPort, cliPort] = [await freePort(), await freePort()];
  const main = await startServing([join(DIST, 'main.js')], mainPort);
  const cli = await startServing([FF_CLI, '--target=admit', `--source=${join(DIST, 'index.js')}`, `--port=${cliPort}`], cliPort);
  try {
    for (const name of fixtureNames()) {
      const steps = [jsonPost(JSON.stringify(readFixture(name)))];
      const [a, b] = [await exchange(mainPort, steps), await exchange(cliPort, steps)];
      assert.is(a.status, 200, name);
      assert.equal(answerOf(a), answerOf(b), `${name}: dist/function/main.js differs from the framework's CLI`);
    }
  } finally {
    await Promise.all([main.stop('SIGTERM', 5000), cli.stop('SIGKILL', 5000)]);
  }
});

test.run();
