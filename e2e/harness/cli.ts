// npm run cluster -- up | down | status: a real local control plane with pando-webhook installed.
import { join } from 'node:path';
import { down, status, up } from './cluster';
import { DEMO_NAMESPACE } from './namespaces';
import { STANDIN_IMAGES } from './images';
import { REPO } from './tools';

const USAGE = 'usage: npm run cluster -- up | down | status';
const dir = process.env.PANDO_CLUSTER_DIR ?? join(REPO, '.cluster');
const say = (line: string) => console.log(`cluster: ${line}`);

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      // The README's demo pod gets a sidecar this node can run: the stand-in, set as a user sets an image.
      const state = await up({ dir, say, helmSet: [`sidecar.image=${STANDIN_IMAGES.sidecar}`] });
      const relative = state.kubeconfig.startsWith(`${REPO}/`) ? state.kubeconfig.slice(REPO.length + 1) : state.kubeconfig;
      console.log(
        [
          `cluster: up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          '',
          // Node 24 (node_modules/.bin) first: kubectl-pando (dist/bin) needs it; the tools for kubectl, helm, task.
          `  export KUBECONFIG=${relative} PATH=${join(REPO, 'node_modules', '.bin')}:${state.tools}:${join(REPO, 'dist', 'bin')}:$PATH`,
          `  kubectl -n ${DEMO_NAMESPACE} run demo --image=${STANDIN_IMAGES.app} --labels=pandocore.xyz/protect=true`,
          `  kubectl -n ${DEMO_NAMESPACE} get pod demo          # Running, 2/2 with the sidecar stand-in`,
          `  kubectl -n ${DEMO_NAMESPACE} logs demo -c pando-sidecar`,
          '',
          `Node pando-node runs the pods; images are local stand-ins (${STANDIN_IMAGES.sidecar} ...), nothing is pulled.`,
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
