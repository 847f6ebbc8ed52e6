// The control plane as host processes: etcd, kube-apiserver and kube-controller-manager on the
// node's bridge address.
import http from 'node:http';
import { join } from 'node:path';
import { NETWORK } from './host';
import { adminApi } from './kubeconfig';
import type { writePki } from './pki';
import { isAlive, startDaemon, waitFor } from './processes';
import { saveState, type ClusterState } from './state';

export async function startEtcd(state: ClusterState) {
  const { etcdClient, etcdPeer } = state.ports;
  const client = `http://127.0.0.1:${etcdClient}`;
  const peer = `http://127.0.0.1:${etcdPeer}`;
  state.pids.etcd = startDaemon(
    join(state.tools, 'etcd'),
    [
      '--name=local',
      `--data-dir=${join(state.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=local=${peer}`,
      // A throwaway store: no fsync.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    join(state.dir, 'logs', 'etcd.log'),
  );
  saveState(state);
  await waitFor(
    'etcd',
    async () => (await httpGet(`${client}/health`)).status === 200,
    30_000,
    () => isAlive(state.pids.etcd),
  );
}

export async function startApiServer(state: ClusterState, pki: Awaited<ReturnType<typeof writePki>>, extraFlags: string[] = []) {
  state.pids.apiserver = startDaemon(
    join(state.tools, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${state.ports.etcdClient}`,
      `--secure-port=${state.ports.apiserver}`,
      // On the node's bridge, so pods reach it through the kubernetes Service (10.96.0.1).
      `--bind-address=${NETWORK.nodeIp}`,
      `--advertise-address=${NETWORK.nodeIp}`,
      '--endpoint-reconciler-type=lease',
      // kubectl logs and exec: the kubelet serves on the node IP and checks this client certificate.
      '--kubelet-preferred-address-types=InternalIP',
      `--kubelet-client-certificate=${pki.kubeletClientCertFile}`,
      `--kubelet-client-key=${pki.kubeletClientKeyFile}`,
      // The e2e suites that predate the node keep their namespaces' pods off it (keepOffNode).
      '--enable-admission-plugins=PodNodeSelector',
      `--tls-cert-file=${pki.certFile}`,
      `--tls-private-key-file=${pki.keyFile}`,
      `--cert-dir=${join(state.dir, 'pki')}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      // Routed to the node's bridge; kube-proxy's rules send the webhook's Service to its pods.
      `--service-cluster-ip-range=${NETWORK.serviceCidr}`,
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
      ...extraFlags,
    ],
    join(state.dir, 'logs', 'kube-apiserver.log'),
  );
  saveState(state);
  await waitForApi(state, 'kube-apiserver', '/readyz', 90_000, state.pids.apiserver);
}

/** Polls an API path with the admin client until it answers 200, while the process runs. */
async function waitForApi(state: ClusterState, what: string, path: string, timeoutMs: number, pid: number | undefined) {
  const api = adminApi(state);
  try {
    await waitFor(
      what,
      async () => (await api.get(path)).status === 200,
      timeoutMs,
      () => isAlive(pid),
    );
  } finally {
    api.close();
  }
}

/**
 * The controllers a namespace and a policy need from a real cluster: default ServiceAccounts,
 * kube-root-ca.crt, namespace deletion, garbage collection, and the policy type checker that
 * writes ValidatingAdmissionPolicy status; the workload controllers (Deployment, ReplicaSet, Job,
 * CronJob, StatefulSet), so pods come from templates as in a cluster; and what a node needs: node
 * lifecycle and taint eviction (else the not-ready taint stays), endpoints and EndpointSlices
 * (else Services get no endpoints), pod garbage collection, disruption budgets.
 */
const CONTROLLERS = [
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'validatingadmissionpolicy-status-controller',
  'deployment-controller',
  'replicaset-controller',
  'job-controller',
  'cronjob-controller',
  'statefulset-controller',
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'pod-garbage-collector-controller',
  'disruption-controller',
  'ttl-after-finished-controller',
  // Knative's controller holds an aggregated ClusterRole (knative-serving-admin), empty without it.
  'clusterrole-aggregation-controller',
];

export async function startControllerManager(state: ClusterState, pki: Awaited<ReturnType<typeof writePki>>) {
  state.pids.controllerManager = startDaemon(
    join(state.tools, 'kube-controller-manager'),
    [
      `--kubeconfig=${state.kubeconfig}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--root-ca-file=${pki.caFile}`,
      '--leader-elect=false',
      '--secure-port=0',
      // 20 requests/s by default: a Deployment scaled to 500 would measure the client, not admission.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ],
    join(state.dir, 'logs', 'kube-controller-manager.log'),
  );
  saveState(state);
  // Ready once the default namespace has its ServiceAccount.
  await waitForApi(state, 'kube-controller-manager', '/api/v1/namespaces/default/serviceaccounts/default', 60_000, state.pids.controllerManager);
}

export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
