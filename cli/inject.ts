// Offline injection (kubectl pando inject): the webhook's own decision and injection, run over
// manifests before they reach the API server. Every Pod and pod template carrying the protect
// label gets what the webhook would give the pod at admission; every other document, and every
// byte of a document left alone, is printed as it came.
import { applyPatch, type Operation } from 'rfc6902';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { AdmissionRequest } from '../function/admission';
import type { Config } from '../function/config';
import { shouldInject } from '../function/decide';
import { inject } from '../function/inject';
import { buildPatch } from '../function/patch';
import { isObject, type JsonObject } from '../function/pod';
import { uninject } from '../function/uninject';
import { InputError } from './errors';

/** Where each workload kind keeps its pod template; the API groups it is served by (extensions: old manifests). */
const TEMPLATE_PATHS: Record<string, { groups: string[]; path: string[] }> = {
  Pod: { groups: [''], path: [] },
  Deployment: { groups: ['apps', 'extensions'], path: ['spec', 'template'] },
  StatefulSet: { groups: ['apps'], path: ['spec', 'template'] },
  DaemonSet: { groups: ['apps', 'extensions'], path: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps', 'extensions'], path: ['spec', 'template'] },
  ReplicationController: { groups: [''], path: ['spec', 'template'] },
  Job: { groups: ['batch'], path: ['spec', 'template'] },
  CronJob: { groups: ['batch'], path: ['spec', 'jobTemplate', 'spec', 'template'] },
};

export interface InjectOptions {
  /** Namespace of objects that name none (kubectl's -n); undefined: the API server's "default". */
  namespace?: string;
}

/** What happened to one object, for the report on stderr. */
export interface Outcome {
  object: string;
  injected: boolean;
  reason: string;
  warnings: string[];
}

const groupOf = (apiVersion: unknown) => (typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** What a command does to one pod: the pod it should become, or undefined to leave it alone. */
type PodEdit = (pod: JsonObject, object: string, namespace: string) => JsonObject | undefined;

/** The JSON Patch that makes this object's pod (or pod template) what `edit` returns, with paths relative to the object. */
function patchFor(object: unknown, options: InjectOptions, edit: PodEdit): Operation[] {
  if (!isObject(object)) return [];
  if (object.kind === 'List' && Array.isArray(object.items)) {
    return object.items.flatMap((item, i) => patchFor(item, options, edit).map((op) => ({ ...op, path: `/items/${i}${op.path}` })));
  }
  const where = typeof object.kind === 'string' ? TEMPLATE_PATHS[object.kind] : undefined;
  if (!where || !where.groups.includes(groupOf(object.apiVersion))) return [];
  let template: unknown = object;
  for (const key of where.path) template = isObject(template) ? template[key] : undefined;
  if (!isObject(template)) return [];

  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = `${String(object.kind).toLowerCase()}/${typeof metadata.name === 'string' ? metadata.name : '?'}`;
  const namespace = (typeof metadata.namespace === 'string' && metadata.namespace) || options.namespace || 'default';
  // The pod the workload's controller would create, as far as the webhook's decision reads it;
  // without null fields (an empty `annotations:` in YAML), which the API server drops.
  const pod = withoutNulls({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: isObject(template.metadata) ? template.metadata : {},
    spec: template.spec,
  }) as JsonObject;
  const after = edit(pod, name, namespace);
  if (!after) return [];
  const prefix = where.path.map((key) => `/${key}`).join('');
  // A template without metadata cannot carry the label, so the patch never needs to create it.
  return buildPatch(pod, after).map((op) => ({ ...op, path: `${prefix}${op.path}` }));
}

/** The admission request the API server would send for creating a pod in `namespace`. */
export const podCreateRequest = (namespace: string, uid: string) =>
  ({
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace,
  }) as AdmissionRequest;

/** The webhook's decision and injection, offline. */
function injectEdit(config: Config, outcomes: Outcome[]): PodEdit {
  return (pod, object, namespace) => {
    const request = podCreateRequest(namespace, 'offline');
    const decision = shouldInject(request, pod, config);
    const earlier = !decision.inject && decision.reason === 'already_injected' ? uninject(pod) : undefined;
    if (earlier) {
      // Injected offline before: the webhook will never touch it again, so bring it up to date here
      // (a new image, mode or shape); unchanged when it already is.
      const injection = inject(earlier, config, { offline: true });
      const changed = buildPatch(pod, injection.pod).length > 0;
      outcomes.push({
        object,
        injected: changed,
        reason: changed ? `updated, mode ${injection.mode}` : (decision as { message: string }).message,
        warnings: [],
      });
      return injection.pod;
    }
    if (!decision.inject) {
      if (decision.reason !== 'not_labelled')
        outcomes.push({ object, injected: false, reason: decision.message, warnings: decision.warning ? [decision.warning] : [] });
      return undefined;
    }
    const injection = inject(pod, config, { offline: true });
    outcomes.push({ object, injected: true, reason: `mode ${injection.mode}`, warnings: injection.warnings });
    return injection.pod;
  };
}

/** Our injection taken back out (kubectl pando uninject), from what its status annotation recorded. */
function uninjectEdit(removed: string[]): PodEdit {
  return (pod, object) => {
    const before = uninject(pod);
    if (before) removed.push(object);
    return before;
  };
}

/** The value without null object fields, at any depth; untouched subtrees are shared. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(withoutNulls);
    return items.every((item, i) => item === value[i]) ? value : items;
  }
  if (!isObject(value)) return value;
  let changed = false;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null) {
      changed = true;
      continue;
    }
    const cleaned = withoutNulls(child);
    if (cleaned !== child) changed = true;
    Object.defineProperty(out, key, { value: cleaned, enumerable: true, writable: true, configurable: true }); // "__proto__" stays a key
  }
  return changed ? out : value;
}

const unescape = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');
const segments = (path: string) => path.split('/').slice(1).map(unescape);

/** Applies add/replace/remove to a YAML document, keeping its comments and styles elsewhere. */
function applyToYaml(doc: Document, ops: Operation[]) {
  for (const op of ops) {
    const path = segments(op.path);
    const parent = doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    if (op.op === 'add' && isSeq(parent)) {
      const index = last === '-' ? parent.items.length : Number(last);
      parent.items.splice(index, 0, doc.createNode(op.value));
    } else if (op.op === 'add' || op.op === 'replace') {
      if (!isMap(parent) && !isSeq(parent) && path.length > 1) throw new Error(`cannot set ${op.path}`);
      doc.setIn(
        path.map((s, i) => (isSeq(doc.getIn(path.slice(0, i), true)) ? Number(s) : s)),
        doc.createNode(op.value),
      );
    } else if (op.op === 'remove') {
      doc.deleteIn(path);
    } else {
      throw new Error(`unexpected patch operation ${op.op}`);
    }
  }
}

export interface Source {
  /** File name, or "-" for standard input: named in errors. */
  name: string;
  text: string;
}

/** JSON when it parses as JSON (a YAML flow mapping such as `{kind: Pod}` does not). */
function parseJson(source: Source): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(source.text) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** A YAML stream split at its document markers, each part with the marker that opened it. A
 * document may start on the marker line itself (`--- {kind: Pod, ...}`). */
function splitYaml(text: string): Array<{ marker: string; body: string }> {
  const parts: Array<{ marker: string; body: string }> = [];
  let current = { marker: '', body: '' };
  for (const line of text.split(/(?<=\n)/)) {
    if (/^---(\s|$)/.test(line)) {
      // The whole line when only a comment follows the marker; else the document starts after it.
      const marker = /^---\s*(#.*)?$/.test(line.trimEnd()) ? line : /^---[ \t]+/.exec(line)![0];
      parts.push(current);
      current = { marker, body: line.slice(marker.length) };
    } else current.body += line;
  }
  parts.push(current);
  return parts;
}

/** Injects into every document of the source; returns the text to print. */
function editSource(source: Source, options: InjectOptions, edit: PodEdit): string {
  const json = /^\s*[{[]/.test(source.text) ? parseJson(source) : undefined;
  if (source.name.endsWith('.json') && !json?.ok) throw new InputError(`${source.name}: not valid JSON: ${json?.error ?? 'no object'}`);
  if (json?.ok) {
    const object = json.value;
    const ops = patchFor(object, options, edit);
    if (ops.length === 0) return source.text;
    const errors = applyPatch(object, ops).filter(Boolean);
    if (errors.length > 0) throw new Error(`${source.name}: ${errors[0]?.message}`);
    return `${JSON.stringify(object, null, 2)}\n`;
  }
  // CRLF files are edited as LF and given back with CRLF.
  const crlf = source.text.includes('\r\n');
  const text = crlf ? source.text.replace(/\r\n/g, '\n') : source.text;
  const out = splitYaml(text)
    .map(({ marker, body }) => {
      // Comments and directives (%YAML) only: nothing to parse on its own.
      if (body.split('\n').every((line) => /^\s*(#.*)?$|^%/.test(line))) return marker + body;
      const doc = parseDocument(body, { merge: true });
      if (doc.errors.length > 0) {
        // Neither JSON nor YAML: for text that looked like JSON, JSON's complaint is the useful one.
        if (json && !json.ok) throw new InputError(`${source.name}: not valid JSON: ${json.error}`);
        const error = doc.errors[0];
        const line = text.slice(0, text.indexOf(body) + (error.pos?.[0] ?? 0)).split('\n').length;
        throw new InputError(`${source.name}:${line}: not valid YAML: ${error.message.split('\n')[0]}`);
      }
      let object: unknown;
      try {
        object = doc.toJS();
      } catch (error) {
        throw new InputError(`${source.name}: not valid YAML: ${(error as Error).message}`);
      }
      const ops = patchFor(object, options, edit);
      if (ops.length === 0) return marker + body;
      try {
        applyToYaml(doc, ops);
      } catch (error) {
        throw new InputError(`${source.name}: cannot inject here (${(error as Error).message}); expand YAML aliases in the pod template`);
      }
      // A document edited from the marker line starts on the next one: block YAML cannot share it.
      // Written back in the document's own sequence style, so unchanged lines keep their bytes.
      const indentSeq = !/^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(body);
      return `${marker === '' || marker.endsWith('\n') ? marker : '---\n'}${doc.toString({ indentSeq })}`;
    })
    .join('');
  return crlf ? out.replace(/\n/g, '\r\n') : out;
}

/** Several sources as one stream: YAML documents separated by markers, as kubectl apply -f - reads them. */
function editSources(sources: Source[], options: InjectOptions, edit: PodEdit): string {
  const texts = sources.map((source) => editSource(source, options, edit));
  if (texts.length === 1) return texts[0];
  return texts.map((t) => (t.endsWith('\n') || t === '' ? t : `${t}\n`)).join('---\n');
}

/** kubectl pando inject: every protected pod and pod template injected as the webhook would. */
export function injectSources(sources: Source[], config: Config, options: InjectOptions = {}): { text: string; outcomes: Outcome[] } {
  const outcomes: Outcome[] = [];
  return { text: editSources(sources, options, injectEdit(config, outcomes)), outcomes };
}

/** kubectl pando uninject: what inject or the webhook added, taken out; the objects it changed. */
export function uninjectSources(sources: Source[], options: InjectOptions = {}): { text: string; removed: string[] } {
  const removed: string[] = [];
  return { text: editSources(sources, options, uninjectEdit(removed)), removed };
}
