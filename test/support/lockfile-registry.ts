// Test support: an npm registry on loopback made from the lockfile and the local npm cache, so
// `npm install -g` of the packed package runs with no network and no wall clock: every packument
// lists the versions the lockfile pins, and every tarball is served from the cache by its
// integrity (cacache's content-v2 layout). A package missing from the cache is a 404 that names it.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
}

/** Where cacache keeps the bytes of this integrity ("sha512-<base64>"). */
export function cachedContentPath(cacheDir: string, integrity: string): string {
  const [algorithm, digest] = integrity.split(' ')[0].split(/-(.*)/s);
  const hex = Buffer.from(digest, 'base64').toString('hex');
  return join(cacheDir, '_cacache', 'content-v2', algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

export async function startLockfileRegistry(lockfile: string, cacheDir: string) {
  const packages = JSON.parse(readFileSync(lockfile, 'utf8')).packages as Record<string, LockEntry>;
  const versions = new Map<string, Map<string, LockEntry>>();
  for (const [path, entry] of Object.entries(packages)) {
    if (!path || entry.link || !entry.version || !entry.integrity) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!versions.has(name)) versions.set(name, new Map());
    versions.get(name)!.set(entry.version, entry);
  }
  const missing: string[] = [];
  const served = { packuments: 0, tarballs: 0 };
  let url = '';
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]).slice(1);
    // NAME/-/BASENAME-VERSION.tgz, as the registry (and so the lockfile's resolved URLs) spells it.
    const tarball = /^(.+)\/-\/([^/]+)\.tgz$/.exec(path);
    if (tarball) {
      const [, name, file] = tarball;
      const version = file.slice(name.split('/').at(-1)!.length + 1);
      const entry = versions.get(name)?.get(version);
      try {
        const bytes = readFileSync(cachedContentPath(cacheDir, entry!.integrity!));
        served.tarballs++;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        return res.end(bytes);
      } catch {
        missing.push(`${name}@${version}`);
        res.writeHead(404);
        return res.end();
      }
    }
    const known = versions.get(path);
    if (!known) {
      missing.push(path);
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"error":"not in the lockfile"}');
    }
    const manifests = Object.fromEntries(
      [...known].map(([version, e]) => [
        version,
        {
          name: path,
          version,
          ...Object.fromEntries(
            (['dependencies', 'optionalDependencies', 'peerDependencies', 'bin', 'engines', 'os', 'cpu'] as const).filter((k) => e[k]).map((k) => [k, e[k]]),
          ),
          dist: { tarball: `${url}/${path}/-/${path.split('/').at(-1)}-${version}.tgz`, integrity: e.integrity },
        },
      ]),
    );
    const body = JSON.stringify({ name: path, 'dist-tags': { latest: [...known.keys()].at(-1) }, versions: manifests });
    served.packuments++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, missing, served, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
