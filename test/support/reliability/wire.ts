// Test support: raw HTTP/1.1 on a loopback socket, for requests no well-behaved client sends
// (odd headers, trickled bytes, bodies that never end). Every exchange is bounded in time.
import net from 'node:net';

export interface Exchange {
  /** Status code of the first response, or 0 when the server answered nothing. */
  status: number;
  head: string;
  body: string;
  /** Bytes the client managed to write before the server closed or the deadline passed. */
  written: number;
  closedByServer: boolean;
  ms: number;
}

export type Step = string | Buffer | { pauseMs: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes the steps in order (pausing where asked), then waits for the server to answer and close. */
export function exchange(port: number, steps: Iterable<Step> | AsyncIterable<Step>, deadlineMs = 5000): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let written = 0;
    let closed = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      // Interim answers (100 Continue) come first; the status is the final one.
      const text = Buffer.concat(received)
        .toString('latin1')
        .replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        body: split < 0 ? '' : text.slice(split + 4),
        written,
        closedByServer: closed,
        ms: Math.round(performance.now() - started),
      });
    };
    const timer = setTimeout(finish, deadlineMs);
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => {
      closed = true;
      finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.once('connect', async () => {
      for await (const step of steps) {
        if (done || closed) break;
        if (typeof step === 'object' && 'pauseMs' in step) {
          await sleep(step.pauseMs);
          continue;
        }
        const ok = socket.write(step);
        written += Buffer.byteLength(step);
        if (!ok)
          await new Promise((r) => {
            socket.once('drain', r);
            socket.once('close', r);
          });
      }
    });
  });
}

/** One request as bytes: request line, headers (repeats allowed), blank line, body. */
export function rawRequest(method: string, path: string, headers: [string, string | number][], body: string | Buffer = ''): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]);
}

/** A JSON POST with a correct Content-Length, closing after the answer. */
export const jsonPost = (body: string | Buffer, extra: [string, string | number][] = []) =>
  rawRequest(
    'POST',
    '/?timeout=10s',
    [['Host', '127.0.0.1'], ['Content-Type', 'application/json'], ['Content-Length', Buffer.byteLength(body)], ['Connection', 'close'], ...extra],
    body,
  );

/** Bytes one at a time, with a pause after each: a slow sender. */
export function* trickle(bytes: Buffer | string, pauseMs: number, limit = Infinity): Generator<Step> {
  const buf = Buffer.from(bytes);
  for (let i = 0; i < buf.length && i < limit; i++) {
    yield buf.subarray(i, i + 1);
    yield { pauseMs };
  }
}
