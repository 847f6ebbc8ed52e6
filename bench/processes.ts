// Child servers for the benchmark: free loopback ports, spawn, one checked request (so a broken
// server is never benchmarked), memory from /proc, and a bounded stop.
import type { ChildProcess } from 'node:child_process';
import { startNode } from '../test/support/child';
export { cpuSecondsOf, freePort, memoryOf } from '../test/support/child';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  text: string;
}

/** One POST on a fresh connection; a self-signed certificate is accepted (loopback only). */
export function postOnce(url: string, body: string): Promise<Answer> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      { method: 'POST', agent: false, rejectUnauthorized: false, headers: { 'content-type': 'application/json' }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const refused = (error: unknown) => ['ECONNREFUSED', 'ECONNRESET'].includes((error as NodeJS.ErrnoException)?.code ?? '');

/** Polls until the server answers; returns the first answer. Bounded by `timeoutMs`. */
export async function firstAnswer(url: string, body: string, timeoutMs = 10_000, child?: ChildProcess): Promise<Answer> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await postOnce(url, body);
    } catch (error) {
      if (!refused(error) || performance.now() > deadline) throw error;
      if (child && child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before answering`, { cause: error });
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

export interface Child {
  process: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export function startChild(args: string[], env: Record<string, string>, node?: string): Child {
  const child = startNode(args, env, { inheritEnv: true, ignoreStdout: true, node });
  return {
    process: child.process,
    stderr: () => child.stderr().slice(-2000),
    stop: () =>
      child.stop('SIGTERM', 5000).then(
        () => undefined,
        () => undefined,
      ),
  };
}

/** CPU time of a process's threads, in ns from the scheduler (/proc/PID/task/TID/schedstat), where
 * /proc/PID/stat counts 10 ms ticks: fine enough for a few ms of idle timers. */
export function schedCpuSecondsOf(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e9;
}
