// Entry point of `npm start`, `npm run serve` and the container image.
import { FUNCTION_NAME } from './index';
import { ConfigError, loadServerConfig } from './config';
import { jsonLogger } from './log';
import { bodyGuard, frameworkApp, startServers } from './server';

async function main() {
  const log = jsonLogger();
  let serverConfig;
  try {
    serverConfig = loadServerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: error.message, problems: error.problems })}\n`);
    process.exit(1);
  }
  const running = await startServers(bodyGuard(frameworkApp(FUNCTION_NAME, log), log), serverConfig, log);
  log('info', 'serving', { ...running.urls, pid: process.pid });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'draining', { signal });
    await running.drain();
    log('info', 'stopped', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'failed to start', error: String(error?.message ?? error) })}\n`);
  process.exit(1);
});
