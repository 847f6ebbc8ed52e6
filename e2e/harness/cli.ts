// npm run cluster -- up | down | status: a real local control plane with pando-webhook installed.
import { join } from 'node:path';
import { down, status, up } from './cluster';
import { DEMO_NAMESPACE } from './namespaces';
import { STANDIN_IMAGES } from './images';
import type { Platform } from './state';
import { REPO } from './tools';

const USAGE = 'usage: npm run cluster -- up [--platform knative|deployment] | down | status';
const dir = process.env.PANDO_CLUSTER_DIR ?? join(REPO, '.cluster');
const say = (line: string) => console.log(`cluster: ${line}`);

/** up's --platform: the chart's default, knative, as in production; deployment without Knative's pods. */
function platformOf(args: string[]): Platform | undefined {
  if (args.length === 0) return 'knative';
  const platform = args[0] === '--platform' ? args[1] : /^--platform=(.*)$/.exec(args[0] ?? '')?.[1];
  return args.length <= 2 && (platform === 'knative' || platform === 'deployment') ? platform : undefined;
}

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      const platform = platformOf(args);
      if (!platform) {
        console.error(USAGE);
        return 2;
      }
      // The README's demo pod gets a sidecar this node can run: the stand-in, set as a user sets an image.
      const state = await up({ dir, say, platform, helmSet: [`sidecar.image=${STANDIN_IMAGES.sidecar}`] });
      const relative = state.kubeconfig.startsWith(`${REPO}/`) ? state.kubeconfig.slice(REPO.length + 1) : state.kubeconfig;
      console.log(
        [
          `cluster: up in ${((Date.now() - started) / 1000).toFixed(1)} s, the webhook on ${platform === 'knative' ? 'Knative Serving (kubectl get ksvc -n pando-system)' : 'a Deployment'}`,
          '',
          // Node 24 (node_modules/.bin) first: kubectl-pando (dist/bin) needs it; the tools for kubectl, helm, task.
          `  export KUBECONFIG=${relative} PATH=${join(REPO, 'node_modules', '.bin')}:${state.tools}:${join(REPO, 'dist', 'bin')}:$PATH`,
          `  kubectl -n ${DEMO_NAMESPACE} run demo --image=${STANDIN_IMAGES.app} --labels=pandocore.xyz/protect=true`,
          `  kubectl -n ${DEMO_NAMESPACE} get pod demo          # Running, 2/2 with the sidecar stand-in`,
          `  kubectl -n ${DEMO_NAMESPACE} logs demo -c pando-sidecar`,
          '',
          `Node pando-node runs the pods; images are local stand-ins (${STANDIN_IMAGES.sidecar} ...), nothing is pulled.`,
          ...(platform === 'knative' ? ['No networking layer runs here: a stand-in marks the Route ready (docs/local-cluster.md).'] : []),
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

main(process.argv[2], process.argv.slice(3)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`cluster: ${error.message}`);
    process.exitCode = 1;
  },
);
