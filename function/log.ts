// Structured logs: one JSON object per line on stdout. Callers pass only chosen fields, never a
// request body, a pod spec or a secret.
export type LogFields = Record<string, unknown>;
export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: LogFields) => void;

/** Longest string a field may hold: a hostile request cannot make a log line megabytes long. */
export const LOG_FIELD_MAX = 256;
const capStrings = (_key: string, value: unknown) => (typeof value === 'string' && value.length > LOG_FIELD_MAX ? `${value.slice(0, LOG_FIELD_MAX)}…` : value);

/** Characters held before they are written, whatever the turn of the event loop: memory stays bounded. */
export const LOG_BATCH_MAX_CHARS = 64 * 1024;

/**
 * Lines logged in one turn of the event loop, written together at its end: stdout is a pipe in a
 * container, and Node writes to pipes synchronously, one write(2) per call, each waking the
 * container's log reader. Under a burst, one turn answers many admissions. Nothing is held past
 * the turn, and what is held is written on exit (process.exit and uncaught errors included).
 */
export function batchedWriter(write: (text: string) => void, onExit: (flush: () => void) => void = (flush) => process.on('exit', flush)) {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  onExit(flush);
  return (line: string) => {
    if (pending === '') setImmediate(flush);
    pending += line;
    if (pending.length >= LOG_BATCH_MAX_CHARS) flush();
  };
}

let stdoutWriter: ((line: string) => void) | undefined;
/** One batched writer per process for stdout, however many loggers write to it. */
const batchedStdout = (line: string) => (stdoutWriter ??= batchedWriter((text) => process.stdout.write(text)))(line);

export function jsonLogger(write: (line: string) => void = batchedStdout): Logger {
  return (level, msg, fields) => {
    // Flat fields (all callers so far) are capped here, so JSON.stringify runs without a
    // replacer, which would be called on every key; a nested value brings the replacer back.
    const entry: LogFields = { time: new Date().toISOString(), level, msg };
    let nested = false;
    for (const key in fields) {
      const value = fields[key];
      if (typeof value === 'object' && value !== null) nested = true;
      entry[key] = capStrings(key, value);
    }
    write(`${JSON.stringify(entry, nested ? capStrings : undefined)}\n`);
  };
}
