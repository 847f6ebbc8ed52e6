// Structured logs: one JSON object per line on stdout. Callers pass only chosen fields, never a
// request body, a pod spec or a secret.
export type LogFields = Record<string, unknown>;
export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: LogFields) => void;

/** Longest string a field may hold: a hostile request cannot make a log line megabytes long. */
export const LOG_FIELD_MAX = 256;
const capStrings = (_key: string, value: unknown) => (typeof value === 'string' && value.length > LOG_FIELD_MAX ? `${value.slice(0, LOG_FIELD_MAX)}…` : value);

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return (level, msg, fields) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }, capStrings)}\n`);
  };
}
