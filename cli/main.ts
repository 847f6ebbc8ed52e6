// kubectl-pando: the kubectl plugin of pando-webhook (`kubectl pando ...`).
//   inject -f FILE|DIR|- ...   inject offline, print the manifests (the webhook's own code)
//   uninject -f FILE|DIR|-     take out what inject or the webhook added
//   check [-n NS] [-o json] [--only ID,...]   the troubleshooting list, run; exit 1 on any failure
//   enable NS | disable NS     set a namespace up for protected pods, or undo it
//   status [-A | -n NS]        protected pods, their sidecar, what to restart after an upgrade
//   restart --outdated|--unprotected [--dry-run]   restart their workloads, one rollout at a time
// Exit codes: 0 done, 1 a check failed or the cluster refused, 2 bad usage or input.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, ENV, loadConfig } from '../function/config';
import { version } from '../package.json';
import { InputError, UsageError } from './errors';
import { injectSources, uninjectSources, type Source } from './inject';
// The cluster commands load the Kubernetes client only when run: inject starts without it.
type KubeModule = typeof import('./kube');
const cluster = async () => ({
  ...(await import('./kube')),
  ...(await import('./read-install')),
  ...(await import('./check')),
  ...(await import('./enable')),
  ...(await import('./status')),
  ...(await import('./restart')),
});

/** Each of the function's variables as a flag: PANDO_SIDECAR_IMAGE is --sidecar-image. */
export const FLAG_OF_ENV = Object.fromEntries(
  Object.keys(ENV).map((name) => [
    name,
    name
      .replace(/^PANDO_/, '')
      .toLowerCase()
      .replace(/_/g, '-'),
  ]),
);
/** Short names for the settings people change most. */
const ALIASES: Record<string, string> = { mode: 'PANDO_DEFAULT_MODE', image: 'PANDO_SIDECAR_IMAGE' };

const USAGE = `kubectl pando: the PandoCore sidecar, from the command line (pando-webhook ${version})

  kubectl pando inject -f FILE|DIR|- [-f ...] [--from-cluster] [--mode M] [--image I] [--native] [-n NS]
      Injects the sidecar into every Pod and pod template (Deployment, StatefulSet, DaemonSet,
      ReplicaSet, ReplicationController, Job, CronJob) labelled pandocore.xyz/protect=true, as the
      webhook would at admission; prints every document, the others unchanged. What it did goes
      to stderr. --from-cluster: the installed webhook's settings (then the flags over them).
      e.g. kubectl pando inject --from-cluster -f deploy.yaml | kubectl apply -f -
  kubectl pando uninject -f FILE|DIR|- [-f ...]
      Takes out of every Pod and pod template what inject or the webhook added (the sidecar, and
      the fields it set, as its pandocore.xyz/status annotation recorded them); prints every
      document, the others unchanged. e.g. kubectl get deploy web -o yaml | kubectl pando uninject -f -
  kubectl pando check [-n NS] [-o json] [--only ID,...]
      Checks the install end to end, ending with a server-side dry-run of a protected pod.
      --only: just those checks (ids as in -o json), after reading the install.
  kubectl pando enable NS [--license-file FILE] [--create] [--pull-secret-from SRCNS/NAME]
  kubectl pando disable NS
      Sets NS up for protected pods (ServiceAccount, RoleBinding, license Secret, label), or undoes it.
      --pull-secret-from copies that registry Secret (kubernetes.io/dockerconfigjson) into NS.
  kubectl pando enable --rotate-license [--license-file FILE]
      Writes the key (the file's, else the release namespace's Secret's) into every license Secret
      enable made, in every enabled namespace; run it after changing the key.
  kubectl pando status [-A | -n NS] [-o json]
      Protected pods, whether each runs the configured sidecar, and what to restart after an upgrade.
  kubectl pando restart --outdated | --unprotected [--dry-run] [--timeout 5m] [-A | -n NS]
      Restarts the Deployments, StatefulSets and DaemonSets whose protected pods run an old sidecar
      (--outdated) or none (--unprotected), one at a time as kubectl rollout restart does, waiting
      for each rollout; stops at the first failure. Bare pods and Jobs are listed, never deleted.
  kubectl pando version

Cluster flags: --kubeconfig FILE, --context NAME (default: KUBECONFIG, ~/.kube/config, in-cluster).
Injection settings: the webhook's environment variables (PANDO_*) or their flags:
${Object.entries(FLAG_OF_ENV)
  .map(([env, flag]) => `  --${flag}=${ENV[env as keyof typeof ENV].default}`)
  .join('\n')}
  --mode is --default-mode, --image is --sidecar-image, --native is --sidecar-native=true.
`;

const OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'license-file': { type: 'string' },
  'rotate-license': { type: 'boolean' },
  only: { type: 'string' },
  create: { type: 'boolean' },
  outdated: { type: 'boolean' },
  unprotected: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'pull-secret-from': { type: 'string' },
  timeout: { type: 'string' },
  native: { type: 'boolean' },
  'from-cluster': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...Object.fromEntries([...Object.values(FLAG_OF_ENV), ...Object.keys(ALIASES)].map((flag) => [flag, { type: 'string' }])),
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  env: Record<string, string | undefined>;
}

/** The injection config: the environment, then flags over it, parsed as the function parses it. */
export function injectionConfig(values: Values, env: Record<string, string | undefined>) {
  const vars: Record<string, string | undefined> = { ...env };
  for (const [name, flag] of Object.entries(FLAG_OF_ENV)) if (typeof values[flag] === 'string') vars[name] = values[flag] as string;
  for (const [alias, name] of Object.entries(ALIASES)) if (typeof values[alias] === 'string') vars[name] = values[alias] as string;
  if (values.native === true) vars.PANDO_SIDECAR_NATIVE = 'true';
  return loadConfig(vars, version);
}

/** --timeout as kubectl spells it (90s, 5m, 1h; a bare number is seconds), in milliseconds; 5 minutes by default. */
export function parseDuration(text: string | undefined): number {
  if (text === undefined) return 5 * 60_000;
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text);
  if (!match || Number(match[1]) <= 0) throw new UsageError(`--timeout ${text}: a duration such as 90s, 5m or 1h`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
}

