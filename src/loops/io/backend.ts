/**
 * The seam between a loop and the I/O under it. `BaseEventLoop` owns the public methods: it
 * checks that the loop is open and checks every argument (args.ts) once, for every loop, then
 * hands the checked arguments to its backend. Two backends implement this interface:
 *
 *   pure/backend.ts    NodeBackend: node:net, node:dgram (the pure-TS loop)
 *   native/backend.ts  NativeBackend: the addon's libuv handles (the native loop)
 *
 * What both share (the transports' protocol side, the server's bookkeeping, argument checks,
 * name resolution) lives beside this file in `io/`, so imports run one way: pure → io ← native.
 * A backend is made lazily, at the loop's first I/O, and closed with the loop.
 */
import type { Handle } from '../../events.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol, StreamProtocol, SubprocessProtocol } from '../../protocols.js';
import type { DatagramTransport, Server, SubprocessTransport, Transport } from '../../transports.js';
import type { ConnectionArgs, ServerArgs, UnixServerArgs } from './args.js';
import type { EndpointArgs } from './datagram-transport.js';
import type { SpawnSpec } from './subprocess.js';
import type { Socket, SocketImpl } from '../../socket.js';

export interface IoBackend {
  // --- streams and datagrams (asyncio's create_* methods, arguments already checked) ----------
  createConnection<P extends StreamProtocol>(protocolFactory: () => P, args: ConnectionArgs): Future<[Transport, P]>;
  createServer(protocolFactory: () => StreamProtocol, args: ServerArgs): Future<Server>;
  createUnixConnection<P extends StreamProtocol>(protocolFactory: () => P, path: string): Future<[Transport, P]>;
  createUnixServer(protocolFactory: () => StreamProtocol, args: UnixServerArgs): Future<Server>;
  createDatagramEndpoint<P extends DatagramProtocol>(protocolFactory: () => P, args: EndpointArgs): Future<[DatagramTransport, P]>;

  // --- child processes (io/subprocess.ts checks the arguments, io/subprocess-transport.ts is the
  // protocol side): spawns `spec`; done once the pipes are connected and connectionMade has run.
  spawnSubprocess<P extends SubprocessProtocol>(protocolFactory: () => P, spec: SpawnSpec): Future<[SubprocessTransport, P]>;

  // --- file descriptors: `handle` runs as a loop callback while `fd` is readable (writable) ----
  addReader(fd: number, handle: Handle): void;
  removeReader(fd: number): boolean;
  addWriter(fd: number, handle: Handle): void;
  removeWriter(fd: number): boolean;

  // --- low-level sockets (src/socket.ts): the sock* work is the SocketImpl's --------------------
  /** 'native' (real OS sockets) or 'pure' (node:net/dgram): a Socket works on backends of its kind. */
  readonly socketKind: 'native' | 'pure';
  /** The implementation of a new Socket (`socket()`). */
  socket(family: number, type: number): SocketImpl;
  /** `{ sock }` (checked: a Socket of this kind, of the right type): a transport, server or endpoint on it. */
  connectionFromSock<P extends StreamProtocol>(protocolFactory: () => P, sock: Socket): Future<[Transport, P]>;
  serverFromSock(protocolFactory: () => StreamProtocol, sock: Socket, backlog: number, startServing: boolean): Future<Server>;
  endpointFromSock<P extends DatagramProtocol>(protocolFactory: () => P, sock: Socket): Future<[DatagramTransport, P]>;

  /** The loop is closing: release every handle, socket and server still open. */
  close(): void;
}
