// Writes fixtures/<case>.request.json: AdmissionReviews as the API server sends them, each pod
// defaulted and passed through the ServiceAccount plugin (testing/apiserver.ts). Run with
// `npm run fixtures`; the expected answers beside them are rewritten by `UPDATE_GOLDEN=1 npm test`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { admittedPod, reviewFor, ReviewOptions } from '../test/support/apiserver';

type Obj = Record<string, any>;
const PROTECT = { 'pandocore.xyz/protect': 'true' };

/** A pod of a Deployment's ReplicaSet, as the controller creates it. */
function deploymentPod(edit: (pod: Obj) => void = () => {}): Obj {
  const pod: Obj = {
    metadata: {
      generateName: 'checkout-7d9f8b6c5d-',
      labels: { app: 'checkout', 'pod-template-hash': '7d9f8b6c5d', ...PROTECT },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'checkout-7d9f8b6c5d',
          uid: '3f2b8a1e-9c4d-4e7f-8a6b-2d1c0e9f8a7b',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'checkout',
          image: 'registry.example.com/shop/checkout:2.14.1',
          ports: [{ name: 'http', containerPort: 8080 }],
          env: [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'checkout-db', key: 'url' } } }],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
        },
      ],
    },
  };
  edit(pod);
  return pod;
}

const annotate = (annotations: Obj) => (pod: Obj) => {
  pod.metadata.annotations = annotations;
};

