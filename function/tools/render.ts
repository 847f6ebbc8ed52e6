// `npm run render -- [-f values.yaml] [--set key=value]... [--namespace-setup NS]`: prints the
// install (or one namespace's setup) as multi-document YAML. Bad values: every problem, exit 2.
import { readFileSync } from 'node:fs';
import { runRender } from '../deploy/cli';

const readFile = (path: string) => readFileSync(path === '-' ? 0 : path, 'utf8');

const result = runRender(process.argv.slice(2), readFile);
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.code;
