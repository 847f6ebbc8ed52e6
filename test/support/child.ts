// Test support: the one way tests and the benchmark run a node process of ours (the built
// server, the TLS setup entry, a benchmark server): its output kept line by line (and as JSON
// log entries), its exit awaited, a bounded stop that never hangs, its memory and CPU from /proc.
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeChild {
  process: ChildProcess;
  /** Every line written to stdout and stderr, in order, as it arrives. */
  output: string[];
  /** The lines that are JSON (our log lines), parsed, as they arrive. */
  entries: any[];
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** The first log entry that matches, waiting at most ms; rejects if the process exits first. */
  waitForEntry(match: (entry: any) => boolean, ms?: number): Promise<any>;
  /** Sends a signal and waits for the exit, at most ms: then SIGKILL and an error, never a hang. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<Exit>;
  /** Resident set size in bytes (NaN once exited). */
  rss(): number;
}

export interface NodeOptions {
  cwd?: string;
  /** Pass this process's environment on (default: PATH only). */
  inheritEnv?: boolean;
  /** Drop stdout unread: a benchmarked server's log lines would cost this process CPU. */
  ignoreStdout?: boolean;
  /** Another node binary than this process's (the benchmark's Node 20 rows). */
  node?: string;
}

export function startNode(args: string[], env: Record<string, string | undefined> = {}, options: NodeOptions = {}): NodeChild {
  const base = options.inheritEnv ? process.env : { PATH: process.env.PATH ?? '' };
  const child = spawn(options.node ?? process.execPath, args, {
    cwd: options.cwd,
    env: { ...base, ...env },
    stdio: ['ignore', options.ignoreStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const entries: any[] = [];
  const text = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    }),
  );
  const collect = (name: 'stdout' | 'stderr') => {
    let rest = '';
    const stream = child[name]!;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text[name] += chunk;
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        try {
          entries.push(JSON.parse(line));
        } catch {
          /* not a log line */
        }
      }
      for (const wake of waiters) wake();
    });
    stream.on('end', () => {
      if (rest) output.push(rest);
    });
  };
  if (!options.ignoreStdout) collect('stdout');
  collect('stderr');

  const waitForEntry = (match: (entry: any) => boolean, ms = 10_000) =>
    new Promise<any>((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no matching log line in ${ms} ms:\n${output.slice(-20).join('\n')}`))), ms);
      function check() {
        const found = entries.find(match);
        if (found) finish(() => resolve(found));
        else if (child.exitCode !== null || child.signalCode !== null)
          finish(() => reject(new Error(`exited (${child.exitCode ?? child.signalCode}) first:\n${output.slice(-20).join('\n')}`)));
      }
      waiters.add(check);
      check();
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', ms = 30_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no exit ${ms} ms after ${signal}:\n${output.slice(-10).join('\n')}`));
      }, ms);
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return { process: child, output, entries, stdout: () => text.stdout, stderr: () => text.stderr, exited, waitForEntry, stop, rss: () => rssOf(child.pid) };
}

/** A loopback port free at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const statusField = (pid: number | undefined, field: string) => {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    return NaN; // the process has exited
  }
};

export const rssOf = (pid: number | undefined) => statusField(pid, 'VmRSS');

/** Resident and peak resident memory of a process, in MB (Linux /proc). */
export const memoryOf = (pid: number) => ({ rssMb: statusField(pid, 'VmRSS') / 1048576, peakRssMb: statusField(pid, 'VmHWM') / 1048576 });

/** CPU time (user + system, all threads) a process has used, in seconds. /proc counts in
 * USER_HZ ticks, which Linux fixes at 100 per second. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
