// Test support: the production stack (bodyGuard -> functions-framework app -> handler) on
// loopback, in this process, with short timeouts and every log line captured; and the built
// production entry (dist/function/main.js) as a child process with its output captured.
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../function/config';
import type { ServerTimeouts } from '../../function/server';
import { defaultConfig } from '../support/config';
import { startTestServer, TestServer } from '../support/server';

export const TEST_TIMEOUTS: ServerTimeouts = { requestMs: 1500, headersMs: 800, keepAliveMs: 5000 };

export type InProcessServer = TestServer;

/** The shared test server (testing/server.ts) with short timeouts, so slow-sender cases end fast. */
export const startInProcess = (config: Config = defaultConfig, timeouts = TEST_TIMEOUTS) => startTestServer(config, timeouts);

export const MAIN_JS = join(__dirname, '..', '..', '..', 'dist', 'function', 'main.js');

export interface Child {
  process: ChildProcess;
  /** Every line the process wrote to stdout and stderr, in order. */
  output: string[];
  urls: { http: string; https?: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident set size of the process in bytes, from /proc. */
  rss(): number;
}

/** Starts node dist/function/main.js and resolves once it logs "serving" (or rejects on exit). */
export function spawnMain(env: Record<string, string>, startMs = 10_000): Promise<Child> {
  const child = spawn(process.execPath, [MAIN_JS], { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`main.js did not start in ${startMs} ms:\n${output.join('\n')}`)); }, startMs);
    const collect = (stream: NodeJS.ReadableStream) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const lines = (rest + text).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          output.push(line);
          const entry = safeJson(line);
          if (entry?.msg === 'serving') {
            clearTimeout(timer);
            resolve({ process: child, output, urls: { http: entry.http, https: entry.https }, exited, rss: () => rssOf(child.pid) });
          }
        }
      });
      stream.on('end', () => { if (rest) output.push(rest); });
    };
    collect(child.stdout!);
    collect(child.stderr!);
    void exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`main.js exited (${code}) before serving:\n${output.join('\n')}`)); });
  });
}

/** Sends a signal and waits for the exit, at most `ms`: then SIGKILL and an error, never a hang. */
export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM', ms = 30_000) {
  child.process.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { child.process.kill('SIGKILL'); reject(new Error(`no exit ${ms} ms after ${signal}:\n${child.output.slice(-10).join('\n')}`)); }, ms);
  });
  try {
    return await Promise.race([child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function safeJson(line: string): any {
  try { return JSON.parse(line); } catch { return undefined; }
}

export function rssOf(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    return NaN; // the process has exited
  }
}
