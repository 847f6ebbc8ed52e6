// One run of the TLS setup job: read both Secrets and the webhook configuration, plan, then
// write only what changed, in an order that keeps the API server trusting the serving
// certificate: CA Secret first (a key is never used before it is stored), then the caBundle,
// then the serving Secret (a certificate is never served before its CA is trusted).
import type { Logger } from '../log';
import type { SetupConfig } from './config';
import { KubeApi, mutatingWebhookPath, secretPath } from '../kube/client';
import { planTls, SecretText } from './plan';

interface Secret {
  metadata: { name: string; resourceVersion?: string };
  data?: Record<string, string> | null;
}
interface WebhookConfiguration {
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

const decode = (data: Record<string, string> | null | undefined): SecretText =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const encode = (text: SecretText) => Object.fromEntries(Object.entries(text).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));

export interface SetupResult {
  wrote: string[];
}

export async function runSetup(config: SetupConfig, api: KubeApi, log: Logger, now = new Date()): Promise<SetupResult> {
  const caPath = secretPath(config.namespace, config.caSecret);
  const tlsPath = secretPath(config.namespace, config.tlsSecret);
  const mwcPath = mutatingWebhookPath(config.webhookConfiguration);
  const [caSecret, tlsSecret, mwc] = [await api.get<Secret>(caPath), await api.get<Secret>(tlsPath), await api.get<WebhookConfiguration>(mwcPath)];
  const webhooks = mwc.webhooks ?? [];
  if (webhooks.length === 0) log('warn', 'the webhook configuration has no webhooks to give a caBundle', { name: config.webhookConfiguration });

  const plan = await planTls(
    {
      ca: decode(caSecret.data),
      serving: decode(tlsSecret.data),
      bundles: webhooks.map((w) => decode({ b: w.clientConfig?.caBundle ?? '' }).b),
    },
    { caName: `${config.serviceName}.${config.namespace} CA`, dnsNames: config.dnsNames, renewBeforeDays: config.renewBeforeDays, now },
  );
  for (const event of plan.events) log('info', event.msg, { ...event });

  const wrote: string[] = [];
  const putSecret = async (path: string, current: Secret, data: SecretText) => {
    await api.put(path, { ...current, apiVersion: 'v1', kind: 'Secret', data: encode(data) });
    wrote.push(path);
    log('info', 'secret written', { name: current.metadata.name, keys: Object.keys(data).sort() });
  };
  if (plan.ca) await putSecret(caPath, caSecret, plan.ca);
  if (plan.bundle) {
    const caBundle = Buffer.from(plan.bundle).toString('base64');
    // test ops: fail rather than patch the wrong webhook if the list changed since we read it
    await api.jsonPatch(
      mwcPath,
      webhooks.flatMap((w, i) => [
        { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
        { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
      ]),
    );
    wrote.push(mwcPath);
    log('info', 'caBundle written', { name: config.webhookConfiguration, webhooks: webhooks.map((w) => w.name) });
  }
  if (plan.serving) await putSecret(tlsPath, tlsSecret, plan.serving);
  log('info', 'TLS setup done', { changed: wrote.length > 0, wrote });
  return { wrote };
}
