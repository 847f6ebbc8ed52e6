// Entry point of `npm start`, `npm run serve` and the container image: the function's handler
// (http.ts) served by the host (host/server.ts). index.ts, which registers the same handler with
// the functions-framework, is not imported: the framework and Express are never loaded here.
//   SIGTERM, SIGINT     drain (stop accepting, finish in-flight requests, at most
//                       PANDO_DRAIN_TIMEOUT_SECONDS), then exit 0
//   TLS files missing   serve HTTP, start HTTPS when they appear; exit 1 if they never do, so
//                       the pod restarts and says why
import { Config, ConfigError, loadConfig } from './config';
import { createHandler } from './http';
import { createMetrics, withMetricsPath } from './metrics';
import { jsonLogger } from './log';
import { loadServerConfig, ServerConfig } from './host/config';
import { SERVER_TIMEOUTS, startServers } from './host/server';
import { version } from '../package.json';

/** Checks the function's and the server's variables together, so one message names every bad one. */
function configsOrExit(): { config: Config; serverConfig: ServerConfig } {
  const problems: string[] = [];
  const attempt = <T>(load: () => T) => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const config = attempt(() => loadConfig(process.env, version));
  const serverConfig = attempt(() => loadServerConfig(process.env));
  if (!config || !serverConfig || problems.length > 0) {
    const error = new ConfigError(problems);
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: error.message, problems })}\n`);
    process.exit(1);
  }
  return { config, serverConfig };
}

async function main() {
  const log = jsonLogger();
  const { config, serverConfig } = configsOrExit();
  const requestMs = serverConfig.requestTimeoutMs ?? SERVER_TIMEOUTS.requestMs;
  const timeouts = { ...SERVER_TIMEOUTS, requestMs, headersMs: Math.min(SERVER_TIMEOUTS.headersMs, requestMs) };
  const metrics = createMetrics();
  const handler = withMetricsPath(createHandler(config, log, metrics.admission), metrics);
  const running = await startServers(handler, serverConfig, log, timeouts, metrics.certificate);
  log('info', 'serving', { ...running.urls, pid: process.pid });
  let stopping = false;
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    const drained = running.drain(); // listeners closed first, then said
    log('info', 'draining', { reason });
    await drained;
    log('info', 'stopped', { reason });
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  if (serverConfig.tls && !running.urls.https) {
    void running.tlsReady.then((url) => {
      if (url) log('info', 'serving HTTPS', { https: url });
      else void stop('no TLS certificate', 1);
    });
  }
}

main().catch((error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'failed to start', error: String(error?.message ?? error) })}\n`);
  process.exit(1);
});
