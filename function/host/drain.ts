// Draining on SIGTERM: stop accepting, answer every request already sent, then resolve.
//   requests in progress or still arriving   answered, with Connection: close
//   idle keep-alive connections              closed after IDLE_GRACE_MS
//   requests still running after timeoutMs   their connections cut; a warning says how many
import net from 'node:net';
import type http from 'node:http';
import type { Logger } from '../log';

/** During a drain, how long a keep-alive connection with no request in progress is left open. */
export const IDLE_GRACE_MS = 1000;

export interface Drainer {
  /** Call for each request: tracks it until its answer ends, marked Connection: close once draining. */
  track(res: http.ServerResponse): void;
  /** The servers to close when draining (a server added while draining is closed at once). */
  add(server: http.Server): void;
  readonly draining: boolean;
  readonly inFlight: number;
  /** Starts the drain (once); resolves when every server has closed, or after the timeout. */
  drain(): Promise<void>;
}

export function createDrainer(timeoutMs: number, log: Logger, idleGraceMs = IDLE_GRACE_MS): Drainer {
  const servers: http.Server[] = [];
  const inFlight = new Set<http.ServerResponse>();
  const forget = function (this: http.ServerResponse) {
    inFlight.delete(this);
  };
  let drained: Promise<void> | undefined;

  // Stop accepting, but close idle keep-alive connections only a moment later: under load a
  // request may sit unread on a connection that looks idle, and http.Server.close() would close
  // it at once, resetting that request. Within the grace, such requests are read and answered
  // with Connection: close; what is still idle then is a client's idle pool.
  const close = (server: http.Server) =>
    new Promise<void>((resolve) => {
      const sweep = setInterval(() => server.closeIdleConnections(), idleGraceMs);
      net.Server.prototype.close.call(server, () => {
        clearInterval(sweep);
        resolve();
      });
    });

  const drainer: Drainer = {
    track(res) {
      if (drained) res.setHeader('connection', 'close');
      inFlight.add(res);
      res.once('close', forget);
    },
    add(server) {
      servers.push(server);
      if (drained) void close(server);
    },
    get draining() {
      return drained !== undefined;
    },
    get inFlight() {
      return inFlight.size;
    },
    drain() {
      if (drained) return drained;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      drained = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log('warn', 'drain timed out, closing the remaining connections', { inFlight: inFlight.size });
          servers.forEach((s) => s.closeAllConnections());
          resolve();
        }, timeoutMs);
        timer.unref();
        void Promise.all(servers.map(close)).then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return drained;
    },
  };
  return drainer;
}
