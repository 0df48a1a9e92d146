// Low-level sockets (issue 11): the seed's echo server written on sockAccept / sockRecv /
// sockSendall (bench/echo-server.mjs --mode sock), driven by the echo rows' load client, against
// the plain node:net echo server. Figures are requests per second (higher is better), with the
// p50/p99 round trip and the server's CPU µs per request as the note (see echo.mjs).
import path from 'node:path';
import { measure } from './echo.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const server = path.join(here, '..', 'echo-server.mjs');
const node = process.execPath;

export default [
  {
    name: 'sock-echo-1k-c10',
    unit: 'req/s',
    higherIsBetter: true,
    baseline: 'node:net',
    run: ({ loopName }) => measure(node, [server, '--loop', loopName, '--mode', 'sock'], 10, 1024),
    runBaseline: () => measure(node, [server, '--loop', 'node'], 10, 1024),
  },
];