/** The files -f names: a file, a directory's manifests (-R: and below), or "-" for stdin. */
export function readSources(names: string[], recursive: boolean, readStdin: () => string): Source[] {
  const sources: Source[] = [];
  const visit = (path: string, top: boolean) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new InputError(`${path}: no such file or directory`);
    }
    if (stat.isDirectory()) {
      if (!top && !recursive) return;
      for (const entry of readdirSync(path).sort()) {
        const child = join(path, entry);
        if (statSync(child).isDirectory()) visit(child, false);
        else if (/\.(ya?ml|json)$/.test(entry)) sources.push({ name: child, text: readFileSync(child, 'utf8') });
      }
    } else sources.push({ name: path, text: readFileSync(path, 'utf8') });
  };
  for (const name of names) {
    if (name === '-') sources.push({ name: '-', text: readStdin() });
    else visit(name, true);
  }
  return sources;
}

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`kubectl pando: ${(error as Error).message}\nRun kubectl pando --help for usage.\n`);
    return 2;
  }
  const { values, positionals } = parsed as { values: Values; positionals: string[] };
  const [command, ...args] = positionals;
  if (values.help || command === undefined || command === 'help') {
    io.stdout(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const json = values.output === 'json';
  if (values.output !== undefined && !json) {
    io.stderr(`kubectl pando: -o ${values.output}: only -o json is supported\n`);
    return 2;
  }
  let describeError: KubeModule['describeError'] = (error) => String((error as Error)?.message ?? error);
  const connect = async () => {
    const loaded = await cluster();
    describeError = loaded.describeError;
    return { ...loaded, kube: new loaded.Kube({ kubeconfig: values.kubeconfig as string | undefined, context: values.context as string | undefined }) };
  };
  const installedEnv = async () => {
    const { kube, findInstall } = await connect();
    const install = await findInstall(kube);
    if (!install.env) throw new UsageError(`--from-cluster: no pando-webhook workload found in ${install.namespace}`);
    return install.env;
  };
  try {
    switch (command) {
      case 'version':
        io.stdout(`kubectl-pando ${version}\n`);
        return 0;
      case 'inject': {
        const files = (values.filename as string[] | undefined) ?? [];
        if (files.length === 0) throw new UsageError('inject needs -f FILE, -f DIR or -f - (standard input)');
        // --from-cluster: the installed webhook's settings, so the output is what it would give.
        const base = values['from-cluster'] ? await installedEnv() : io.env;
        const config = injectionConfig(values, base);
        const sources = readSources(files, values.recursive === true, io.readStdin);
        const { text, outcomes } = injectSources(sources, config, { namespace: values.namespace as string | undefined });
        io.stdout(text);
        for (const o of outcomes) {
          io.stderr(`${o.object}: ${o.injected ? 'injected' : 'not injected'} (${o.reason})\n`);
          for (const w of o.warnings) io.stderr(`  warning: ${w}\n`);
        }
        if (outcomes.length === 0) io.stderr('no Pod or pod template labelled pandocore.xyz/protect=true: nothing injected\n');
        return 0;
      }
      case 'uninject': {
        const files = (values.filename as string[] | undefined) ?? [];
        if (files.length === 0) throw new UsageError('uninject needs -f FILE, -f DIR or -f - (standard input)');
        const { text, removed } = uninjectSources(readSources(files, values.recursive === true, io.readStdin), {
          namespace: values.namespace as string | undefined,
        });
        io.stdout(text);
        for (const object of removed) io.stderr(`${object}: sidecar removed\n`);
        if (removed.length === 0) io.stderr('no Pod or pod template with the sidecar injected: nothing removed\n');
        return 0;
      }
      case 'check': {
        const { kube, runChecks, renderChecks, CHECK_IDS } = await connect();
        const only = typeof values.only === 'string' ? values.only.split(',').map((id) => id.trim()) : undefined;
        const unknown = (only ?? []).filter((id) => !CHECK_IDS.includes(id));
        if (unknown.length) throw new UsageError(`--only ${unknown.join(',')}: no such check (${CHECK_IDS.join(', ')})`);
        const results = await runChecks(kube, { namespace: values.namespace as string | undefined, only });
        const ok = results.every((r) => r.ok);
        io.stdout(json ? `${JSON.stringify({ ok, checks: results }, null, 2)}\n` : renderChecks(results));
        return ok ? 0 : 1;
      }
      case 'enable':
      case 'disable': {
        const rotate = command === 'enable' && values['rotate-license'] === true;
        if (rotate ? args.length !== 0 : args.length !== 1) {
          throw new UsageError(
            rotate
              ? 'enable --rotate-license takes no namespace: it rotates every one enable set up'
              : `${command} needs one namespace: kubectl pando ${command} NAMESPACE`,
          );
        }
        const licenseFile = values['license-file'] as string | undefined;
        let licenseKey: string | undefined;
        if (licenseFile) {
          try {
            licenseKey = readFileSync(licenseFile, 'utf8');
          } catch (error) {
            throw new InputError(`--license-file ${licenseFile}: ${(error as Error).message}`);
          }
        }
        const { kube, enableNamespace, disableNamespace, rotateLicense } = await connect();
        if (rotate) {
          io.stdout((await rotateLicense(kube, { licenseKey })).map((line) => `${line}\n`).join(''));
          return 0;
        }
        const done =
          command === 'enable'
            ? await enableNamespace(kube, args[0], {
                licenseKey,
                create: values.create === true,
                pullSecretFrom: values['pull-secret-from'] as string | undefined,
              })
            : await disableNamespace(kube, args[0]);
        io.stdout(done.map((line) => `${line}\n`).join(''));
        io.stdout(command === 'enable' ? `${args[0]} enabled: new pods labelled pandocore.xyz/protect=true get the sidecar\n` : `${args[0]} disabled\n`);
        return 0;
      }
      case 'status': {
        const { kube, protectedPods, renderStatus } = await connect();
        const namespace = values['all-namespaces'] ? undefined : ((values.namespace as string | undefined) ?? kube.currentNamespace);
        const report = await protectedPods(kube, namespace);
        io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
        return 0;
      }
      case 'restart': {
        if (values.outdated === values.unprotected) throw new UsageError('restart needs one of --outdated (an old sidecar) or --unprotected (no sidecar)');
        if (args.length) throw new UsageError(`restart takes no argument (${args[0]}): -n NS or -A picks the namespaces`);
        const timeoutMs = parseDuration(values.timeout as string | undefined);
        const { kube, restartWorkloads, RestartFailed } = await connect();
        const namespace = values['all-namespaces'] ? undefined : ((values.namespace as string | undefined) ?? kube.currentNamespace);
        try {
          await restartWorkloads(kube, {
            selection: values.outdated ? 'outdated' : 'unprotected',
            namespace,
            dryRun: values['dry-run'] === true,
            timeoutMs,
            log: (line) => io.stdout(`${line}\n`),
          });
        } catch (error) {
          if (!(error instanceof RestartFailed)) throw error;
          io.stderr(`kubectl pando restart: ${error.message}\n`);
          return 1;
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}: inject, uninject, check, enable, disable, status, restart or version`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputError) {
      io.stderr(`kubectl pando: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr(`kubectl pando: ${error.message.replace('the function will not start', 'nothing injected')}\n`);
      return 2;
    }
    io.stderr(`kubectl pando ${command}: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  run(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: () => readFileSync(0, 'utf8'),
    env: process.env,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`kubectl pando: ${String(error?.stack ?? error)}\n`);
      process.exitCode = 1;
    },
  );
}
