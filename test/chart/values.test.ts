// The zod values schema: the one source of the chart's values.schema.json and of the function's
// env settings. Helm-rendered checks live in chart.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ENV } from '../../function/config';
import { DEFAULT_VALUES, INSTALL_TIME_DEFAULTS, parseValues, valueAt, VALUE_OF_ENV, valuesJsonSchema, ValuesError } from '../../scripts/chart-values';

const CHART = join(__dirname, '..', '..', '..', 'manifests', 'pando-webhook');
const LICENSED = { licenseKey: 'k' };

const problemsOf = (raw: object): string[] => {
  try {
    parseValues({ ...LICENSED, ...raw });
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
  assert.is(DEFAULT_VALUES.sidecar.image, ENV.PANDO_SIDECAR_IMAGE.default);
  assert.is(DEFAULT_VALUES.licenseKey, '');
  assert.is(DEFAULT_VALUES.platform, 'knative');
});

test('every env variable but the release namespace maps to one value path, and no two share one', () => {
  const paths = Object.values(VALUE_OF_ENV).filter((p): p is string => p !== null);
  assert.is(paths.length, Object.keys(ENV).length - 1);
  assert.is(new Set(paths).size, paths.length);
  for (const path of paths) assert.ok(valueAt(DEFAULT_VALUES, path) !== undefined, `${path} is not a value`);
});

test('the default of each mapped value is the function default', () => {
  for (const [name, spec] of Object.entries(ENV)) {
    const path = VALUE_OF_ENV[name as keyof typeof ENV];
    if (path === null) continue;
    const decoded = (spec.schema as { parse(x: unknown): unknown }).parse(spec.default);
    const expected = name in INSTALL_TIME_DEFAULTS ? INSTALL_TIME_DEFAULTS[name as keyof typeof ENV] : decoded;
    assert.equal(valueAt(DEFAULT_VALUES, path), expected, name);
  }
});

test("the chart's values.yaml documents exactly the defaults", () => {
  const doc = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  assert.equal(doc, JSON.parse(JSON.stringify(DEFAULT_VALUES)));
});

test('licenseKey is required unless the chart does not store the license', () => {
  assert.equal(problemsOf({ licenseKey: '' }), ['licenseKey: is required (--set licenseKey=YOUR_LICENSE_KEY), unless license.create is false']);
  assert.equal(problemsOf({ licenseKey: '', license: { create: false } }), []);
});

test('bad values are all reported at once, each by its path', () => {
  const problems = problemsOf({
    defaultMode: 'loud',
    excludedNamespaces: ['ok', 'Not_OK'],
    replicas: 0,
    sidecar: { image: 'Bad Image', probe: { periodSeconds: 0 }, colour: 'red' },
    tls: { certManagr: true },
    webhook: { timeoutSeconds: 30 },
    platform: 'lambda',
  });
  const text = problems.join('\n');
  for (const path of [
    'defaultMode',
    'excludedNamespaces.1',
    'replicas',
    'sidecar.image',
    'sidecar.probe.periodSeconds',
    'sidecar.colour',
    'tls.certManagr',
    'webhook.timeoutSeconds',
    'platform',
  ]) {
    assert.ok(
      problems.some((p) => p.startsWith(`${path}:`) || p.startsWith(`${path},`)),
      `${path} missing in:\n${text}`,
    );
  }
  assert.is(problems.length, 9, text);
});

test('cross-field rules: maxReplicas below replicas, cert-manager with the Knative route', () => {
  assert.ok(problemsOf({ replicas: 4, maxReplicas: 3 })[0].startsWith('maxReplicas:'));
  assert.ok(problemsOf({ tls: { certManager: true }, webhook: { route: 'knative-local-tls' } })[0].startsWith('tls.certManager:'));
});

test('renewal starts before the shortest certificate (cert-manager: 90 days) ends', () => {
  assert.ok(problemsOf({ tls: { certManager: true, renewBeforeDays: 100 } })[0].startsWith('tls.renewBeforeDays:'));
  assert.is(problemsOf({ tls: { renewBeforeDays: 60 } }).length, 0);
});

test("the sidecar probe ranges are the function's own (1-300 s period)", () => {
  assert.equal(problemsOf({ sidecar: { probe: { periodSeconds: 300 } } }), []);
  assert.is(problemsOf({ sidecar: { probe: { periodSeconds: 301 } } }).length, 1);
});

test('the JSON schema refuses unknown keys at every level and states the license rule', () => {
  const schema = valuesJsonSchema() as any;
  assert.is(schema.additionalProperties, false);
  assert.is(schema.properties.sidecar.additionalProperties, false);
  assert.is(schema.properties.sidecar.properties.resources.properties.limits.additionalProperties, false);
  assert.equal(schema.else, { properties: { licenseKey: { minLength: 1 } }, required: ['licenseKey'] });
  assert.equal(schema.properties.platform.enum, ['knative', 'deployment', 'openfaas']);
  assert.is(schema.properties.replicas.minimum, 1);
});

test.run();
