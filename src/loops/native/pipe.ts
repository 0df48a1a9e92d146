/**
 * Unix domain sockets on the native loop: `createUnixConnection` and `createUnixServer` over the
 * addon's uv_pipe_t (native/pipe.cc). Transports are the stream ones (stream.ts) and servers
 * the TCP ones (server.ts), with paths for addresses.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Server, Transport } from '../../transports.js';
import { type UnixServerArgs, removeStaleUnixSocket } from '../io/args.js';
import type { NativeIo } from './io.js';
import { NativeServer } from './server.js';
import { type NativeStreamTransport, awaitConnect, startClient } from './stream.js';

/** `getExtraInfo('socket')` of a Unix socket transport: its addresses, named as node:net names them. */
export class NativeUnixSocket {
  readonly #t: NativeStreamTransport;
  constructor(t: NativeStreamTransport) {
    this.#t = t;
  }
  /** The peer's path ('' for an unnamed peer). */
  get remoteAddress(): string | undefined {
    return this.#t.getExtraInfo('peername') as string | undefined;
  }
  /** This socket's path ('' when unnamed, as a client's usually is). */
  get localAddress(): string | undefined {
    return this.#t.getExtraInfo('sockname') as string | undefined;
  }
}

/** `loop.createUnixConnection` on the native loop. */
export function createUnixConnection<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  getIo: () => NativeIo,
  protocolFactory: () => P,
  path: string,
): Future<[Transport, P]> {
  const io = getIo();
  return loop.createTask(function* () {
    const id = io.native.pipeConnect(path);
    if (id < 0) throw io.error(id, 'connect', path);
    const status = yield* awaitConnect(loop, io, id, true);
    if (typeof status === 'number') throw io.error(status, 'connect', path);
    return startClient(status, protocolFactory);
  });
}

/** `loop.createUnixServer` on the native loop. */
export function createUnixServer(
  loop: AbstractEventLoop,
  getIo: () => NativeIo,
  protocolFactory: () => StreamProtocol,
  { path, backlog, startServing }: UnixServerArgs,
): Future<Server> {
  const io = getIo();
  return loop.createTask(function* () {
    removeStaleUnixSocket(path);
    const server = new NativeServer(loop, io, protocolFactory);
    server._listenUnix(path, backlog);
    if (startServing) server._startServing();
    return server as Server;
  });
}
