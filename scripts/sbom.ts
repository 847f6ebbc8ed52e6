// `npm run sbom` (the image's build stage runs it): a CycloneDX 1.5 SBOM of what the image ships.
// The image has no node_modules: every dependency it runs is inside an esbuild bundle, so the
// bundles' metafiles (dist/meta/*.json, written by npm run bundle and bundle:cli) are the truth:
// a package is listed when some of its bytes are in a bundle, with the name, version and license
// of its own package.json, and each bundle depends on the packages it holds.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

interface Metafile {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
}

interface Package {
  dir: string;
  name: string;
  version: string;
  license?: string;
  dependencies: string[];
}

export interface Bom {
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: { component: Component; tools: { components: Component[] } };
  components: Component[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

export interface Component {
  type: string;
  'bom-ref'?: string;
  name: string;
  version?: string;
  purl?: string;
  licenses?: ({ license: { id: string } } | { expression: string })[];
  hashes?: { alg: 'SHA-256'; content: string }[];
  properties?: { name: string; value: string }[];
}

/** The package directory a bundled file comes from: the last node_modules/<name> or node_modules/@scope/<name> of its path. */
export function packageDir(input: string): string | undefined {
  return /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.split(sep).join('/'))?.[1];
}

/** npm's package URL: pkg:npm/%40scope/name@version. */
export const purl = (name: string, version: string) => `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;

function licenses(license: string | undefined): Component['licenses'] {
  if (!license) return undefined;
  // A single SPDX id is an id; anything with an operator or parentheses is an expression.
  return /^[A-Za-z0-9.+-]+$/.test(license) ? [{ license: { id: license } }] : [{ expression: license }];
}

function readPackage(root: string, dir: string): Package {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  // Old packages give `license` as an object or a `licenses` array.
  const declared = manifest.license ?? manifest.licenses;
  const license =
    typeof declared === 'string' ? declared : Array.isArray(declared) ? declared.map((l: { type: string }) => l.type).join(' OR ') : declared?.type;
  return { dir, name: manifest.name, version: manifest.version, license, dependencies: Object.keys(manifest.dependencies ?? {}) };
}

/** Node's lookup of `dependency` from the package in `dir`: its own node_modules first, then each parent's. */
function resolveFrom(dir: string, dependency: string, bundled: Map<string, Package>): Package | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const found = bundled.get(`${at === '.' ? '' : `${at}/`}node_modules/${dependency}`);
    if (found) return found;
    if (at === '.' || at === '/' || at === '') return undefined;
  }
}

/** Builds the SBOM of the bundles described by `metafiles` (paths relative to `root`, where esbuild ran). */
export function buildSbom(root: string, metafiles: string[], runtime: { node: string }): Bom {
  const app = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const appRef = purl(app.name, app.version);
  const nodeRef = `pkg:generic/node@${runtime.node}`;
  const packages = new Map<string, Package>(); // by directory
  const bundles: { file: string; dirs: Set<string> }[] = [];
  for (const metafile of metafiles) {
    const meta = JSON.parse(readFileSync(join(root, metafile), 'utf8')) as Metafile;
    for (const [file, output] of Object.entries(meta.outputs)) {
      if (!output.entryPoint) continue; // source maps
      const dirs = new Set<string>();
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        const dir = bytesInOutput > 0 ? packageDir(input) : undefined;
        if (!dir) continue;
        dirs.add(dir);
        if (!packages.has(dir)) packages.set(dir, readPackage(root, dir));
      }
      bundles.push({ file: relative(root, join(root, file)).split(sep).join('/'), dirs });
    }
  }
  const libraries = new Map<string, Component>(); // by purl: one entry for a package bundled twice
  const dependsOn = new Map<string, Set<string>>();
  for (const pkg of packages.values()) {
    const ref = purl(pkg.name, pkg.version);
    libraries.set(ref, { type: 'library', 'bom-ref': ref, name: pkg.name, version: pkg.version, purl: ref, licenses: licenses(pkg.license) });
    const uses = dependsOn.get(ref) ?? new Set<string>();
    for (const dependency of pkg.dependencies) {
      const used = resolveFrom(pkg.dir, dependency, packages);
      if (used) uses.add(purl(used.name, used.version));
    }
    dependsOn.set(ref, uses);
  }
  const files: Component[] = bundles.map(({ file }) => ({
    type: 'file',
    'bom-ref': `file:${file}`,
    name: file,
    hashes: [
      {
        alg: 'SHA-256',
        content: createHash('sha256')
          .update(readFileSync(join(root, file)))
          .digest('hex'),
      },
    ],
    properties: [{ name: 'pando:bundler', value: 'esbuild' }],
  }));
  const components = [
    ...files,
    { type: 'platform', 'bom-ref': nodeRef, name: 'node', version: runtime.node, purl: nodeRef, licenses: licenses('MIT') },
    ...[...libraries.values()].sort((a, b) => a['bom-ref']!.localeCompare(b['bom-ref']!)),
  ];
  const dependencies = [
    { ref: appRef, dependsOn: [nodeRef, ...files.map((f) => f['bom-ref']!)] },
    ...bundles.map(({ file, dirs }) => ({
      ref: `file:${file}`,
      dependsOn: [...new Set([...dirs].map((d) => purl(packages.get(d)!.name, packages.get(d)!.version)))].sort(),
    })),
    ...[...dependsOn].sort(([a], [b]) => a.localeCompare(b)).map(([ref, uses]) => ({ ref, dependsOn: [...uses].sort() })),
  ];
  const body = {
    metadata: {
      // No timestamp: the same sources give the same SBOM, byte for byte.
      tools: { components: [{ type: 'application', name: 'pando-webhook scripts/sbom.ts', version: app.version }] },
      component: { type: 'application', 'bom-ref': appRef, name: app.name, version: app.version, purl: appRef, licenses: licenses(app.license) },
    },
    components,
    dependencies,
  };
  // A serial number derived from the content: unique per SBOM, yet reproducible.
  const hex = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const serialNumber = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { bomFormat: 'CycloneDX', specVersion: '1.5', serialNumber, version: 1, ...body };
}

if (require.main === module) {
  const root = process.cwd();
  const metaDir = join('dist', 'meta');
  const metafiles = existsSync(metaDir) ? readdirSync(metaDir).filter((f) => f.endsWith('.json')) : [];
  if (!metafiles.length) {
    console.error(`sbom: no esbuild metafile in ${metaDir}: run npm run build and npm run bundle first`);
    process.exit(1);
  }
  const out = process.argv[2] ?? join('dist', 'sbom.cdx.json');
  const bom = buildSbom(
    root,
    metafiles.map((f) => join(metaDir, f)),
    { node: process.versions.node },
  );
  writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
  console.log(`sbom: ${out}: ${bom.components.filter((c) => c.type === 'library').length} packages in ${metafiles.length} metafile(s)`);
}
