// The original instructions install and upgrade from an OCI registry and warn that the sidecar
// image must be pullable. Here a real registry (harness/registry.ts: CNCF Distribution on
// 127.0.0.1, TLS, htpasswd) serves both: helm registry login, task chart:push, the install and the
// original upgrade line from oci:// (only the host differs), then the sidecar stand-in pushed by
// crane under a tag the node never imported, pulled by the node's containerd: refused without a
// pull Secret (the pod says so, kubectl pando check names the fix), run once the Secret is there.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectl, kubectlOk } from '../harness/kubeconfig';
import { enableNamespace } from '../harness/namespaces';
import { helmInstall, LOCAL_LICENSE, LOCAL_VALUES, RELEASE, SYSTEM_NAMESPACE } from '../harness/release';
import { helmUpgrade, waitForWebhook } from '../harness/webhook';
import { imageArchive } from '../harness/images';
import { waitFor } from '../harness/processes';
import { registryEnv, startRegistry, stopRegistry, v2Status, type RegistryState } from '../harness/registry';
import { REPO } from '../harness/tools';
import { cluster, containersNamed, pando, PROTECT, SIDECAR, unique, type Obj } from './context';
import { ARCHIVE, IMAGE } from '../../scripts/image';

const namespace = unique('registry');
const PULL_SECRET = 'pando-registry';
let registry: RegistryState;
let env: NodeJS.ProcessEnv;
let privateSidecar = '';

/** A command of the tools directory (helm, task, crane ...) as a user of this registry runs it. */
function run(command: string, args: string[], input?: string) {
  const result = spawnSync(join(cluster.tools, command), args, { input, encoding: 'utf8', env, cwd: REPO, maxBuffer: 16 << 20 });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

const login = (password: string) => run('helm', ['registry', 'login', registry.host, '--username', registry.user, '--password-stdin'], `${password}\n`);
const basic = () => `Basic ${Buffer.from(`${registry.user}:${registry.password}`).toString('base64')}`;
/** Requests the registry answered 200 to the htpasswd user, by URI prefix (its own log, one line per response). */
const served = (uri: string) =>
  readFileSync(join(cluster.dir, 'logs', 'registry.log'), 'utf8')
    .split('\n')
    .filter(
      (line) =>
        line.includes('msg="response completed"') &&
        line.includes(`auth.user.name=${registry.user} `) &&
        line.includes(`http.request.uri=${uri}`) &&
        line.includes('http.response.status=200 '),
    );
const chartRef = () => `oci://${registry.host}/charts/pando-webhook`;
const manifestGets = () => served('/v2/charts/pando-webhook/manifests/');

test.before(async () => {
  registry = await startRegistry(cluster, (line) => console.log(`registry: ${line}`));
  env = registryEnv(cluster, registry);
  privateSidecar = `${registry.host}/pando/sidecar-standin:private`;
});

test.after(async () => {
  kubectl(cluster, ['label', 'namespace', namespace, 'pandocore.xyz/enabled-']);
  kubectl(cluster, ['delete', 'namespace', namespace, '--wait=false']);
  kubectl(cluster, ['-n', SYSTEM_NAMESPACE, 'delete', 'secret', PULL_SECRET, '--ignore-not-found']);
  // The install as up made it: the local chart, its values, no private sidecar.
  helmInstall(cluster);
  await waitForWebhook(cluster);
  await stopRegistry(cluster);
});

test('the registry asks for credentials: anonymous and a wrong password are refused, helm registry login with the right one succeeds', async () => {
  assert.is(await v2Status(registry), 401);
  const wrong = login('not-the-password');
  assert.is.not(wrong.code, 0);
  assert.match(wrong.stderr, /401|unauthorized/i);
  const right = login(registry.password);
  assert.is(right.code, 0, right.stderr);
  assert.match(right.stdout + right.stderr, /Login Succeeded/);
  assert.is(await v2Status(registry, basic()), 200);
});

test('task chart:push REGISTRY=oci://<local>/charts: the packaged chart is in the registry', async () => {
  const push = run('task', ['--dir', REPO, 'chart:push', `REGISTRY=oci://${registry.host}/charts`]);
  assert.is(push.code, 0, push.stdout + push.stderr);
  const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
  assert.match(push.stdout + push.stderr, new RegExp(`Pushed: ${registry.host}/charts/pando-webhook:${version}`));
  const shown = run('helm', ['show', 'chart', chartRef(), '--version', version]);
  assert.is(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^name: pando-webhook$/m);
});

test('helm upgrade --install from oci://<local>/charts/pando-webhook: the release comes from the registry and serves', async () => {
  const before = manifestGets().length;
  const install = run('helm', [
    'upgrade',
    '--install',
    RELEASE,
    chartRef(),
    '--namespace',
    SYSTEM_NAMESPACE,
    '--create-namespace',
    '--set',
    `licenseKey=${LOCAL_LICENSE}`,
    ...[...LOCAL_VALUES, ...cluster.helmSet].flatMap((value) => ['--set', value]),
  ]);
  assert.is(install.code, 0, install.stderr);
  assert.match(install.stdout + install.stderr, new RegExp(`Pulled: ${registry.host}/charts/pando-webhook`));
  assert.ok(manifestGets().length > before, 'the registry served the chart to the authenticated user');
  await waitForWebhook(cluster);
});

test('the original upgrade line, only the host differs: helm upgrade pando-webhook oci://<local>/charts/pando-webhook --set licenseKey=...', async () => {
  const before = manifestGets().length;
  try {
    const upgrade = run('helm', ['upgrade', 'pando-webhook', chartRef(), '--namespace', 'pando-system', '--set', `licenseKey=${LOCAL_LICENSE}`]);
    assert.is(upgrade.code, 0, upgrade.stderr);
    assert.ok(manifestGets().length > before, 'the registry served the chart');
    const values = run('helm', ['get', 'values', 'pando-webhook', '-n', 'pando-system']);
    assert.match(values.stdout, new RegExp(`licenseKey: ${LOCAL_LICENSE}`));
  } finally {
    // Without --reuse-values that upgrade reset the release to the chart's defaults (platform
    // knative, the upstream image): the local install back.
    helmInstall(cluster);
    await waitForWebhook(cluster);
  }
});

test('crane pushes the sidecar stand-in under a tag the node never imported', () => {
  const archive = join(registry.dir, 'sidecar-private.tar');
  writeFileSync(archive, imageArchive(privateSidecar, 'sidecar-standin', readFileSync(join(cluster.tools, 'sidecar-standin'))));
  const push = run('crane', ['push', archive, privateSidecar]);
  assert.is(push.code, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`^${registry.host}/pando/sidecar-standin@sha256:[0-9a-f]{64}$`, 'm'));
  const socket = join(cluster.node!.dir, 'containerd', 'containerd.sock');
  const images = spawnSync(join(cluster.tools, 'ctr'), ['--address', socket, '--namespace', 'k8s.io', 'images', 'ls', '-q'], { encoding: 'utf8' });
  assert.is(images.status, 0, images.stderr);
  assert.not.ok(images.stdout.includes(registry.host), images.stdout);
});

