// The cold-start floor: a bare node:http hello world, started the way the image starts the
// webhook (node <file>), answering any request with a fixed text. PORT from the environment.
import http from 'node:http';

export const HELLO = 'hello world';

if (require.main === module) {
  http
    .createServer((req, res) => {
      req.resume();
      res.end(HELLO);
    })
    .listen(Number(process.env.PORT ?? 8080), '127.0.0.1');
}
