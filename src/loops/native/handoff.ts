/**
 * `{ sock }` on the native loop: a Socket of the low-level API (./sock.ts) handed to a transport,
 * server or datagram endpoint, as asyncio's `create_connection(sock=...)` & co. The fd goes to a
 * libuv handle of its kind (uv_tcp_open / uv_pipe_open / uv_udp_open, native/socket.cc
 * `OpenFd`), which owns it from then on; the Socket is closed (its watches first).
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol, StreamProtocol } from '../../protocols.js';
import { AF_INET6, AF_UNIX, type Socket } from '../../socket.js';
import type { DatagramTransport, Server, Transport } from '../../transports.js';
import { startEndpoint } from '../io/datagram-transport.js';
import type { NativeIo } from './io.js';
import { NativeServer } from './server.js';
import type { NativeSocket } from './sock.js';
import { NativeStreamTransport, startClient } from './stream.js';
import { NativeDatagramTransport } from './udp.js';

/** HandleKind (native/io.h). */
const TCP = 0;
const PIPE = 1;
const UDP = 2;

/** The Socket's fd, now a handle of `kind`: its id. */
function open(io: NativeIo, sock: Socket, kind: number, listener: boolean, backlog: number): number {
  const s = sock._detach('native') as NativeSocket;
  const id = io.native.openFd(s.detach(), kind, listener, backlog);
  if (id < 0) throw io.error(id, 'open');
  return id;
}

/** createConnection / createUnixConnection with `{ sock }`: a connected stream Socket. */
export function connectionFromSock<P extends StreamProtocol>(loop: AbstractEventLoop, getIo: () => NativeIo, protocolFactory: () => P, sock: Socket): Future<[Transport, P]> {
  (sock._use('native', 'getpeername') as NativeSocket).getpeername(); // ENOTCONN unless connected
  const unix = sock.family === AF_UNIX;
  const io = getIo();
  const id = open(io, sock, unix ? PIPE : TCP, false, 0);
  const transport = new NativeStreamTransport(loop, io, id, null, unix);
  transport._cacheAddresses();
  return loop.createTask(function* () {
    return startClient(transport, protocolFactory);
  });
}

/** createServer / createUnixServer with `{ sock }`: a bound (or listening) stream Socket. */
export function serverFromSock(loop: AbstractEventLoop, getIo: () => NativeIo, protocolFactory: () => StreamProtocol, sock: Socket, backlog: number, startServing: boolean): Future<Server> {
  const unix = sock.family === AF_UNIX;
  const name = (sock._use('native', 'getsockname') as NativeSocket).getsockname();
  const io = getIo();
  const id = open(io, sock, unix ? PIPE : TCP, true, backlog);
  const server = new NativeServer(loop, io, protocolFactory);
  server._adoptListener(id, name);
  if (startServing) server._startServing();
  const fut = loop.createFuture<Server>();
  fut.setResult(server as Server);
  return fut;
}

/** createDatagramEndpoint with `{ sock }`: a bound SOCK_DGRAM Socket (connected or not). */
export function endpointFromSock<P extends DatagramProtocol>(loop: AbstractEventLoop, getIo: () => NativeIo, protocolFactory: () => P, sock: Socket): Future<[DatagramTransport, P]> {
  const s = sock._use('native', 'getsockname') as NativeSocket;
  if ((s.getsockname() as [string, number])[1] === 0) throw new TypeError('sock must be bound (sock.bind([host, 0]) first)');
  let remote: [string, number] | null = null;
  try {
    remote = s.getpeername() as [string, number];
  } catch {
    // Not connected.
  }
  const family = sock.family === AF_INET6 ? 6 : 4;
  const io = getIo();
  const id = open(io, sock, UDP, false, 0);
  return loop.createTask(function* () {
    return yield* startEndpoint(loop, protocolFactory, (protocol) => new NativeDatagramTransport(loop, io, id, protocol, family, remote), () => io.native.udpClose(id, true));
  });
}
