/**
 * The native loop's I/O (io/backend.ts): TCP and Unix sockets on the addon's libuv streams, UDP
 * on uv_udp_t (native/io.h), instead of node:net and node:dgram. The handles live in the C++
 * IoTable of the loop (made with the first of them) and close with the loop's native half.
 */
import type { Handle } from '../../events.js';
import type { BaseEventLoop } from '../base.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol, StreamProtocol, SubprocessProtocol } from '../../protocols.js';
import type { DatagramTransport, Server, SubprocessTransport, Transport } from '../../transports.js';
import type { ConnectionArgs, ServerArgs, UnixServerArgs } from '../io/args.js';
import type { IoBackend } from '../io/backend.js';
import type { EndpointArgs } from '../io/datagram-transport.js';
import type { SpawnSpec } from '../io/subprocess.js';
import { spawnSubprocess } from './process.js';
import type { NativeBinding, NativeLoopHandle } from './binding.js';
import { NativeIo } from './io.js';
import { createUnixConnection, createUnixServer } from './pipe.js';
import { createServer } from './server.js';
import { createConnection } from './tcp.js';
import { createDatagramEndpoint } from './udp.js';
import type { Socket, SocketImpl } from '../../socket.js';
import * as handoff from './handoff.js';
import { FdWatches, registerFdWatches } from './poll.js';
import { NativeSocket } from './sock.js';

export class NativeBackend implements IoBackend {
  readonly #loop: BaseEventLoop;
  readonly #binding: NativeBinding;
  readonly #native: NativeLoopHandle;
  /** Sockets and pipes in C++ (made with the first connection, server or endpoint). */
  #io: NativeIo | null = null;
  readonly #getIo = (): NativeIo => (this.#io ??= new NativeIo(this.#loop, this.#binding, this.#native));

  /** fd watches on uv_poll_t (poll.ts): addReader & co. and the sock* waits. */
  readonly #fds: FdWatches;

  constructor(loop: BaseEventLoop, binding: NativeBinding, native: NativeLoopHandle) {
    this.#loop = loop;
    this.#binding = binding;
    this.#native = native;
    this.#fds = new FdWatches(loop, this.#getIo);
    registerFdWatches(loop, this.#fds);
  }

  /** Called at each iteration before timers: the I/O events C++ recorded since the last one. */
  collect(): void {
    if (this.#io !== null) this.#io.collect();
  }

  createConnection<P extends StreamProtocol>(protocolFactory: () => P, args: ConnectionArgs): Future<[Transport, P]> {
    return createConnection(this.#loop, this.#getIo, protocolFactory, args);
  }

  createServer(protocolFactory: () => StreamProtocol, args: ServerArgs): Future<Server> {
    return createServer(this.#loop, this.#getIo, protocolFactory, args);
  }

  createUnixConnection<P extends StreamProtocol>(protocolFactory: () => P, path: string): Future<[Transport, P]> {
    return createUnixConnection(this.#loop, this.#getIo, protocolFactory, path);
  }

  createUnixServer(protocolFactory: () => StreamProtocol, args: UnixServerArgs): Future<Server> {
    return createUnixServer(this.#loop, this.#getIo, protocolFactory, args);
  }

  createDatagramEndpoint<P extends DatagramProtocol>(protocolFactory: () => P, args: EndpointArgs): Future<[DatagramTransport, P]> {
    return createDatagramEndpoint(this.#loop, this.#getIo, protocolFactory, args);
  }

  spawnSubprocess<P extends SubprocessProtocol>(protocolFactory: () => P, spec: SpawnSpec): Future<[SubprocessTransport, P]> {
    return spawnSubprocess(this.#loop, this.#getIo, protocolFactory, spec);
  }

  addReader(fd: number, handle: Handle): void {
    this.#fds.add(fd, false, handle);
  }

  removeReader(fd: number): boolean {
    return this.#fds.remove(fd, false);
  }

  addWriter(fd: number, handle: Handle): void {
    this.#fds.add(fd, true, handle);
  }

  removeWriter(fd: number): boolean {
    return this.#fds.remove(fd, true);
  }

  readonly socketKind = 'native';

  /** A real OS socket (native/socket.cc). */
  socket(family: number, type: number): SocketImpl {
    return NativeSocket.open(this.#binding, family, type);
  }

  connectionFromSock<P extends StreamProtocol>(protocolFactory: () => P, sock: Socket): Future<[Transport, P]> {
    return handoff.connectionFromSock(this.#loop, this.#getIo, protocolFactory, sock);
  }

  serverFromSock(protocolFactory: () => StreamProtocol, sock: Socket, backlog: number, startServing: boolean): Future<Server> {
    return handoff.serverFromSock(this.#loop, this.#getIo, protocolFactory, sock, backlog, startServing);
  }

  endpointFromSock<P extends DatagramProtocol>(protocolFactory: () => P, sock: Socket): Future<[DatagramTransport, P]> {
    return handoff.endpointFromSock(this.#loop, this.#getIo, protocolFactory, sock);
  }

  close(): void {
    this.#fds.clear();
    // The loop's native half closed every handle of the IoTable already (_closeResources).
    this.#io = null;
  }
}
