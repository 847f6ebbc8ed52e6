// The render command line, as Helm users know it: -f values.yaml, --set a.b=c (several per flag,
// comma-separated; lists as {x,y}), --set-file key=path. Pure but for the file reader passed in.
import { parse as parseYaml } from 'yaml';
import { parseValues, Values, ValuesError } from './values';
import { renderInstall, renderNamespaceSetup, toYaml } from './render';
import { version } from '../../package.json';

export const USAGE = `usage: npm run render -- [-f values.yaml]... [--set key=value[,key=value]]... [--set-file key=path]... [--namespace-setup NS]
  -f, --values FILE      YAML values (later files win); "-" reads standard input
  --set key=value        e.g. --set replicas=3 --set excludedNamespaces={kube-system,monitoring}
  --set-file key=path    the value is the file's content without trailing newlines (e.g. licenseKey)
  --namespace-setup NS   print NS's ServiceAccount, RoleBinding and license Secret instead of the install`;

export interface CliResult { code: number; stdout: string; stderr: string }
type ReadFile = (path: string) => string;

/** Splits "a=1,b={x,y}" at the commas outside braces; "\," is a literal comma. */
export function splitSetArg(arg: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < arg.length; i++) {
    const ch = arg[i];
    if (ch === '\\' && arg[i + 1] === ',') { current += ','; i++; continue; }
    if (ch === '{') depth++;
    if (ch === '}') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) { parts.push(current); current = ''; continue; }
    current += ch;
  }
  parts.push(current);
  return parts;
}

/** "a.b={x,y}" -> ['a.b', ['x', 'y']]; scalars stay strings (the schema's types decide later). */
export function parseAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  const path = eq < 0 ? '' : text.slice(0, eq).trim();
  if (!/^[A-Za-z][\w-]*(\.[A-Za-z][\w-]*)*$/.test(path)) throw new Error(`--set ${JSON.stringify(text)}: expected key=value with a dotted key such as tls.certManager=true`);
  const raw = text.slice(eq + 1);
  const list = /^\{(.*)\}$/s.exec(raw.trim());
  if (list) return [path, list[1].trim() === '' ? [] : list[1].split(',').map((s) => s.trim())];
  return [path, raw];
}

export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new Error(`--set ${path}: ${key} is not a map of values`);
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

export function mergeDeep(base: Record<string, unknown>, overlay: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    const b = out[k];
    const bothMaps = [b, v].every((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
    out[k] = bothMaps ? mergeDeep(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

const FLAGS = ['-f', '--values', '--set', '--set-file', '--namespace-setup'];

interface Parsed { raw: Record<string, unknown>; namespaceSetup?: string; help?: boolean }

function parseArgs(argv: string[], readFile: ReadFile, problems: string[]): Parsed {
  let raw: Record<string, unknown> = {};
  const parsed: Parsed = { raw };
  const sets: Array<() => void> = [];
  for (let i = 0; i < argv.length; i++) {
    const inline = /^(--[\w-]+)=(.*)$/s.exec(argv[i]);
    const name = inline ? inline[1] : argv[i];
    if (name === '-h' || name === '--help') { parsed.help = true; continue; }
    if (!FLAGS.includes(name)) { problems.push(`unknown argument ${JSON.stringify(argv[i])}`); continue; }
    const arg = inline ? inline[2] : argv[++i];
    if (arg === undefined) { problems.push(`${name} needs a value`); continue; }
    try {
      if (name === '-f' || name === '--values') {
        const doc = parseYaml(readFile(arg)) ?? {};
        if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('is not a map of values');
        raw = mergeDeep(raw, doc as Record<string, unknown>);
      } else if (name === '--set') {
        for (const part of splitSetArg(arg)) { const [path, value] = parseAssignment(part); sets.push(() => setPath(raw, path, value)); }
      } else if (name === '--set-file') {
        const [path, file] = parseAssignment(arg);
        const content = readFile(String(file)).replace(/[\r\n]+$/, '');
        sets.push(() => setPath(raw, path, content));
      } else {
        parsed.namespaceSetup = arg;
      }
    } catch (error) {
      problems.push(name === '--set' ? (error as Error).message : `${name} ${arg}: ${(error as Error).message}`);
    }
  }
  // --set wins over every -f, whatever the order, as in Helm.
  for (const apply of sets) {
    try { apply(); } catch (error) { problems.push((error as Error).message); }
  }
  parsed.raw = raw;
  return parsed;
}

export function runRender(argv: string[], readFile: ReadFile): CliResult {
  const problems: string[] = [];
  const args = parseArgs(argv, readFile, problems);
  if (args.help) return { code: 0, stdout: `${USAGE}\n`, stderr: '' };
  let values: Values | undefined;
  try {
    values = parseValues(args.raw);
  } catch (error) {
    if (!(error instanceof ValuesError)) throw error;
    problems.push(...error.problems);
  }
  try {
    if (!problems.length && values) {
      const objects = args.namespaceSetup === undefined ? renderInstall(values) : renderNamespaceSetup(values, args.namespaceSetup);
      const what = args.namespaceSetup === undefined ? 'the install' : `namespace ${args.namespaceSetup}`;
      const header = `pando-webhook ${version}: ${what}, rendered by npm run render${argv.length ? ` -- ${redact(argv).join(' ')}` : ''}.\nDo not edit; render again.`;
      return { code: 0, stdout: toYaml(objects, header), stderr: '' };
    }
  } catch (error) {
    if (!(error instanceof ValuesError)) throw error;
    problems.push(...error.problems);
  }
  return { code: 2, stdout: '', stderr: `${new ValuesError(problems).message}\n\n${USAGE}\n` };
}

/** Never echo a license key given on the command line into the output. */
const redact = (argv: string[]) => argv.map((a) => (a.includes('licenseKey') ? '(an argument setting licenseKey, redacted)' : a));
