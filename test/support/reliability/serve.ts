// Test support: the production stack (host/server.ts -> body.ts -> handler) on
// loopback, in this process, with short timeouts and every log line captured; and the built
// production entry (dist/function/main.js) as a child process with its output captured.
import { join } from 'node:path';
import type { Config } from '../../../function/config';
import type { ServerTimeouts } from '../../../function/host/server';
import { defaultConfig } from '../config';
import { startTestServer, TestServer } from '../server';
import { NodeChild, startNode } from '../child';

export const TEST_TIMEOUTS: ServerTimeouts = { requestMs: 1500, headersMs: 800, keepAliveMs: 5000 };

export type InProcessServer = TestServer;

/** The shared test server (testing/server.ts) with short timeouts, so slow-sender cases end fast. */
export const startInProcess = (config: Config = defaultConfig, timeouts = TEST_TIMEOUTS) => startTestServer(config, timeouts);

export const MAIN_JS = join(__dirname, '..', '..', '..', '..', 'dist', 'function', 'main.js');

export interface Child extends NodeChild {
  urls: { http: string; https?: string };
}

/** Starts node dist/function/main.js and resolves once it logs "serving" (or rejects on exit). */
export async function spawnMain(env: Record<string, string>, startMs = 10_000): Promise<Child> {
  const child = startNode([MAIN_JS], { PORT: '0', ...env });
  try {
    const serving = await child.waitForEntry((entry) => entry.msg === 'serving', startMs);
    return Object.assign(child, { urls: { http: serving.http, https: serving.https } });
  } catch (error) {
    child.process.kill('SIGKILL');
    throw new Error(`main.js did not start: ${(error as Error).message}`, { cause: error });
  }
}

/** Sends a signal and waits for the exit, at most `ms`: then SIGKILL and an error, never a hang. */
export const stopChild = (child: Child, signal: NodeJS.Signals = 'SIGTERM', ms = 30_000) => child.stop(signal, ms);
