// The local OCI registry: CNCF Distribution (`npm run tools` builds it from e2e/tools/registry) on
// 127.0.0.1, with TLS from a CA made here and htpasswd authentication, its storage under the
// cluster dir. Started by the suite that needs it (e2e/suite/registry.test.ts), not by every up:
// no other suite pulls or pushes, and up stays as fast as it was. The node's containerd is a host
// process, so it reaches loopback; it trusts the CA for that one host through hosts.toml
// (certs.d/127.0.0.1:PORT), every other registry still points at the dead address. helm and crane
// trust it through SSL_CERT_FILE, as a machine whose trust store holds the CA, so the commands
// stay the users' own. down stops it (its pid is in the cluster's state.json).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { createCa, issueServingCert } from '../../function/tls/certs';
import { toolEnv } from './kubeconfig';
import { saveState, type ClusterState } from './state';
import { freePort, isAlive, startDaemon, stopPid, waitFor } from './processes';

export interface RegistryState {
  dir: string;
  /** host:port, as image references and oci:// URLs name it. */
  host: string;
  pid?: number;
  caFile: string;
  user: string;
  password: string;
}

type Say = (line: string) => void;

const hostsDir = (cluster: ClusterState, host: string) => join(cluster.node?.dir ?? join(cluster.dir, 'node'), 'certs.d', host);

/** Starts the registry, waits until it answers (401 without credentials) and lets the node trust it. */
export async function startRegistry(cluster: ClusterState, say: Say = () => undefined): Promise<RegistryState> {
  const dir = join(cluster.dir, 'registry');
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const ca = await createCa('pando-webhook local registry CA');
  const serving = await issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.cert);
  writeFileSync(join(dir, 'tls.crt'), serving.cert);
  writeFileSync(join(dir, 'tls.key'), serving.key, { mode: 0o600 });

  const user = 'pando';
  const password = randomBytes(18).toString('base64url');
  const line = spawnSync(join(cluster.tools, 'registry'), ['htpasswd', user], { input: `${password}\n`, encoding: 'utf8' });
  if (line.status !== 0) throw new Error(`registry htpasswd: ${line.stderr}`);
  writeFileSync(join(dir, 'htpasswd'), line.stdout, { mode: 0o600 });

  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // JSON is YAML: the registry's config.yml.
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: { filesystem: { rootdirectory: join(dir, 'storage') }, delete: { enabled: true } },
    http: { addr: host, tls: { certificate: join(dir, 'tls.crt'), key: join(dir, 'tls.key') } },
    auth: { htpasswd: { realm: 'pando-local', path: join(dir, 'htpasswd') } },
  };
  writeFileSync(join(dir, 'config.yml'), JSON.stringify(config, null, 2));
  // No trace exporter: by default it would post spans to an OTLP collector.
  const env = { ...process.env, OTEL_TRACES_EXPORTER: 'none' };
  const pid = startDaemon(join(cluster.tools, 'registry'), ['serve', join(dir, 'config.yml')], join(cluster.dir, 'logs', 'registry.log'), env);
  const registry: RegistryState = { dir, host, pid, caFile, user, password };
  cluster.registry = registry;
  saveState(cluster);
  say(`registry on https://${host} (htpasswd user ${user})`);
  await waitFor(
    'the registry',
    async () => (await v2Status(registry)) === 401,
    30_000,
    () => isAlive(pid),
  );

  mkdirSync(hostsDir(cluster, host), { recursive: true });
  writeFileSync(
    join(hostsDir(cluster, host), 'hosts.toml'),
    [`server = "https://${host}"`, '', `[host."https://${host}"]`, '  capabilities = ["pull", "resolve"]', `  ca = "${caFile}"`, ''].join('\n'),
  );
  return registry;
}

/** Stops it and takes its host out of the node's registry config; its files go with the cluster dir. */
export async function stopRegistry(cluster: ClusterState) {
  if (!cluster.registry) return;
  await stopPid(cluster.registry.pid);
  rmSync(hostsDir(cluster, cluster.registry.host), { recursive: true, force: true });
}

/** GET /v2/ without credentials, trusting only the registry's CA: its status code. */
export function v2Status(registry: RegistryState, auth?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const [hostname, port] = registry.host.split(':');
    const req = https.get(
      { hostname, port: Number(port), path: '/v2/', ca: readFileSync(registry.caFile), timeout: 2000, headers: auth ? { authorization: auth } : {} },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * A user's environment for this registry: the cluster's (kubectl, helm, task, crane on the PATH),
 * the CA trusted, and helm's and crane's credentials in one file under the registry dir, never in
 * the machine's home (helm registry login writes it; crane reads it as a Docker config).
 */
export function registryEnv(cluster: ClusterState, registry: RegistryState): NodeJS.ProcessEnv {
  const auth = join(registry.dir, 'auth');
  mkdirSync(auth, { recursive: true });
  return { ...toolEnv(cluster), SSL_CERT_FILE: registry.caFile, HELM_REGISTRY_CONFIG: join(auth, 'config.json'), DOCKER_CONFIG: auth };
}
