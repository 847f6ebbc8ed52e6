// The serving certificate as mounted files (a Kubernetes Secret volume): read, watched for
// renewal, and waited for when the Secret is still empty at start (the setup Job fills it).
import { readFileSync, statSync } from 'node:fs';
import type https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../log';
import { TLS_POLICY } from './policy';

/** Where the HTTPS listener answers with the certificate it serves now (kubectl pando check reads it). */
export const CERTIFICATE_PATH = '/tls/certificate';

export interface PairFiles {
  certFile: string;
  keyFile: string;
}
export interface Pair {
  cert: Buffer;
  key: Buffer;
  stamp: string;
}

/** Changes whenever either file is replaced (Secret volumes swap a symlink: new inode). */
function stampOf({ certFile, keyFile }: PairFiles): string {
  return [certFile, keyFile]
    .map((f) => {
      const s = statSync(f);
      return `${s.ino}:${s.mtimeMs}:${s.size}`;
    })
    .join('|');
}

/** Reads both files and checks they make a usable pair; throws with the reason otherwise. */
export function readPair(files: PairFiles): Pair {
  const stamp = stampOf(files);
  const pair = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), stamp };
  createSecureContext({ cert: pair.cert, key: pair.key }); // throws on garbage or a key of another certificate
  return pair;
}

/**
 * Re-reads the pair when either file changes, checked before each new TLS connection, so a
 * renewed certificate is served from the next connection on. A half-replaced pair keeps the
 * certificate in use and is retried once the files change again (not on every connection: a pair
 * that stays broken would otherwise cost a read and a log line per connection).
 */
export function reloadOnChange(server: https.Server, files: PairFiles, loaded: Pair, log: Logger, onReload: (cert: Buffer) => void = () => {}): void {
  let stamp = loaded.stamp;
  let failed = '';
  server.prependListener('connection', () => {
    let now = '';
    try {
      now = stampOf(files);
      if (now === stamp || now === failed) return;
      const pair = readPair(files);
      server.setSecureContext({ ...TLS_POLICY, cert: pair.cert, key: pair.key }); // a new context: the policy again
      stamp = pair.stamp;
      onReload(pair.cert);
      log('info', 'TLS certificate reloaded', { certFile: files.certFile });
    } catch (error) {
      failed = now;
      log('error', 'TLS certificate reload failed, serving the previous one', { certFile: files.certFile, error: (error as Error).message });
    }
  });
}

export interface WaitSchedule {
  firstMs: number;
  maxMs: number;
  giveUpMs: number;
}
/** Secret volumes catch up within a minute or two of the Secret being filled. */
export const TLS_WAIT: WaitSchedule = { firstMs: 250, maxMs: 5_000, giveUpMs: 10 * 60_000 };

/**
 * Polls, with a growing interval, until the pair can be read; resolves with it, or with
 * undefined after giveUpMs or once stopped. Logs when it starts waiting and when the reason changes.
 */
export function waitForPair(files: PairFiles, log: Logger, schedule = TLS_WAIT) {
  const started = Date.now();
  let lastReason = '';
  const tryRead = () => {
    try {
      return readPair(files);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (reason !== lastReason) {
        log(lastReason ? 'warn' : 'info', 'waiting for the TLS certificate files, serving HTTP only', {
          ...files,
          reason,
          giveUpSeconds: schedule.giveUpMs / 1000,
        });
        lastReason = reason;
      }
      return undefined;
    }
  };
  const initial = tryRead();
  if (initial) return { pair: Promise.resolve<Pair | undefined>(initial), foundAtStart: true, stop: () => {} };

  let timer: NodeJS.Timeout | undefined;
  let finish: (pair: Pair | undefined) => void = () => {};
  const pair = new Promise<Pair | undefined>((resolve) => {
    finish = (value) => {
      clearTimeout(timer);
      finish = () => {};
      resolve(value);
    };
    const poll = (delay: number) => {
      timer = setTimeout(() => {
        const found = tryRead();
        if (found) return finish(found);
        if (Date.now() - started >= schedule.giveUpMs) {
          log('error', 'TLS certificate files did not appear in time: is the TLS Secret filled (setup Job, cert-manager)?', {
            ...files,
            waitedSeconds: Math.round((Date.now() - started) / 1000),
          });
          return finish(undefined);
        }
        poll(Math.min(delay * 2, schedule.maxMs));
      }, delay);
    };
    poll(schedule.firstMs);
  });
  return { pair, foundAtStart: false, stop: () => finish(undefined) };
}
