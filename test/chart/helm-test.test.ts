// helm test pando-webhook (templates/tests/check.yaml), as the real helm renders it: every object
// is a test hook deleted after success, the account may do only what the test does, the pod runs
// our image as restricted Pod Security wants, and its command, run with exactly the rendered
// rights against the fake API holding an install, passes (and fails when the webhook does not
// inject). The e2e part (helm test on the local cluster) waits for the webhook to run as pods.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECK_IDS, runChecks } from '../../cli/check';
import { Kube } from '../../cli/kube';
import { OBJECT_NAMES } from '../../function/names';
import { parsePath } from '../support/fake-api';
import { restrictedProblems } from '../support/podsecurity';
import { installed, onFakeApi } from '../support/installed';
import { helmAvailable, LICENSE, Obj, render, RELEASE } from '../support/chart';

const isTestHook = (o: Obj) => o.metadata?.annotations?.['helm.sh/hook'] === 'test';
const testObjects = (values: Obj) => render({ ...LICENSE, ...values }, { tests: true }).filter(isTestHook);
const VERBS: Record<string, string> = { GET: 'get', POST: 'create', PATCH: 'patch', PUT: 'update', DELETE: 'delete' };

/** Whether the rendered Roles and ClusterRoles let the test's account make this request (RBAC's rules, for the paths the plugin uses). */
function rbacAllows(objects: Obj[], method: string, path: string): boolean {
  const at = parsePath(path);
  if (!at) return false;
  const group = at.group === 'api/v1' ? '' : at.group.split('/')[1];
  const proxy = at.sub[0] === 'proxy';
  const resource = proxy ? `${at.plural}/proxy` : at.plural;
  const verb = method === 'GET' && at.name === undefined ? 'list' : VERBS[method];
  return objects
    .filter((o) => (o.kind === 'ClusterRole' || (o.kind === 'Role' && o.metadata.namespace === at.namespace)) && o.metadata.name === OBJECT_NAMES.helmTest)
    .some((role) =>
      role.rules.some(
        (rule: Obj) =>
          rule.apiGroups.includes(group) &&
          rule.resources.includes(resource) &&
          rule.verbs.includes(verb) &&
          (!rule.resourceNames || rule.resourceNames.includes(at.name)),
      ),
    );
}

/** kubectl-pando's arguments in the test pod's command (a shell line, or the list). */
function checkArguments(pod: Obj): { namespace?: string; only: string[] } {
  const command: string[] = pod.spec.containers[0].command;
  const words = command[0] === 'sh' ? command[2].split(/\s+/) : command;
  const at = words.indexOf('check');
  assert.equal(words.slice(at - 2, at), ['node', 'dist/bin/kubectl-pando']);
  const flag = (name: string) => (words.includes(name) ? words[words.indexOf(name) + 1] : undefined);
  return { namespace: flag('-n'), only: flag('--only')!.split(',') };
}

if (helmAvailable(test, 'the chart test (helm test)')) {
  for (const [variant, values, namespace] of [
    ['a namespace the release enables', { namespaces: ['team-a', 'team-b'] }, 'team-a'],
    ['no namespace', {}, undefined],
  ] as const) {
    test(`${variant}: test hooks, deleted once passed, RBAC before the pod`, () => {
      const objects = testObjects(values);
      assert.equal(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(), [
        `ClusterRole//${OBJECT_NAMES.helmTest}`,
        `ClusterRoleBinding//${OBJECT_NAMES.helmTest}`,
        `Pod/${RELEASE.namespace}/${OBJECT_NAMES.helmTest}`,
        `Role/${namespace ?? RELEASE.namespace}/${OBJECT_NAMES.helmTest}`,
        `RoleBinding/${namespace ?? RELEASE.namespace}/${OBJECT_NAMES.helmTest}`,
        `ServiceAccount/${RELEASE.namespace}/${OBJECT_NAMES.helmTest}`,
      ]);
      for (const o of objects) {
        assert.is(o.metadata.annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded', o.kind);
        assert.is(Number(o.metadata.annotations['helm.sh/hook-weight'] ?? 0), o.kind === 'Pod' ? 0 : -1, o.kind);
      }
    });

    test(`${variant}: the account may read the webhook configuration and ${namespace ? `create pods in ${namespace}` : 'get the HTTPS Service through the proxy'}, nothing else`, () => {
      const rules = testObjects(values)
        .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
        .flatMap((o) => o.rules.map((r: Obj) => ({ scope: o.metadata.namespace ?? 'cluster', ...r })));
      assert.equal(rules, [
        {
          scope: 'cluster',
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['mutatingwebhookconfigurations'],
          resourceNames: [OBJECT_NAMES.webhook],
          verbs: ['get'],
        },
        namespace
          ? { scope: namespace, apiGroups: [''], resources: ['pods'], verbs: ['create'] }
          : {
              scope: RELEASE.namespace,
              apiGroups: [''],
              resources: ['services/proxy'],
              resourceNames: [OBJECT_NAMES.httpsService, `https:${OBJECT_NAMES.httpsService}:443`],
              verbs: ['get'],
            },
      ]);
    });

    test(`${variant}: the pod runs kubectl-pando from our image, restricted, with checks that exist`, () => {
      const objects = testObjects({ ...values, image: 'registry.example/pando-webhook:9.9.9' });
      const pod = objects.find((o) => o.kind === 'Pod')!;
      assert.is(pod.spec.serviceAccountName, OBJECT_NAMES.helmTest);
      assert.is(pod.spec.restartPolicy, 'Never');
      assert.is(pod.spec.containers[0].image, 'registry.example/pando-webhook:9.9.9');
      assert.equal(restrictedProblems(pod), []);
      const args = checkArguments(pod);
      assert.is(args.namespace, namespace);
      assert.equal(
        args.only.filter((id) => !CHECK_IDS.includes(id)),
        [],
      );
      assert.ok(args.only.includes(namespace ? 'dry-run-injected' : 'cabundle-verifies'));
      if (!namespace) assert.match(pod.spec.containers[0].command[2], /^echo 'no namespace is enabled by this release/);
    });

    test(`${variant}: the pod's command passes with exactly those rights on a working install, and fails when the webhook does not answer`, async () => {
      const objects = testObjects(values);
      const args = checkArguments(objects.find((o) => o.kind === 'Pod')!);
      const install = await installed();
      const cluster = namespace
        ? [...install.objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'pandocore.xyz/enabled': 'true' } } }]
        : install.objects;
      for (const webhookServing of [true, false]) {
        const fake = { ...install.cluster(cluster, { webhookServing }), allow: (method: string, path: string) => rbacAllows(objects, method, path) };
        const results = await onFakeApi(fake, (kubeconfig) => runChecks(new Kube({ kubeconfig }), { namespace: args.namespace, only: args.only }));
        assert.equal(
          results.map((r) => r.id),
          ['install-readable', ...args.only],
        );
        assert.equal(
          results.filter((r) => !r.ok).map((r) => r.id),
          webhookServing ? [] : [args.only.at(-1)],
          JSON.stringify(results),
        );
      }
    });
  }
}

test.run();
