// What the host looks like, for the check that `down` leaves nothing of the cluster behind: the
// links, routes, iptables chains and jumps of the kinds the node makes, its cgroups, the sysctls
// it may change and the directories kubelet and containerd create outside the cluster dir.
import { existsSync } from 'node:fs';
import { cgroupDirs, FIXED_PATHS, hostLinks, ourChains, ourRoutes, ourRules, readSysctl, SYSCTLS } from '../harness/host';

export interface HostSnapshot {
  links: string[];
  routes: string[];
  chains: string[];
  rules: string[];
  cgroups: string[];
  sysctls: Record<string, string | undefined>;
  paths: string[];
}

export function hostSnapshot(): HostSnapshot {
  return {
    links: hostLinks().sort(),
    routes: ourRoutes().sort(),
    chains: ourChains().sort(),
    rules: ourRules().sort(),
    cgroups: cgroupDirs().sort(),
    sysctls: Object.fromEntries(SYSCTLS.map((key) => [key, readSysctl(key)])),
    paths: FIXED_PATHS.filter((path) => existsSync(path)),
  };
}
