// Test support: the function served the way the framework serves it, as the reference the
// production host is compared with (test/same-bytes.test.ts). The functions-framework's own
// Express app (getTestServer) runs the registered function; in front of it, the same body
// limits as the host (host/body.ts), without which Express would buffer any body up to 1 GB and
// answer malformed JSON with an HTML page. A request without a body goes to Express untouched,
// so the framework's body parsers decide what the function gets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { http as registerHttp } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Config } from '../../function/config';
import { createHandler, HandlerRequest, sendJson } from '../../function/http';
import type { Logger } from '../../function/log';
import { hasBody, MAX_BODY_BYTES, readBody, refuseBody } from '../../function/host/body';
import { serverOptions, ServerTimeouts, SERVER_TIMEOUTS } from '../../function/host/server';

let registered = 0;

type ExpressApp = http.RequestListener & {
  use(handler: (err: unknown, req: http.IncomingMessage, res: http.ServerResponse, next: unknown) => void): void;
};

/** The framework's app serving `createHandler(config, log)`, behind the body limits. */
export function frameworkListener(config: Config, log: Logger): http.RequestListener {
  const name = `admit-reference-${++registered}`;
  registerHttp(name, createHandler(config, log));
  const app = getTestServer(name).listeners('request')[0] as ExpressApp;
  // Instead of Express's HTML error page, which logs the error stack (and so request content).
  app.use((err, _req, res, _next) => {
    const status = typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500;
    log('error', 'request failed', { status, error: (err as Error)?.name });
    if (!res.headersSent) sendJson(res, status, { error: status === 500 ? 'internal error' : 'bad request' });
  });
  return (req, res) => {
    // The asterisk form (OPTIONS *) matches no Express route and would get its HTML 404 page.
    if (req.url === '*') return sendJson(res, 404, { error: 'no such path: *' });
    if (!hasBody(req)) return app(req, res);
    readBody(req, MAX_BODY_BYTES, (result) => {
      if (!result.ok) return refuseBody(req, res, result, log);
      (req as HandlerRequest).body = result.body;
      app(req, res);
    });
  };
}

export interface ReferenceServer {
  port: number;
  close(): Promise<void>;
}

/** The reference on loopback, with the host's timeouts. */
export async function startFrameworkHost(config: Config, log: Logger, timeouts: ServerTimeouts = SERVER_TIMEOUTS): Promise<ReferenceServer> {
  const server = http.createServer(serverOptions(timeouts), frameworkListener(config, log));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
