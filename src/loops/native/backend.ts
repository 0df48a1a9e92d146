/**
 * The native loop's I/O (io/backend.ts): TCP and Unix sockets on the addon's libuv streams, UDP
 * on uv_udp_t (native/io.h), instead of node:net and node:dgram. The handles live in the C++
 * IoTable of the loop (made with the first of them) and close with the loop's native half.
 */
import type { AbstractEventLoop, Handle } from '../../events.js';
import { NotImplementedError } from '../../errors.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol, StreamProtocol } from '../../protocols.js';
import type { DatagramTransport, Server, Transport } from '../../transports.js';
import type { ConnectionArgs, ServerArgs, UnixServerArgs } from '../io/args.js';
import type { IoBackend } from '../io/backend.js';
import type { EndpointArgs } from '../io/datagram-transport.js';
import type { NativeBinding, NativeLoopHandle } from './binding.js';
import { NativeIo } from './io.js';
import { createUnixConnection, createUnixServer } from './pipe.js';
import { createServer } from './server.js';
import { createConnection } from './tcp.js';
import { createDatagramEndpoint } from './udp.js';

export class NativeBackend implements IoBackend {
  readonly #loop: AbstractEventLoop;
  readonly #binding: NativeBinding;
  readonly #native: NativeLoopHandle;
  /** Sockets and pipes in C++ (made with the first connection, server or endpoint). */
  #io: NativeIo | null = null;
  readonly #getIo = (): NativeIo => (this.#io ??= new NativeIo(this.#loop, this.#binding, this.#native));

  constructor(loop: AbstractEventLoop, binding: NativeBinding, native: NativeLoopHandle) {
    this.#loop = loop;
    this.#binding = binding;
    this.#native = native;
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

  // fd watching on uv_poll_t comes with native/poll.cc.
  addReader(_fd: number, _handle: Handle): void {
    throw new NotImplementedError('addReader() on the native loop is not built yet');
  }

  removeReader(_fd: number): boolean {
    throw new NotImplementedError('removeReader() on the native loop is not built yet');
  }

  addWriter(_fd: number, _handle: Handle): void {
    throw new NotImplementedError('addWriter() on the native loop is not built yet');
  }

  removeWriter(_fd: number): boolean {
    throw new NotImplementedError('removeWriter() on the native loop is not built yet');
  }

  close(): void {
    // The loop's native half closed every handle of the IoTable already (_closeResources).
    this.#io = null;
  }
}
