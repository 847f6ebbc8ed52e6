// The KIngress stand-in (knative.ts) as a process of its own, for `npm run cluster -- up` on the
// Knative platform: up returns, the stand-in keeps marking KIngresses ready until `down` stops it
// by its pid (state.json). Usage: node ingress-standin.js CLUSTER_DIR
import { startIngressStandIn } from './knative';
import { readState } from './state';

const dir = process.argv[2];
const state = dir ? readState(dir) : undefined;
if (!state) {
  console.error(`ingress-standin: no cluster state in ${dir ?? '(no directory given)'}`);
  process.exit(2);
}
const standIn = startIngressStandIn(state);
console.log(`ingress-standin: marking the KIngresses of ${state.server} ready (pid ${process.pid})`);
let reported = 0;
let errorsReported = 0;
const report = setInterval(() => {
  for (const marked of standIn.marked.slice(reported)) console.log(`ingress-standin: marked ${marked} ready`);
  for (const error of standIn.errors.slice(errorsReported)) console.log(`ingress-standin: ${error} (tried again in a second)`);
  reported = standIn.marked.length;
  errorsReported = standIn.errors.length;
}, 1000);
process.on('SIGTERM', () => {
  clearInterval(report);
  standIn.stop();
});
