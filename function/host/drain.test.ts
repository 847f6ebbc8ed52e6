// Draining on loopback: new connections refused, requests already sent answered with
// Connection: close, idle keep-alive connections closed after the grace, and a bound on requests
// that never finish.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLogger } from '../log';
import { createDrainer } from './drain';

async function serve(timeoutMs: number, idleGraceMs = 50) {
  const logs: any[] = [];
  const drainer = createDrainer(
    timeoutMs,
    jsonLogger((l) => void logs.push(JSON.parse(l))),
    idleGraceMs,
  );
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    drainer.track(res);
    req.resume().on('end', () => res.end('done'));
  });
  drainer.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { drainer, logs, port: (server.address() as AddressInfo).port };
}

/** A POST whose body is held back until `finish` is called. */
function held(port: number, agent?: http.Agent) {
  const req = http.request({ port, host: '127.0.0.1', method: 'POST', agent: agent ?? false, headers: { 'content-length': 4 } });
  const answer = new Promise<{ status: number; connection?: string; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
    });
    req.on('error', reject);
  });
  answer.catch(() => undefined);
  req.write('ab');
  return { answer, finish: () => req.end('cd') };
}

const connects = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

test('a request in flight at the drain is answered with Connection: close, new connections are refused', async () => {
  const { drainer, port } = await serve(5000);
  const request = held(port);
  await new Promise((r) => setTimeout(r, 50)); // the server has the headers
  assert.is(drainer.inFlight, 1);
  const drained = drainer.drain();
  assert.is(drainer.drain(), drained, 'one drain, however often asked');
  assert.ok(drainer.draining);
  assert.is(await connects(port), 'ECONNREFUSED');
  request.finish();
  assert.equal(await request.answer, { status: 200, connection: 'close', text: 'done' });
  await drained;
  assert.is(drainer.inFlight, 0);
});

test('an idle keep-alive connection is closed after the grace, so the drain ends', async () => {
  const { drainer, port } = await serve(5000, 50);
  const agent = new http.Agent({ keepAlive: true });
  const first = held(port, agent);
  first.finish();
  assert.is((await first.answer).connection, 'keep-alive');
  const started = performance.now();
  await drainer.drain();
  const ms = performance.now() - started;
  assert.ok(ms >= 40 && ms < 1000, `drained in ${ms} ms`);
  agent.destroy();
});

test('a request that never finishes is cut after the timeout, with a warning', async () => {
  const { drainer, port, logs } = await serve(200);
  const stuck = held(port);
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  await drainer.drain();
  assert.ok(performance.now() - started >= 190);
  assert.equal(
    logs.map(({ msg, inFlight }) => ({ msg, inFlight })),
    [{ msg: 'drain timed out, closing the remaining connections', inFlight: 1 }],
  );
  assert.instance(await stuck.answer.catch((e) => e), Error);
});

test.run();
