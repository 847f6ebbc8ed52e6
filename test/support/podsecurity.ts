// Test support: the Pod Security Standards level a pod meets (privileged < baseline < restricted),
// following the checks of https://kubernetes.io/docs/concepts/security/pod-security-standards/
// for Linux pods. Mind the API server's rule that a hostNetwork pod's containerPorts are hostPorts.
type Obj = Record<string, any>;
export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];

const BASELINE_CAPS = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

const containersOf = (spec: Obj): Obj[] => ['initContainers', 'containers', 'ephemeralContainers'].flatMap((k) => (Array.isArray(spec[k]) ? spec[k] : []));

export function baselineProblems(pod: Obj): string[] {
  const spec = pod.spec ?? {};
  const problems: string[] = [];
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[k] === true) problems.push(k);
  if (spec.securityContext?.seccompProfile?.type === 'Unconfined') problems.push('pod seccomp Unconfined');
  for (const s of spec.securityContext?.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) problems.push(`sysctl ${s.name}`);
  for (const v of spec.volumes ?? []) if (v.hostPath) problems.push(`hostPath volume ${v.name}`);
  for (const c of containersOf(spec)) {
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) problems.push(`${c.name} privileged`);
    for (const cap of sc.capabilities?.add ?? []) if (!BASELINE_CAPS.has(cap)) problems.push(`${c.name} adds ${cap}`);
    if (sc.procMount && sc.procMount !== 'Default') problems.push(`${c.name} procMount`);
    if (sc.seccompProfile?.type === 'Unconfined') problems.push(`${c.name} seccomp Unconfined`);
    for (const p of c.ports ?? []) {
      const hostPort = spec.hostNetwork === true ? p.containerPort : p.hostPort;
      if (hostPort) problems.push(`${c.name} hostPort ${hostPort}`);
    }
  }
  return problems;
}

export function restrictedProblems(pod: Obj): string[] {
  const spec = pod.spec ?? {};
  const podSc = spec.securityContext ?? {};
  const problems = baselineProblems(pod);
  for (const v of spec.volumes ?? []) {
    if (!RESTRICTED_VOLUMES.some((t) => v[t] !== undefined)) problems.push(`volume ${v.name} type`);
  }
  if (podSc.runAsUser === 0) problems.push('pod runAsUser 0');
  for (const c of containersOf(spec)) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${c.name} allowPrivilegeEscalation`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${c.name} runAsNonRoot`);
    if (sc.runAsUser === 0) problems.push(`${c.name} runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${c.name} seccomp`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${c.name} drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') problems.push(`${c.name} adds ${cap}`);
  }
  return problems;
}

export function securityLevel(pod: Obj): Level {
  if (restrictedProblems(pod).length === 0) return 'restricted';
  return baselineProblems(pod).length === 0 ? 'baseline' : 'privileged';
}
