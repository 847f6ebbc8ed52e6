// npm run cluster -- up | down | status: a real local control plane with pando-webhook installed.
import { join } from 'node:path';
import { DEMO_NAMESPACE, down, status, up } from './cluster';
import { REPO } from './tools';

const USAGE = 'usage: npm run cluster -- up | down | status';
const dir = process.env.PANDO_CLUSTER_DIR ?? join(REPO, '.cluster');
const say = (line: string) => console.log(`cluster: ${line}`);

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      const state = await up({ dir, say });
      const relative = state.kubeconfig.startsWith(`${REPO}/`) ? state.kubeconfig.slice(REPO.length + 1) : state.kubeconfig;
      console.log(
        [
          `cluster: up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          '',
          `  export KUBECONFIG=${relative} PATH=${state.tools}:$PATH`,
          `  kubectl -n ${DEMO_NAMESPACE} run demo --image=nginx --labels=pandocore.xyz/protect=true`,
          `  kubectl -n ${DEMO_NAMESPACE} get pod demo -o jsonpath='{.spec.containers[*].name}'`,
          '',
          'No kubelet runs here: pods are admitted and stored, never started.',
          'npm run cluster -- down  stops it and removes its state.',
        ].join('\n'),
      );
      return 0;
    }
    case 'down':
      await down(dir, say);
      say(`down, ${dir} removed`);
      return 0;
    case 'status': {
      const result = await status(dir);
      for (const line of result.lines) console.log(line);
      return result.up ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`cluster: ${error.message}`);
    process.exitCode = 1;
  },
);
