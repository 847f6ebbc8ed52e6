// The four servers compared over HTTP, each a child process on loopback, with the check that
// its one answer is right before any load is sent.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { admit } from '../function/admit';
import type { Config } from '../function/config';
import { Child, firstAnswer, freePort, startChild } from './processes';

/** The shipping build (npm run build, npm run bundle). */
export const DIST = join(__dirname, '..', '..', 'dist');
/** The image's command: node dist/serve.js, the esbuild bundle of function/main.ts. */
export const PRODUCTION_ENTRY = join(DIST, 'serve.js');
/** Node's flags in the image's command (Dockerfile CMD, checked by test/image.test.ts): a 2 MB
 * young generation keeps RSS near the floor's; the host's per-request garbage dies young. */
export const IMAGE_NODE_FLAGS = ['--max-semi-space-size=2'];
/** The same host, unbundled (tsc output). */
export const UNBUNDLED_ENTRY = join(DIST, 'function', 'main.js');
export const HELLO_ENTRY = join(__dirname, 'servers', 'hello.js');
// The package's `functions-framework` bin, beside its main module (the path is not exported).
const FF_CLI = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');

/** Node 20 for the comparison rows: PANDO_BENCH_NODE20, else Debian's /usr/bin/node. */
export const NODE20 = process.env.PANDO_BENCH_NODE20 ?? '/usr/bin/node';

export interface ServerSpec {
  key: 'floor' | 'floor_https' | 'ff_noop' | 'webhook_http' | 'webhook_https' | 'webhook_http_metrics_off' | 'floor_node20' | 'webhook_http_node20';
  label: string;
  start(): Promise<{ child: Child; url: string }>;
}

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl; removed by `cleanup`. */
export function throwawayCert() {
  const dir = mkdtempSync(join(tmpdir(), 'pando-bench-'));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ExtraServers {
  /** The bench-only bundle without metrics (bench/metrics-off.ts). */
  metricsOffEntry?: string;
  /** A Node 20 binary, for the floor and the webhook on it. */
  node20?: string;
}

export function serverSpecs(tls: { certFile: string; keyFile: string }, extra: ExtraServers = {}): ServerSpec[] {
  const onPort = (label: string, args: string[], node?: string) => async () => {
    const port = await freePort();
    return {
      child: startChild([...args, ...(label === 'ff' ? [`--port=${port}`] : [])], { PORT: String(port) }, node),
      url: `http://127.0.0.1:${port}/?timeout=10s`,
    };
  };
  const floor = join(__dirname, 'servers', 'floor.js');
  return [
    { key: 'floor', label: 'node:http JSON floor', start: onPort('floor', [floor]) },
    {
      key: 'floor_https',
      label: 'node:https JSON floor',
      start: async () => {
        const port = await freePort();
        const child = startChild([floor], { PORT: String(port), TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile });
        return { child, url: `https://127.0.0.1:${port}/?timeout=10s` };
      },
    },
    { key: 'ff_noop', label: 'functions-framework no-op', start: onPort('ff', [FF_CLI, '--target=noop', `--source=${join(__dirname, 'servers', 'noop.js')}`]) },
    { key: 'webhook_http', label: 'webhook, HTTP (metrics on)', start: onPort('webhook', [...IMAGE_NODE_FLAGS, PRODUCTION_ENTRY]) },
    {
      key: 'webhook_https',
      label: 'webhook, HTTPS keep-alive',
      start: async () => {
        const port = await freePort();
        const child = startChild([...IMAGE_NODE_FLAGS, PRODUCTION_ENTRY], {
          PORT: '0',
          PANDO_TLS_PORT: String(port),
          PANDO_TLS_CERT_FILE: tls.certFile,
          PANDO_TLS_KEY_FILE: tls.keyFile,
        });
        return { child, url: `https://127.0.0.1:${port}/?timeout=10s` };
      },
    },
    ...(extra.metricsOffEntry
      ? [
          {
            key: 'webhook_http_metrics_off' as const,
            label: 'webhook, HTTP, metrics off (bench-only build)',
            start: onPort('webhook', [...IMAGE_NODE_FLAGS, extra.metricsOffEntry]),
          },
        ]
      : []),
    ...(extra.node20
      ? [
          { key: 'floor_node20' as const, label: 'node:http JSON floor, Node 20', start: onPort('floor', [floor], extra.node20) },
          {
            key: 'webhook_http_node20' as const,
            label: 'webhook, HTTP (metrics on), Node 20',
            start: onPort('webhook', [...IMAGE_NODE_FLAGS, PRODUCTION_ENTRY], extra.node20),
          },
        ]
      : []),
  ];
}

/** What each server must answer to the benchmark body: the fixed JSON, or the core's own answer. */
export function expectedAnswer(key: ServerSpec['key'], body: string, config: Config): unknown {
  if (key.startsWith('floor') || key === 'ff_noop') return { ok: true };
  const result = admit(JSON.parse(body), config);
  if (!result.ok || !result.review.response.patch) throw new Error('the benchmark body must be a pod the webhook injects');
  return result.review;
}

/** Starts a server and checks its first answer; throws (after stopping it) if it is wrong. */
export async function startChecked(spec: ServerSpec, body: string, config: Config) {
  const { child, url } = await spec.start();
  try {
    const answer = await firstAnswer(url, body, 10_000, child.process);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = undefined;
    }
    if (answer.status !== 200 || !isDeepStrictEqual(parsed, expectedAnswer(spec.key, body, config))) {
      throw new Error(`${spec.label} answered wrongly (HTTP ${answer.status}): ${answer.text.slice(0, 300)}`);
    }
    return { child, url };
  } catch (error) {
    await child.stop();
    throw new Error(`${(error as Error).message}\n${child.stderr()}`, { cause: error });
  }
}
