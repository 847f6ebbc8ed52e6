// Child servers for the benchmark: free loopback ports, spawn, one checked request (so a broken
// server is never benchmarked), memory from /proc, and a bounded stop.
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface Answer { status: number; text: string }

/** One POST on a fresh connection; a self-signed certificate is accepted (loopback only). */
export function postOnce(url: string, body: string): Promise<Answer> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: 'POST', agent: false, rejectUnauthorized: false, headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
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
      if (child && child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before answering`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

export interface Child { process: ChildProcess; stderr: () => string; stop(): Promise<void> }

export function startChild(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-2000); });
  return {
    process: child,
    stderr: () => stderr,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/** Resident and peak resident memory of a process, in MB (Linux /proc). */
export function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** CPU time (user + system, all threads) a process has used, in seconds. /proc counts in
 * USER_HZ ticks, which Linux fixes at 100 per second. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
