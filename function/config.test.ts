import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from './config';
import { loadServerConfig } from './host/config';

test('an empty environment gives the documented defaults', () => {
  const config = loadConfig({});
  assert.is(config.defaultMode, 'monitor');
  assert.equal([...config.excludedNamespaces], ['kube-system', 'kube-public', 'kube-node-lease']);
  assert.is(config.systemNamespace, 'pando-system');
  assert.is(config.serviceAccount, 'pando-sidecar');
  assert.equal(config.licenseSecret, { name: 'pando-license', key: 'license-key' });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.probe));
});

test("the sidecar's UID: its own by default (not distroless nonroot's 65532), set by PANDO_SIDECAR_UID, never root", () => {
  assert.is(loadConfig({}).sidecarUid, 42311);
  assert.is.not(loadConfig({}).sidecarUid, 65532);
  assert.is(loadConfig({ PANDO_SIDECAR_UID: '5000' }).sidecarUid, 5000);
  for (const bad of ['0', '-1', 'root', '4294967296']) assert.throws(() => loadConfig({ PANDO_SIDECAR_UID: bad }), /PANDO_SIDECAR_UID/, bad);
});

test('each variable maps onto its setting', () => {
  const config = loadConfig({
    PANDO_DEFAULT_MODE: 'enforce',
    PANDO_EXCLUDED_NAMESPACES: ' team-a, team-b ,,',
    PANDO_SIDECAR_IMAGE: 'registry.example.com:5000/pando/sidecar@sha256:' + 'a'.repeat(64),
    PANDO_SIDECAR_HEALTH_PORT: '7000',
    PANDO_SIDECAR_MEMORY_LIMIT: '1Gi',
  });
  assert.is(config.defaultMode, 'enforce');
  assert.equal([...config.excludedNamespaces], ['team-a', 'team-b']);
  assert.is(config.probe.port, 7000);
  assert.is(config.resources.memoryLimit, '1Gi');
});

test('an empty exclusion list excludes nothing', () => {
  assert.is(loadConfig({ PANDO_EXCLUDED_NAMESPACES: '' }).excludedNamespaces.size, 0);
});

test('every bad variable is reported in one error, with what it accepts', () => {
  try {
    loadConfig({
      PANDO_DEFAULT_MODE: 'audit',
      PANDO_EXCLUDED_NAMESPACES: 'ok,Not_OK',
      PANDO_SIDECAR_IMAGE: 'has spaces:1',
      PANDO_SIDECAR_HEALTH_PORT: '70000',
      PANDO_SIDECAR_CPU_LIMIT: 'lots',
    });
    assert.unreachable('loadConfig accepted bad values');
  } catch (error) {
    assert.instance(error, ConfigError);
    const { problems, message } = error as ConfigError;
    assert.is(problems.length, 5);
    for (const name of ['PANDO_DEFAULT_MODE', 'PANDO_EXCLUDED_NAMESPACES', 'PANDO_SIDECAR_IMAGE', 'PANDO_SIDECAR_HEALTH_PORT', 'PANDO_SIDECAR_CPU_LIMIT']) {
      assert.ok(message.includes(name), `${name} missing from: ${message}`);
    }
    assert.match(message, /monitor.*enforce.*debug/);
  }
});

test('the server settings need certificate and key together', () => {
  assert.is(loadServerConfig({}).port, 8080);
  assert.is(loadServerConfig({ PORT: '9000' }).port, 9000);
  assert.throws(() => loadServerConfig({ PANDO_TLS_CERT_FILE: '/tls/tls.crt' }), /together/);
  assert.throws(() => loadServerConfig({ PORT: 'eighty' }), /PORT/);
  const tls = loadServerConfig({ PANDO_TLS_CERT_FILE: '/tls/tls.crt', PANDO_TLS_KEY_FILE: '/tls/tls.key' }).tls;
  assert.equal(tls, { port: 8443, certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
});

test.run();
