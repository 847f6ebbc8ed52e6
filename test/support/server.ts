// Test support: the function served on loopback the way `npm start` serves it (the host of
// function/host/ around the handler), with its log lines captured. The same handler is also
// registered with the functions-framework under `functionName`, for tests of the bare framework.
import { http as registerHttp } from '@google-cloud/functions-framework';
import type { Config } from '../../function/config';
import { createHandler } from '../../function/http';
import { jsonLogger } from '../../function/log';
import { RunningServers, SERVER_TIMEOUTS, ServerTimeouts, startServers } from '../../function/host/server';
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
  const handler = createHandler(config, log);
  const name = `admit-test-${++registered}`;
  registerHttp(name, handler);
  const servers = await startServers(handler, { port: 0, drainTimeoutMs: 2000 }, log, timeouts);
  const url = servers.urls.http;
  return { port: Number(new URL(url).port), url, functionName: name, logs, servers, close: () => servers.drain() };
}
