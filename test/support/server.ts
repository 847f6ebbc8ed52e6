// Test support: the function served on loopback the way `npm start` serves it (our edge in
// front of the functions-framework app), with its log lines captured.
import { http as registerHttp } from '@google-cloud/functions-framework';
import type { Config } from '../../function/config';
import { createHandler } from '../../function/http';
import { jsonLogger } from '../../function/log';
import { bodyGuard, frameworkApp, RunningServers, SERVER_TIMEOUTS, ServerTimeouts, startServers } from '../../function/server';
import { defaultConfig } from './config';

let registered = 0;

export interface TestServer {
  port: number;
  url: string;
  functionName: string;
  logs: string[];
  servers: RunningServers;
  close(): Promise<void>;
}

export async function startTestServer(config: Config = defaultConfig, timeouts: ServerTimeouts = SERVER_TIMEOUTS): Promise<TestServer> {
  const logs: string[] = [];
  const log = jsonLogger((line) => {
    logs.push(line);
  });
  const name = `admit-test-${++registered}`;
  registerHttp(name, createHandler(config, log));
  const servers = await startServers(bodyGuard(frameworkApp(name, log), log), { port: 0, drainTimeoutMs: 2000 }, log, timeouts);
  const url = servers.urls.http;
  return { port: Number(new URL(url).port), url, functionName: name, logs, servers, close: () => servers.drain() };
}