const CASES: Record<string, { pod: Obj; namespace?: string; options?: ReviewOptions; raw?: (review: Obj) => void; about: string }> = {
  'deployment-pod': { pod: deploymentPod(), about: 'labelled pod from a Deployment (generateName, no name), default mode' },
  'mode-monitor': { pod: deploymentPod(annotate({ 'pandocore.xyz/mode': 'monitor', 'prometheus.io/scrape': 'true' })), about: 'mode annotation monitor' },
  'mode-enforce': { pod: deploymentPod(annotate({ 'pandocore.xyz/mode': 'enforce' })), about: 'mode annotation enforce' },
  'mode-debug': { pod: deploymentPod(annotate({ 'pandocore.xyz/mode': 'debug' })), about: 'mode annotation debug' },
  'mode-bad': { pod: deploymentPod(annotate({ 'pandocore.xyz/mode': 'Enforce!' })), about: 'invalid mode: default mode and a warning' },
  unlabelled: {
    pod: deploymentPod((p) => {
      delete p.metadata.labels['pandocore.xyz/protect'];
    }),
    about: 'no protect label: unchanged',
  },
  'label-false': {
    pod: deploymentPod((p) => {
      p.metadata.labels['pandocore.xyz/protect'] = 'false';
    }),
    about: 'protect label "false": unchanged',
  },
  'excluded-namespace': { pod: deploymentPod(), namespace: 'kube-system', about: 'namespace in excludedNamespaces: unchanged' },
  'own-namespace': { pod: deploymentPod(), namespace: 'pando-system', about: "the webhook's own namespace: unchanged" },
  'already-injected': {
    pod: deploymentPod((p) => {
      p.metadata.annotations = { 'pandocore.xyz/status': '{"image":"ghcr.io/pandocore/pando-sidecar:0.9.0","mode":"monitor","version":"0.0.9"}' };
      p.spec.containers.push({ name: 'pando-sidecar', image: 'ghcr.io/pandocore/pando-sidecar:0.9.0' });
    }),
    about: 'a pando-sidecar container we injected (reinvocation, or injected offline): unchanged, silent',
  },
  'own-service-account': {
    pod: deploymentPod((p) => {
      p.spec.serviceAccountName = 'checkout';
    }),
    about: 'pod names its own service account: kept, with a warning',
  },
  hostpid: {
    pod: deploymentPod((p) => {
      p.spec.hostPID = true;
    }),
    about: 'hostPID: shareProcessNamespace left unset, with a warning',
  },
  hostnetwork: {
    pod: deploymentPod((p) => {
      p.spec.hostNetwork = true;
      p.spec.dnsPolicy = 'ClusterFirstWithHostNet';
    }),
    about: 'hostNetwork: sidecar declares no port, with a warning',
  },
  'automount-off': {
    pod: deploymentPod((p) => {
      p.spec.automountServiceAccountToken = false;
    }),
    about: 'automountServiceAccountToken false: warning',
  },
  'job-pod': {
    pod: {
      metadata: { generateName: 'nightly-report-28901234-', labels: { 'batch.kubernetes.io/job-name': 'nightly-report-28901234', ...PROTECT } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'report', image: 'registry.example.com/batch/report:1.0.3', args: ['--since=24h'] }] },
    },
    about: 'a Job pod (restartPolicy Never): injected, with a warning',
  },
  'named-pod': {
    pod: {
      metadata: { name: 'debug-shell', labels: PROTECT, annotations: { 'kubectl.kubernetes.io/default-container': 'shell' } },
      spec: { containers: [{ name: 'shell', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
    },
    options: { username: 'alice@example.com' },
    about: 'a bare pod created with kubectl (has a name)',
  },
  'windows-pod': {
    pod: deploymentPod((p) => {
      p.spec.os = { name: 'windows' };
    }),
    about: 'Windows pod: unchanged, with a warning',
  },
  'dry-run': { pod: deploymentPod(), options: { dryRun: true }, about: 'kubectl apply --dry-run=server: same patch' },
  update: { pod: deploymentPod(), options: { operation: 'UPDATE' }, about: 'UPDATE: unchanged' },
  subresource: {
    pod: deploymentPod(),
    options: { subResource: 'ephemeralcontainers', operation: 'UPDATE' },
    about: 'a subresource request (kubectl debug): unchanged',
  },
  'non-pod': {
    pod: deploymentPod(),
    options: { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } },
    about: 'a Deployment, not a Pod: unchanged',
  },
  'malformed-containers': {
    pod: deploymentPod(),
    raw: (review) => {
      review.request.object.spec.containers = { name: 'not-a-list' };
    },
    about: 'spec.containers not a list: allowed, unchanged, with a warning',
  },
  'foreign-sidecar': {
    pod: deploymentPod((p) => {
      p.spec.containers.push({ name: 'pando-sidecar', image: 'registry.example.com/other/pando-sidecar:2.0' });
    }),
    about: 'a container named pando-sidecar that is not ours (no status annotation): unchanged, with a warning',
  },
  'pod-resources': {
    pod: deploymentPod((p) => {
      p.spec.resources = { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } };
    }),
    about: "pod-level resources (spec.resources): raised by the sidecar's requests and limits, with a warning",
  },
};

const dir = join(__dirname, '..', '..', 'fixtures');
mkdirSync(dir, { recursive: true });
let n = 0;
for (const [name, c] of Object.entries(CASES)) {
  const namespace = c.namespace ?? 'shop';
  const uid = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const review = reviewFor(admittedPod(c.pod, namespace), { uid, ...c.options });
  c.raw?.(review);
  writeFileSync(join(dir, `${name}.request.json`), `${JSON.stringify(review, null, 2)}\n`);
}
writeFileSync(
  join(dir, 'CASES.md'),
  `# Fixtures\n\nWritten by \`npm run fixtures\` (scripts/fixtures.ts); expected answers by \`UPDATE_GOLDEN=1 npm test\`.\nEach \`<case>.response.json\` is the exact answer, except that \`response.patch\` is shown decoded.\n\n| case | what it shows |\n| --- | --- |\n${Object.entries(
    CASES,
  )
    .map(([k, c]) => `| \`${k}\` | ${c.about} |`)
    .join('\n')}\n`,
);
console.log(`wrote ${n} fixtures to ${dir}`);
