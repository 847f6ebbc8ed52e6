// What the image's command loads: the esbuild bundle of function/main.ts (npm run bundle) holds
// the handler, zod, rfc6902 and our host, and neither the functions-framework, Express nor
// zod's locales, whose loading and compiling are what cost the start.
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');

test('the production bundle leaves out the framework, Express and the zod locales it does not use', () => {
  const result = buildSync({
    entryPoints: [join(ROOT, 'function', 'main.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    write: false,
    metafile: true,
    outfile: join(ROOT, 'dist', 'serve.js'),
    logLevel: 'silent',
  });
  // The files with bytes in the output (the metafile also lists files esbuild dropped).
  const output = Object.values(result.metafile!.outputs)[0];
  const inputs = Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
  assert.ok(
    inputs.some((i) => i.includes('node_modules/zod/')),
    'zod is bundled',
  );
  assert.ok(
    inputs.some((i) => i.includes('function/host/server.ts')),
    'the host is bundled',
  );
  // zod's English messages are the ones it uses; the other locales only cost the start.
  for (const banned of ['@google-cloud/functions-framework', 'node_modules/express/', 'node_modules/body-parser/', 'zod/v4/locales/']) {
    const found = inputs.filter((i) => i.includes(banned) && !i.endsWith('zod/v4/locales/en.js'));
    assert.equal(found, [], `${banned} is in the bundle`);
  }
  const bytes = result.outputFiles!.find((f) => f.path.endsWith('serve.js'))!.contents.length;
  // About 125 KB before the metrics, 200 KB with prom-client and its dependencies; the framework
  // and zod's locales had made it 486 KB.
  assert.ok(bytes < 240_000, `the bundle is ${bytes} bytes`);
});

test.run();
