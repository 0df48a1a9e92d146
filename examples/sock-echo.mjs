// The seed's echo server on low-level sockets, as asyncio programs write it with sock_accept /
// sock_recv / sock_sendall: an accept loop, and one task per client that echoes until EOF.
// Here main() also runs three clients against it (on the same sockets API) and prints what came
// back, then stops the server.
//   npm run build && node examples/sock-echo.mjs              (the pure loop)
//   npm run build && ALOOP_NATIVE=1 node examples/sock-echo.mjs   (the native loop: real OS sockets)
import * as aio from 'aloop';

async function handleClient(client) {
  const loop = aio.getRunningLoop();
  for (;;) {
    const data = await loop.sockRecv(client, 255);
    if (data.length === 0) break; // the client closed its side
    await loop.sockSendall(client, data);
  }
  client.close();
}

async function runServer(server) {
  const loop = aio.getRunningLoop();
  const clients = new Set();
  try {
    for (;;) {
      const [client] = await loop.sockAccept(server);
      const t = loop.createTask(handleClient(client));
      clients.add(t);
      t.addDoneCallback(() => clients.delete(t));
    }
  } finally {
    for (const t of clients) t.cancel();
  }
}

async function client(port, name) {
  const loop = aio.getRunningLoop();
  const sock = aio.socket(aio.AF_INET, aio.SOCK_STREAM);
  try {
    sock.setblocking(false);
    await loop.sockConnect(sock, ['127.0.0.1', port]);
    await loop.sockSendall(sock, `hello from ${name}\n`);
    sock.shutdown(aio.SHUT_WR);
    let reply = '';
    for (;;) {
      const data = await loop.sockRecv(sock, 255);
      if (data.length === 0) break;
      reply += data.toString();
    }
    return reply.trim();
  } finally {
    sock.close();
  }
}

async function main() {
  const server = aio.socket(aio.AF_INET, aio.SOCK_STREAM);
  server.bind(['127.0.0.1', 0]); // port 0: any free port (the seed used 15555)
  server.listen(8);
  server.setblocking(false);
  const port = server.getsockname()[1];
  const serving = aio.ensureFuture(runServer(server));
  const replies = await aio.gather(client(port, 'a'), client(port, 'b'), client(port, 'c'));
  for (const r of replies) console.log(`echoed: ${r}`);
  serving.cancel();
  await aio.gather([serving], { returnExceptions: true });
  server.close(); // (`using server = ...` where the runtime has explicit resource management)
}

if (process.env.ALOOP_NATIVE === '1') {
  const native = await import('aloop/native');
  await native.run(main);
} else {
  await aio.run(main);
}
