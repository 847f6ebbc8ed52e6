// Entry of the TLS setup Job (`node dist/tls-setup.js`, its esbuild bundle in the webhook image):
// creates or renews the CA and serving certificate and the webhook's caBundle. Exits 0 when
// everything is in place (written or already there), 1 with a one-line reason otherwise.
import { ConfigError } from '../config';
import { jsonLogger } from '../log';
import { loadSetupConfig, readServiceAccount } from './config';
import { runSetup } from './job';
import { kubeClient } from '../kube/client';

async function main() {
  const log = jsonLogger();
  try {
    const config = loadSetupConfig(process.env);
    const { token, ca } = readServiceAccount(config);
    await runSetup(config, kubeClient({ baseUrl: config.apiUrl, token, ca }), log);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : undefined;
    log('error', `TLS setup failed: ${error instanceof ConfigError ? 'invalid configuration' : (error as Error).message}`, problems ? { problems } : {});
    process.exitCode = 1;
  }
}

void main();
