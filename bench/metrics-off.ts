// The bench's metrics-off webhook: function/main.ts bundled as npm run bundle bundles it, with
// function/metrics.ts swapped for bench/servers/no-metrics.ts. Written under build/, never dist/.
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..', '..');
export const METRICS_OFF_ENTRY = join(ROOT, 'build', 'bench-bundles', 'serve-metrics-off.js');

export async function buildMetricsOff(): Promise<string> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'function', 'main.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    outfile: METRICS_OFF_ENTRY,
    metafile: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'no-metrics',
        setup(on) {
          on.onResolve({ filter: /^\.\/metrics$/ }, (args) =>
            args.importer === join(ROOT, 'function', 'main.ts') ? { path: join(ROOT, 'bench', 'servers', 'no-metrics.ts') } : undefined,
          );
        },
      },
    ],
  });
  const inputs = Object.keys(result.metafile.inputs);
  // The swap must have happened, or the "off" row measures the metrics after all.
  if (inputs.some((i) => i.includes('prom-client') || i === 'function/metrics.ts') || !inputs.includes('bench/servers/no-metrics.ts')) {
    throw new Error(`the metrics-off bundle still holds the metrics: ${inputs.filter((i) => /metrics|prom-client/.test(i)).join(', ')}`);
  }
  return METRICS_OFF_ENTRY;
}
