/**
 * `{ sock }` on the pure loop: a Socket of the low-level API (./sock.ts) handed to a transport,
 * server or datagram endpoint, as asyncio's `create_connection(sock=...)` & co. The node objects
 * move into the new owner, with what the Socket had received and not handed out yet (a stream's
 * unread bytes, a listener's connections not accepted). The Socket is closed from then on.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol, StreamProtocol } from '../../protocols.js';
import { AF_UNIX, type Socket } from '../../socket.js';
import type { DatagramTransport, Server, Transport } from '../../transports.js';
import { startEndpoint } from '../io/datagram-transport.js';
import { hold } from './resources.js';
import { NodeServer } from './server.js';
import { connectionFromSocket } from './tcp.js';
import { DatagramSocketTransport } from './udp.js';
import type { PureSocket } from './sock.js';

function impl(sock: Socket): PureSocket {
  return sock._use('pure', 'detach') as PureSocket;
}

/** createConnection / createUnixConnection with `{ sock }`: a connected stream Socket. */
export function connectionFromSock<P extends StreamProtocol>(loop: AbstractEventLoop, protocolFactory: () => P, sock: Socket): Future<[Transport, P]> {
  const s = impl(sock);
  if (s.state !== 'connected') throw new TypeError('sock must be a connected socket (sockConnect or sockAccept first)');
  const unix = sock.family === AF_UNIX;
  const peer = unix ? (s.getpeername() as string) : null;
  sock._detach('pure');
  const d = s.detach();
  return connectionFromSocket(loop, d.stream!, unix, peer, protocolFactory, d.unread);
}

/** createServer / createUnixServer with `{ sock }`: a bound (or listening) stream Socket. */
export function serverFromSock(loop: AbstractEventLoop, protocolFactory: () => StreamProtocol, sock: Socket, backlog: number, startServing: boolean): Future<Server> {
  const s = impl(sock);
  if (s.state === 'connected') throw new TypeError('sock must be a bound or listening socket, not a connected one');
  // Listening now if it was only bound (asyncio's server calls sock.listen(backlog)).
  s.listenForHandoff(backlog);
  const path = sock.family === AF_UNIX ? (s.getsockname() as string) : null;
  sock._detach('pure');
  const d = s.detach();
  const server = new NodeServer(loop, protocolFactory, path);
  server._adoptNodeServer(d.server!, d.pending);
  if (startServing) server._startServing();
  const fut = loop.createFuture<Server>();
  fut.setResult(server as Server);
  return fut;
}

/**
 * createDatagramEndpoint with `{ sock }`: a bound SOCK_DGRAM Socket (connected or not). Datagrams
 * it had queued and not handed out are dropped, as UDP may drop any.
 */
export function endpointFromSock<P extends DatagramProtocol>(loop: AbstractEventLoop, protocolFactory: () => P, sock: Socket): Future<[DatagramTransport, P]> {
  const s = impl(sock);
  const name = s.getsockname() as [string, number];
  if (name[1] === 0) throw new TypeError('sock must be bound (sock.bind([host, 0]) first)');
  let remote: [string, number] | null = null;
  try {
    remote = s.getpeername() as [string, number];
  } catch {
    // Not connected.
  }
  sock._detach('pure');
  const socket = s.detach().dgram!;
  hold(loop, socket, () => socket.close());
  return loop.createTask(function* () {
    return yield* startEndpoint(loop, protocolFactory, (protocol) => new DatagramSocketTransport(loop, socket, protocol, remote), () => socket.close());
  });
}
