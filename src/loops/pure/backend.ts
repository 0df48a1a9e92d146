/**
 * The pure loop's I/O (io/backend.ts): TCP and Unix sockets on node:net, UDP on node:dgram.
 * Node owns the sockets and its own loop polls them; this backend turns their events into
 * protocol calls on the aloop loop. Raw file descriptors cannot be watched through Node's public
 * API, so addReader/addWriter are refused, as asyncio's ProactorEventLoop refuses them.
 */
import type { AbstractEventLoop, Handle } from '../../events.js';
import { NotImplementedError } from '../../errors.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol, StreamProtocol, SubprocessProtocol } from '../../protocols.js';
import type { DatagramTransport, Server, SubprocessTransport, Transport } from '../../transports.js';
import type { ConnectionArgs, ServerArgs, UnixServerArgs } from '../io/args.js';
import type { IoBackend } from '../io/backend.js';
import type { EndpointArgs } from '../io/datagram-transport.js';
import type { SpawnSpec } from '../io/subprocess.js';
import { spawnSubprocess } from './subprocess.js';
import { releaseAll } from './resources.js';
import type { Socket, SocketImpl } from '../../socket.js';
import * as handoff from './handoff.js';
import { PureSocket } from './sock.js';
import { createServer, createUnixServer } from './server.js';
import { createConnection, createUnixConnection } from './tcp.js';
import { createDatagramEndpoint } from './udp.js';

export class NodeBackend implements IoBackend {
  readonly #loop: AbstractEventLoop;

  constructor(loop: AbstractEventLoop) {
    this.#loop = loop;
  }

  createConnection<P extends StreamProtocol>(protocolFactory: () => P, args: ConnectionArgs): Future<[Transport, P]> {
    return createConnection(this.#loop, protocolFactory, args);
  }

  createServer(protocolFactory: () => StreamProtocol, args: ServerArgs): Future<Server> {
    return createServer(this.#loop, protocolFactory, args);
  }

  createUnixConnection<P extends StreamProtocol>(protocolFactory: () => P, path: string): Future<[Transport, P]> {
    return createUnixConnection(this.#loop, protocolFactory, path);
  }

  createUnixServer(protocolFactory: () => StreamProtocol, args: UnixServerArgs): Future<Server> {
    return createUnixServer(this.#loop, protocolFactory, args);
  }

  createDatagramEndpoint<P extends DatagramProtocol>(protocolFactory: () => P, args: EndpointArgs): Future<[DatagramTransport, P]> {
    return createDatagramEndpoint(this.#loop, protocolFactory, args);
  }

  spawnSubprocess<P extends SubprocessProtocol>(protocolFactory: () => P, spec: SpawnSpec): Future<[SubprocessTransport, P]> {
    return spawnSubprocess(this.#loop, protocolFactory, spec);
  }

  addReader(_fd: number, _handle: Handle): void {
    throw noFdWatching('addReader');
  }

  removeReader(_fd: number): boolean {
    throw noFdWatching('removeReader');
  }

  addWriter(_fd: number, _handle: Handle): void {
    throw noFdWatching('addWriter');
  }

  removeWriter(_fd: number): boolean {
    throw noFdWatching('removeWriter');
  }

  readonly socketKind = 'pure';

  socket(family: number, type: number): SocketImpl {
    return new PureSocket(family, type);
  }

  connectionFromSock<P extends StreamProtocol>(protocolFactory: () => P, sock: Socket): Future<[Transport, P]> {
    return handoff.connectionFromSock(this.#loop, protocolFactory, sock);
  }

  serverFromSock(protocolFactory: () => StreamProtocol, sock: Socket, backlog: number, startServing: boolean): Future<Server> {
    return handoff.serverFromSock(this.#loop, protocolFactory, sock, backlog, startServing);
  }

  endpointFromSock<P extends DatagramProtocol>(protocolFactory: () => P, sock: Socket): Future<[DatagramTransport, P]> {
    return handoff.endpointFromSock(this.#loop, protocolFactory, sock);
  }

  close(): void {
    releaseAll(this.#loop);
  }
}

function noFdWatching(method: string): NotImplementedError {
  return new NotImplementedError(
    `${method}() needs the native loop (aloop/native: NativeEventLoop): the pure loop's I/O runs on node:net, which cannot watch raw file descriptors (as asyncio's ProactorEventLoop cannot)`,
  );
}
