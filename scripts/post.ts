// `npm run post -- <fixture>`: POSTs a fixture (a name from fixtures/ or a path) to the running
// function and prints the answer with its patch decoded. URL from WEBHOOK_URL, else
// http://127.0.0.1:$PORT (8080).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

async function main() {
  const arg = process.argv[2];
  if (!arg) {
    console.error('usage: npm run post -- <fixture name or file>   (e.g. npm run post -- deployment-pod)');
    process.exit(2);
  }
  const candidates = [arg, join(__dirname, '..', '..', 'fixtures', `${arg}.request.json`), join(__dirname, '..', '..', 'fixtures', arg)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    console.error(`no fixture ${arg}: give a name from fixtures/ (without .request.json) or a file path`);
    process.exit(2);
  }
  const url = process.env.WEBHOOK_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}/?timeout=10s`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(file) });
  } catch (error) {
    console.error(`cannot reach ${url}: ${(error as Error).cause ?? error}. Is the function running (npm start)?`);
    process.exit(1);
  }
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (body?.response?.patch) body.response.patch = JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8'));
  console.log(`HTTP ${res.status}`);
  console.log(typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  process.exit(res.ok ? 0 : 1);
}

void main();
