// Wiring only: read the configuration once, at start, and register the function.
import { http } from '@google-cloud/functions-framework';
import { ConfigError, loadConfig } from './config';
import { createHandler } from './http';
import { jsonLogger } from './log';
import { version } from '../package.json';

export const FUNCTION_NAME = 'admit';

function configOrExit() {
  try {
    return loadConfig(process.env, version);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: error.message, problems: error.problems })}\n`);
    process.exit(1);
  }
}

export const config = configOrExit();
export const admitHandler = createHandler(config, jsonLogger());
http(FUNCTION_NAME, admitHandler);
