// fast-check generators of admission reviews: realistic pods as the API server sends them
// (admittedPod over arbitrary containers, labels, annotations and pod settings), the same with
// arbitrary JSON put at any path, and arbitrary values as the whole body.
import fc from 'fast-check';
import { admittedPod, reviewFor, ReviewOptions } from '../apiserver';

const dnsLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,14}[a-z0-9])?$/);
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/);
const image = fc.constantFrom('nginx', 'nginx:1.27', 'registry.example.com/shop/checkout:2.14.1', 'busybox:latest', `busybox@sha256:${'a'.repeat(64)}`);
const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

const envVar = fc.oneof(
  fc.record({ name: envName, value: fc.string({ maxLength: 40 }) }),
  fc.record({ name: envName, valueFrom: fc.record({ secretKeyRef: fc.record({ name: dnsLabel, key: fc.stringMatching(/^[a-z.]{1,12}$/) }) }) }),
  fc.record({ name: envName, valueFrom: fc.record({ fieldRef: fc.record({ fieldPath: fc.constantFrom('metadata.name', 'status.podIP') }) }) }),
);

const container = (names: fc.Arbitrary<string>) =>
  fc.record(
    {
      name: names,
      image,
      env: fc.array(envVar, { maxLength: 4 }),
      args: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
      ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 2 }),
      volumeMounts: fc.array(fc.record({ name: dnsLabel, mountPath: fc.constantFrom('/data', '/cache', TOKEN_PATH) }), { maxLength: 2 }),
      securityContext: fc.record({ runAsUser: fc.integer({ min: 0, max: 70000 }), privileged: fc.boolean() }, { requiredKeys: [] }),
    },
    { requiredKeys: ['name', 'image'] },
  );

const containerList = (min: number) =>
  fc.uniqueArray(container(fc.oneof({ weight: 20, arbitrary: dnsLabel }, { weight: 1, arbitrary: fc.constant('pando-sidecar') })), {
    selector: (c) => c.name,
    minLength: min,
    maxLength: 4,
  });

const labels = fc
  .record({
    protect: fc.oneof({ weight: 8, arbitrary: fc.constant('true') }, { weight: 2, arbitrary: fc.constantFrom(undefined, 'false', 'TRUE', '') }),
    others: fc.dictionary(fc.stringMatching(/^([a-z]{1,8}\.io\/)?[a-z][-a-z0-9]{0,10}$/), fc.stringMatching(/^[a-z0-9]{0,10}$/), { maxKeys: 4 }),
  })
  .map(({ protect, others }) => (protect === undefined ? others : { ...others, 'pandocore.xyz/protect': protect }));

const annotations = fc
  .record({
    mode: fc.option(fc.oneof(fc.constantFrom('monitor', 'enforce', 'debug', 'audit', ''), fc.string({ maxLength: 300 })), { nil: undefined }),
    others: fc.dictionary(fc.stringMatching(/^[a-z]{1,10}$/), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
  })
  .map(({ mode, others }) => (mode === undefined ? others : { ...others, 'pandocore.xyz/mode': mode }));

export const podInput = fc.record({
  metadata: fc.record({ name: dnsLabel, generateName: dnsLabel.map((n) => `${n}-`), labels, annotations }, { requiredKeys: [] }),
  spec: fc.record(
    {
      containers: containerList(1),
      initContainers: containerList(0),
      hostPID: fc.boolean(),
      hostNetwork: fc.boolean(),
      shareProcessNamespace: fc.boolean(),
      serviceAccountName: fc.constantFrom('default', 'pando-sidecar', 'app-sa', ''),
      automountServiceAccountToken: fc.boolean(),
      restartPolicy: fc.constantFrom('Always', 'OnFailure', 'Never'),
      os: fc.record({ name: fc.constantFrom('linux', 'windows') }),
      priorityClassName: dnsLabel,
    },
    { requiredKeys: ['containers'] },
  ),
});

const rarely = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const reviewOptions: fc.Arbitrary<ReviewOptions> = fc.record({
  uid: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 60 })),
  operation: fc.oneof(
    { weight: 8, arbitrary: fc.constant('CREATE' as const) },
    { weight: 2, arbitrary: fc.constantFrom('UPDATE', 'DELETE', 'CONNECT') as fc.Arbitrary<ReviewOptions['operation']> },
  ),
  subResource: rarely(fc.constantFrom('ephemeralcontainers', 'binding', 'status')),
  dryRun: fc.boolean(),
  kind: rarely(fc.constant({ group: 'apps', version: 'v1', kind: 'Deployment' })),
});

const namespace = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom('shop', 'team-a', 'default') },
  { weight: 1, arbitrary: fc.constantFrom('kube-system', 'pando-system') },
);

/** A review of a pod the way the API server sends it. */
export const realisticReview = fc
  .record({ pod: podInput, namespace, options: reviewOptions })
  .map(({ pod, namespace: ns, options }) => reviewFor(admittedPod(pod, ns), options));

/** Every path (as keys) to a value inside the value. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function mutate(review: any, choice: number, value: unknown, how: 'replace' | 'delete' | 'add', key: string) {
  const paths = pathsOf(review).slice(1);
  const path = paths[choice % paths.length];
  let parent = review;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1];
  if (how === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (how === 'add' && parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) {
    parent[last][key] = value;
  } else parent[last] = value;
  return review;
}

/** A realistic review with one value anywhere replaced by arbitrary JSON, deleted, or given an extra key. */
export const mutatedReview = fc
  .tuple(
    realisticReview,
    fc.nat(),
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<'replace' | 'delete' | 'add'>,
    fc.string({ maxLength: 12 }),
  )
  .map(([review, choice, value, how, key]) => mutate(review, choice, value, how, key));

/** Any value at all as the body, or an envelope holding arbitrary values. */
export const arbitraryBody = fc.oneof(
  fc.anything(),
  fc.jsonValue(),
  fc.record({ apiVersion: fc.constant('admission.k8s.io/v1'), kind: fc.constant('AdmissionReview'), request: fc.anything() }),
  fc.record({
    apiVersion: fc.constant('admission.k8s.io/v1'),
    kind: fc.constant('AdmissionReview'),
    request: fc.record({ uid: fc.string(), kind: fc.jsonValue(), resource: fc.jsonValue(), operation: fc.jsonValue(), object: fc.jsonValue() }),
  }),
);

export const anyReview = fc.oneof({ weight: 5, arbitrary: realisticReview }, { weight: 4, arbitrary: mutatedReview }, { weight: 1, arbitrary: arbitraryBody });