test('crane pushes the webhook image npm run image built (its archive, as a release pipeline would); its config reads back from the registry', () => {
  const webhookImage = `${registry.host}/pando/pando-webhook:${IMAGE.split(':').at(-1)}`;
  const push = run('crane', ['push', ARCHIVE, webhookImage]);
  assert.is(push.code, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`^${escape(registry.host)}/pando/pando-webhook@sha256:[0-9a-f]{64}$`, 'm'));
  const read = run('crane', ['config', webhookImage]);
  assert.is(read.code, 0, read.stderr);
  const { config } = JSON.parse(read.stdout);
  assert.ok(config.User && !['root', '0'].includes(config.User.split(':')[0]), `runs as non-root: ${config.User}`);
  assert.match(JSON.stringify([...(config.Entrypoint ?? []), ...(config.Cmd ?? [])]), /node/);
});

const podJson = (name: string): Obj => JSON.parse(kubectlOk(cluster, ['-n', namespace, 'get', 'pod', name, '-o', 'json']));
const sidecarStatus = (pod: Obj): Obj | undefined =>
  [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s: Obj) => s.name === SIDECAR);
const runPod = (name: string) =>
  kubectlOk(cluster, ['-n', namespace, 'run', name, '--image=pando.local/app-standin:dev', `--labels=${Object.entries(PROTECT)[0].join('=')}`]);

