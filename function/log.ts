// Structured logs: one JSON object per line on stdout. Callers pass only chosen fields, never a
// request body, a pod spec or a secret.
export type LogFields = Record<string, unknown>;
export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: LogFields) => void;

/** Longest string a field may hold: a hostile request cannot make a log line megabytes long. */
export const LOG_FIELD_MAX = 256;
const capStrings = (_key: string, value: unknown) => (typeof value === 'string' && value.length > LOG_FIELD_MAX ? `${value.slice(0, LOG_FIELD_MAX)}…` : value);

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
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
