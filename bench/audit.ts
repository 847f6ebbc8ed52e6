// The API server's own time for every pod creation of the bench, from its audit log: each event
// holds when the request was received and when its answer was complete, in microseconds. The
// pods of a burst are created by controllers, whose client we cannot time; the audit log times
// them all the same. Only pod creations in the bench's namespaces are logged, in batches (not in
// the request path), so the log costs every setup alike and little.
import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The kube-apiserver flags that write the audit log, and the policy they name. */
export function auditFlags(dir: string, namespaces: string[]): { flags: string[]; log: string } {
  const policy = join(dir, 'bench-audit-policy.json');
  const log = join(dir, 'bench-audit.log');
  writeFileSync(
    policy,
    JSON.stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived', 'ResponseStarted'],
      rules: [{ level: 'Metadata', verbs: ['create'], resources: [{ group: '', resources: ['pods'] }], namespaces }, { level: 'None' }],
    }),
  );
  const flags = [
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${log}`,
    '--audit-log-format=json',
    '--audit-log-mode=batch',
    '--audit-log-batch-max-wait=1s',
  ];
  return { flags, log };
}

/** Where the log ends now: a turn reads what was written after it. */
export const auditOffset = (log: string) => (existsSync(log) ? statSync(log).size : 0);

/** 2026-12-05T19:40:00.123456Z -> microseconds since the epoch (Date.parse keeps milliseconds only). */
export function microsOf(stamp: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(stamp);
  if (!match) throw new Error(`not an audit timestamp: ${stamp}`);
  return Date.parse(`${match[1]}Z`) * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
}

export interface AuditedCreations {
  /** The API server's time per pod creation, received to answered, in ms. */
  latenciesMs: number[];
  /** Creations answered with anything but 201. */
  failed: number;
  /** Creations that a webhook failed open on (failurePolicy Ignore: admitted unchanged). */
  failedOpen: number;
}

interface AuditEvent {
  verb?: string;
  stage?: string;
  objectRef?: { resource?: string; namespace?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

/** The pod creations in `namespace` logged after `offset`. */
export function readCreations(log: string, offset: number, namespace: string): AuditedCreations {
  const text = readFrom(log, offset);
  const result: AuditedCreations = { latenciesMs: [], failed: 0, failedOpen: 0 };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line) as AuditEvent;
    const ref = event.objectRef;
    if (event.verb !== 'create' || event.stage !== 'ResponseComplete' || ref?.resource !== 'pods' || ref.subresource || ref.namespace !== namespace) continue;
    result.latenciesMs.push((microsOf(event.stageTimestamp) - microsOf(event.requestReceivedTimestamp)) / 1000);
    if (event.responseStatus?.code !== 201) result.failed++;
    if (Object.keys(event.annotations ?? {}).some((key) => key.startsWith('failed-open.'))) result.failedOpen++;
  }
  return result;
}

/** The whole lines of `file` written after `offset` ('' when it does not exist yet). */
export function readFrom(file: string, offset: number): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const buffer = Buffer.alloc(Math.max(0, size - offset));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  // A batch may be half written: only whole lines.
  const text = buffer.toString('utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1);
}