/** Waits until the node's pull of the pod's sidecar is refused; the kubelet's reason and message. */
async function pullRefused(name: string): Promise<Obj> {
  let waiting: Obj = {};
  await waitFor(
    `the sidecar pull of ${name} refused`,
    async () => {
      waiting = sidecarStatus(podJson(name))?.state?.waiting ?? {};
      return ['ErrImagePull', 'ImagePullBackOff'].includes(waiting.reason);
    },
    90_000,
  );
  const events = kubectlOk(cluster, ['-n', namespace, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json']);
  assert.match(events, /401 Unauthorized|failed to authorize|no basic auth credentials/i);
  console.log(`registry: ${name}: ${waiting.reason}: ${waiting.message ?? ''}`.slice(0, 400));
  return waiting;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a private sidecar image and no pull Secret configured: the pull is refused, check names sidecar.imagePullSecrets and enable --pull-secret-from', async () => {
  await helmUpgrade(cluster, [`sidecar.image=${privateSidecar}`]);
  enableNamespace(cluster, namespace);
  runPod('no-config');
  await pullRefused('no-config');
  assert.is(containersNamed(podJson('no-config'), SIDECAR)[0].image, privateSidecar);

  const check = pando(['check', '-n', namespace]);
  assert.is(check.code, 1, check.stdout);
  assert.match(check.stdout, /\[ok\] +image pull Secrets of the sidecar: none configured/);
  assert.match(
    check.stdout,
    new RegExp(
      `\\[FAIL\\] the sidecar image pulled for protected pods: the node cannot pull ${escape(privateSidecar)}: no-config (ErrImagePull|ImagePullBackOff)`,
    ),
  );
  assert.match(
    check.stdout,
    new RegExp(escape(`--set 'sidecar.imagePullSecrets={regcred}', then kubectl pando enable ${namespace} --pull-secret-from ${SYSTEM_NAMESPACE}/regcred`)),
  );
});

test('sidecar.imagePullSecrets set, the Secret missing in the namespace: the pod carries its name, the pull is still refused, check names the fix', async () => {
  await helmUpgrade(cluster, [`sidecar.imagePullSecrets={${PULL_SECRET}}`]);
  runPod('no-secret');
  await pullRefused('no-secret');
  assert.equal(podJson('no-secret').spec.imagePullSecrets, [{ name: PULL_SECRET }]);

  const check = pando(['check', '-n', namespace]);
  assert.is(check.code, 1, check.stdout);
  assert.match(check.stdout, new RegExp(escape(`${PULL_SECRET} missing (the node cannot pull ${privateSidecar} for injected pods)`)));
  assert.match(check.stdout, new RegExp(escape(`kubectl pando enable ${namespace} --pull-secret-from ${SYSTEM_NAMESPACE}/${PULL_SECRET}`)));
});

test('with the Secret, copied by kubectl pando enable --pull-secret-from: a new pod runs the pulled sidecar and check passes', async () => {
  kubectlOk(cluster, [
    '-n',
    SYSTEM_NAMESPACE,
    'create',
    'secret',
    'docker-registry',
    PULL_SECRET,
    `--docker-server=${registry.host}`,
    `--docker-username=${registry.user}`,
    `--docker-password=${registry.password}`,
  ]);
  const enable = pando(['enable', namespace, '--pull-secret-from', `${SYSTEM_NAMESPACE}/${PULL_SECRET}`]);
  assert.is(enable.code, 0, enable.stdout + enable.stderr);
  // Pods made before the fix: no-config has no pull Secret at all, no-secret waits out its back-off.
  kubectlOk(cluster, ['-n', namespace, 'delete', 'pod', 'no-config', 'no-secret', '--grace-period=0', '--force']);

  const pullsBefore = served('/v2/pando/sidecar-standin/manifests/').length;
  runPod('with-secret');
  await waitFor('the pod Ready with the pulled sidecar', async () => sidecarStatus(podJson('with-secret'))?.ready === true, 120_000);
  const status = sidecarStatus(podJson('with-secret'))!;
  assert.is(status.image, privateSidecar);
  assert.match(status.imageID, new RegExp(`^${escape(registry.host)}/pando/sidecar-standin@sha256:`));
  assert.ok(served('/v2/pando/sidecar-standin/manifests/').length > pullsBefore, 'the node pulled the manifest with the Secret');

  await waitFor(
    'the deleted pods gone',
    async () => kubectl(cluster, ['-n', namespace, 'get', 'pod', 'no-config', 'no-secret', '-o', 'name']).stdout.trim() === '',
    60_000,
  );
  const check = pando(['check', '-n', namespace]);
  assert.is(check.code, 0, check.stdout);
  assert.match(check.stdout, new RegExp(`${PULL_SECRET} present`));
  assert.match(check.stdout, /the sidecar image pulled for protected pods: 1 protected pod\(s\), none waiting/);
});

test.run();
