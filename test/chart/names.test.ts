// One name for each thing: every object the chart renders, under each platform and option that
// adds objects, is named as function/names.ts says, and every name there is one the chart renders.
// The TLS setup's defaults and the function's default account and license Secret are those names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RELEASE_NAMESPACE, OBJECT_NAMES } from '../../function/names';
import { loadConfig } from '../../function/config';
import { loadSetupConfig } from '../../function/tls/config';
import { helmAvailable, LICENSE, Obj, render, RELEASE } from '../support/chart';

const VARIANTS: Record<string, Obj> = {
  default: {},
  'platform=deployment': { platform: 'deployment' },
  'platform=openfaas': { platform: 'openfaas', openfaas: { adminOnlyNamespace: true } },
  'tls.certManager': { platform: 'deployment', tls: { certManager: true } },
  'metrics, namespaces': {
    metrics: { serviceMonitor: { enabled: true }, podMonitor: { enabled: true }, dashboard: { enabled: true } },
    namespaces: ['team-a'],
  },
};
const NAMES = new Set<string>(Object.values(OBJECT_NAMES));
/** The TLS setup Job's name carries a hash of what it sets up, so an upgrade runs it again. */
const isTlsJob = (o: Obj) => o.kind === 'Job' && o.metadata.name.startsWith(`${OBJECT_NAMES.tlsSetup}-`);

if (helmAvailable(test, 'the chart object names')) {
  const rendered = Object.entries(VARIANTS).map(([variant, values]) => ({ variant, objects: render({ ...LICENSE, ...values }, { tests: true }) }));

  test('every rendered object is named as function/names.ts says', () => {
    for (const { variant, objects } of rendered) {
      const strangers = objects.filter((o) => !NAMES.has(o.metadata.name) && !isTlsJob(o)).map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(strangers, [], variant);
    }
  });

  test('every name of function/names.ts is one the chart renders (none left over)', () => {
    const seen = new Set(rendered.flatMap(({ objects }) => objects.map((o) => o.metadata.name)));
    assert.equal(
      [...NAMES].filter((name) => !seen.has(name)),
      [],
    );
    assert.is(RELEASE.namespace, DEFAULT_RELEASE_NAMESPACE);
  });

  test("the names the programs fall back to are the chart's: the TLS setup's defaults, the sidecar's account and license Secret", () => {
    const objects = rendered[0].objects;
    const job = objects.find(isTlsJob)!;
    const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    const defaults = loadSetupConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    assert.equal(
      [env.PANDO_NAMESPACE, env.PANDO_SERVICE_NAME, env.PANDO_TLS_SECRET, env.PANDO_CA_SECRET, env.PANDO_WEBHOOK_CONFIGURATION],
      [defaults.namespace, defaults.serviceName, defaults.tlsSecret, defaults.caSecret, defaults.webhookConfiguration],
    );
    const mwc = objects.find((o) => o.kind === 'MutatingWebhookConfiguration')!;
    assert.is(mwc.webhooks[0].clientConfig.service.name, OBJECT_NAMES.httpsService);
    const config = loadConfig({});
    assert.equal([config.serviceAccount, config.licenseSecret.name], [OBJECT_NAMES.sidecarServiceAccount, OBJECT_NAMES.licenseSecret]);
    const withNamespace = rendered[4].objects.filter((o) => o.metadata.namespace === 'team-a' && o.metadata.name !== OBJECT_NAMES.helmTest);
    assert.equal(withNamespace.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      `RoleBinding/${OBJECT_NAMES.sidecarServiceAccount}`,
      `Secret/${OBJECT_NAMES.licenseSecret}`,
      `ServiceAccount/${OBJECT_NAMES.sidecarServiceAccount}`,
    ]);
  });
}

test.run();
