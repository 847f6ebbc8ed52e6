import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ENV, loadConfig, loadServerConfig } from '../config';
import { coerceLike, DEFAULT_VALUES, envFromValues, parseValues, valueAt, ValuesError } from './values';
import { knativeService } from './workload';
import { VARIANTS } from './variants';

const ROOT = join(__dirname, '..', '..', '..');

const problemsOf = (raw: unknown): string[] => {
  try {
    parseValues(raw);
  } catch (error) {
    if (error instanceof ValuesError) return error.problems;
    throw error;
  }
  return [];
};

test('defaults keep the seed Helm names and values', () => {
  assert.is(DEFAULT_VALUES.defaultMode, 'monitor');
  assert.equal(DEFAULT_VALUES.excludedNamespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
  assert.is(DEFAULT_VALUES.replicas, 2);
  assert.is(DEFAULT_VALUES.tls.certManager, false);
  assert.is(DEFAULT_VALUES.safetyNet.deny, false);
  assert.is(DEFAULT_VALUES.namespace, 'pando-system');
  assert.is(DEFAULT_VALUES.sidecar.image, ENV.PANDO_SIDECAR_IMAGE.default);
  assert.is(DEFAULT_VALUES.licenseKey, undefined);
});

test('every env variable maps to exactly one value path, and no two share one', () => {
  const paths = Object.values(ENV).map((spec) => spec.value as string);
  assert.is(new Set(paths).size, paths.length);
  for (const path of paths) assert.ok(valueAt(DEFAULT_VALUES, path) !== undefined, `${path} is not a value`);
});

test('the default value of each mapped setting is the function default', () => {
  const env = envFromValues(DEFAULT_VALUES);
  for (const [name, spec] of Object.entries(ENV)) assert.is(env[name as keyof typeof ENV], spec.default, name);
});

test('every rendered env var passes loadConfig and means the value it came from, for every variant', () => {
  for (const [variant, raw] of Object.entries(VARIANTS)) {
    const values = parseValues(raw);
    const container = knativeService(values).spec?.template?.spec?.containers[0];
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    const config = loadConfig(env);
    assert.is(config.defaultMode, values.defaultMode, variant);
    assert.equal([...config.excludedNamespaces], values.excludedNamespaces, variant);
    assert.is(config.sidecarImage, values.sidecar.image, variant);
    assert.is(config.systemNamespace, values.namespace, variant);
    for (const [name, spec] of Object.entries(ENV)) {
      const decoded = (spec.schema as { parse(x: unknown): unknown }).parse(env[name]);
      assert.equal(decoded, valueAt(values, spec.value), `${variant}: ${name}`);
    }
    // The server config too, with the PORT Knative sets from the declared containerPort.
    const server = loadServerConfig({ ...env, PORT: String(container?.ports?.[0].containerPort) });
    assert.is(server.port, 8080);
    if (values.webhook.route === 'direct') assert.equal(server.tls, { port: 8443, certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' }, variant);
    else assert.is(server.tls, undefined, variant);
  }
});

test('bad values are all reported at once, each by its path', () => {
  const problems = problemsOf({
    defaultMode: 'loud',
    excludedNamespaces: ['ok', 'Not_OK'],
    replicas: 0,
    sidecar: { image: 'Bad Image', probe: { periodSeconds: 0 }, colour: 'red' },
    tls: { certManagr: true },
    webhook: { timeoutSeconds: 30 },
  });
  const text = problems.join('\n');
  for (const path of ['defaultMode', 'excludedNamespaces.1', 'replicas', 'sidecar.image', 'sidecar.probe.periodSeconds', 'sidecar.colour', 'tls.certManagr', 'webhook.timeoutSeconds']) {
    assert.ok(problems.some((p) => p.startsWith(`${path}:`) || p.startsWith(`${path},`)), `${path} missing in:\n${text}`);
  }
  assert.is(problems.length, 8, text);
});

test('cross-field rules: maxReplicas below replicas, cert-manager with the Knative route', () => {
  assert.ok(problemsOf({ replicas: 4, maxReplicas: 3 })[0].startsWith('maxReplicas:'));
  assert.ok(problemsOf({ tls: { certManager: true }, webhook: { route: 'knative-local-tls' } })[0].startsWith('tls.certManager:'));
});

test('renewal starts before the shortest certificate (cert-manager: 90 days) ends', () => {
  assert.ok(problemsOf({ tls: { certManager: true, renewBeforeDays: 100 } })[0].startsWith('tls.renewBeforeDays:'));
  assert.is(problemsOf({ tls: { renewBeforeDays: 60 } }).length, 0);
});

test('the sidecar probe ranges are the function own ones (1-300 s period)', () => {
  assert.equal(problemsOf({ sidecar: { probe: { periodSeconds: 300 } } }), []);
  assert.is(problemsOf({ sidecar: { probe: { periodSeconds: 301 } } }).length, 1);
});

test('scalars take the type of the default: --set strings and YAML numbers', () => {
  assert.equal(coerceLike({ a: 1, b: 'x', c: true, d: ['x'] }, { a: '3', b: 1, c: 'false', d: 'p, q' }), { a: 3, b: '1', c: false, d: ['p', 'q'] });
  assert.equal(coerceLike({ a: 1 }, { a: 'three' }), { a: 'three' }); // left for the schema to report
  assert.is(parseValues({ resources: { limits: { cpu: 2 } } }).resources.limits.cpu, '2');
  assert.is(parseValues({ replicas: '3', maxReplicas: '8' }).replicas, 3);
});

test('manifests/values.yaml documents exactly the defaults', () => {
  const doc = parse(readFileSync(join(ROOT, 'manifests', 'values.yaml'), 'utf8'));
  assert.equal(parseValues(doc), DEFAULT_VALUES);
  assert.equal(doc, JSON.parse(JSON.stringify(DEFAULT_VALUES)));
});

test.run();
