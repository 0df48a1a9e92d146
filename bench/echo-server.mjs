// An echo server for the echo benchmarks (bench/workloads/echo.mjs, bench/echo-client.mjs).
//
//   node bench/echo-server.mjs --loop pure|native|node --mode protocol|buffered|streams [--port N] [--host H]
//
// Prints `listening <port>` once ready and serves until killed. `--loop node` is plain node:net
// (the baseline: socket.on('data', d => socket.write(d))); the others run aloop on that loop, in
// the given mode: a Protocol, a BufferedProtocol (a reused 64 KiB buffer), or streams
// (a generator handler: read, write, drain). Needs the build (`npm run build`).
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const here = path.dirname(new URL(import.meta.url).pathname);
const opts = { loop: 'pure', mode: 'protocol', port: 0, host: '127.0.0.1' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (!(k in opts)) fail(`unknown option ${argv[i]}`);
  opts[k] = k === 'port' ? Number(argv[++i]) : argv[++i];
}
if (!['pure', 'native', 'node'].includes(opts.loop)) fail(`--loop must be pure, native or node, not ${opts.loop}`);
if (!['protocol', 'buffered', 'streams', 'sock'].includes(opts.mode)) fail(`--mode must be protocol, buffered, streams or sock, not ${opts.mode}`);

function fail(msg) {
  console.error(`echo-server: ${msg}`);
  process.exit(2);
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

if (opts.loop === 'node') {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
  });
  server.listen(opts.port, opts.host, () => console.log(`listening ${server.address().port}`));
} else {
  let aio;
  try {
    aio = await import(pathToFileURL(path.resolve(here, '../dist/index.js')).href);
  } catch (e) {
    fail(`cannot load dist/index.js (run \`npm run build\` first): ${e.message}`);
  }
  let newLoop = () => new aio.PureEventLoop();
  if (opts.loop === 'native') {
    let native;
    try {
      native = await import(pathToFileURL(path.resolve(here, '../dist/native.js')).href);
    } catch (e) {
      fail(`the native loop is not available (dist/native.js): ${e.message.split('\n')[0]}`);
    }
    if (!native.isAvailable()) fail('the native loop is not available: the addon did not load (see `aloop/native` error)');
    newLoop = () => new native.NativeEventLoop();
  }
  if (opts.mode === 'sock') {
    // Low-level sockets (bench row sock-echo-*): the seed's server, an accept loop and one task
    // per client doing sockRecv / sockSendall until EOF.
    await aio.run(async () => {
      const loop = aio.getRunningLoop();
      const server = aio.socket(aio.AF_INET, aio.SOCK_STREAM);
      server.bind([opts.host, opts.port]);
      server.listen(1024);
      server.setblocking(false);
      console.log(`listening ${server.getsockname()[1]}`);
      const serve = async (client) => {
        for (;;) {
          const d = await loop.sockRecv(client, 64 * 1024);
          if (d.length === 0) break;
          await loop.sockSendall(client, d);
        }
        client.close();
      };
      for (;;) {
        const [client] = await loop.sockAccept(server);
        client.setblocking(false);
        loop.createTask(serve(client)).addDoneCallback(() => {});
      }
    }, { loopFactory: newLoop });
    process.exit(0);
  }
  await aio.run(function* () {
    const loop = aio.getRunningLoop();
    let server;
    if (opts.mode === 'protocol') {
      server = yield* loop.createServer(() => {
        let t;
        return {
          connectionMade: (tr) => void (t = tr),
          dataReceived: (d) => t.write(d),
        };
      }, opts.host, opts.port, { backlog: 1024 });
    } else if (opts.mode === 'buffered') {
      server = yield* loop.createServer(() => {
        let t;
        const buf = Buffer.allocUnsafe(64 * 1024);
        return {
          connectionMade: (tr) => void (t = tr),
          getBuffer: () => buf,
          // The transport keeps what it is given until sent: hand it a copy of the reused buffer.
          bufferUpdated: (n) => t.write(Buffer.from(buf.subarray(0, n))),
        };
      }, opts.host, opts.port, { backlog: 1024 });
    } else {
      server = yield* aio.startServer(function* (reader, writer) {
        for (;;) {
          const d = yield* reader.read(64 * 1024);
          if (d.length === 0) break;
          writer.write(d);
          yield* writer.drain();
        }
        writer.close();
      }, opts.host, opts.port, { backlog: 1024 });
    }
    console.log(`listening ${server.sockets[0].getsockname()[1]}`);
    yield* server.serveForever();
  }, { loopFactory: newLoop });
}
