/**
 * Datagram endpoints over node:dgram (`createDatagramEndpoint`); the protocol side is the shared
 * one (loops/io/datagram-transport.ts). Node's socket events feed it; the write buffer is the bytes handed to
 * `send` whose callbacks have not run yet, and `close()` waits for them.
 */
import * as dgram from 'node:dgram';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol } from '../../protocols.js';
import type { DatagramTransport } from '../../transports.js';
import { BaseDatagramTransport, type EndpointArgs, resolveEndpoint, startEndpoint } from '../io/datagram-transport.js';
import { hold } from './resources.js';
import { settleSoon } from '../io/args.js';
import { holdClock } from '../io/hold.js';

export class DatagramSocketTransport extends BaseDatagramTransport {
  readonly #socket: dgram.Socket;
  #bufferSize = 0;
  #inFlight = 0;

  constructor(loop: AbstractEventLoop, socket: dgram.Socket, protocol: DatagramProtocol, remote: [string, number] | null) {
    const a = socket.address();
    super(loop, protocol, [a.address, a.port], remote);
    this.#socket = socket;
    socket.on('message', (data: Buffer, rinfo: dgram.RemoteInfo) => this._received(data, [rinfo.address, rinfo.port]));
    socket.on('error', (error: Error) => this._error(error));
    socket.on('close', () => this._closed());
  }

  protected _send(bytes: Uint8Array, target: [string, number] | null): void {
    const n = bytes.byteLength;
    this.#bufferSize += n;
    this.#inFlight++;
    const cb = (err: Error | null) => this.#onSent(n, err);
    try {
      if (target === null) this.#socket.send(bytes, cb);
      else this.#socket.send(bytes, target[1], target[0], cb);
    } catch (e) {
      // Node throws when its socket is already closed (ERR_SOCKET_DGRAM_NOT_RUNNING).
      this.#onSent(n, e as Error);
    }
  }

  #onSent(n: number, err: Error | null): void {
    this.#bufferSize -= n;
    this.#inFlight--;
    if (err) this._error(err);
    this._sent();
    if (this.isClosing() && this.#inFlight === 0) this._closeNow();
  }

  protected _closeWhenFlushed(): void {
    if (this.#inFlight === 0) this._closeNow();
  }

  protected _closeNow(): void {
    try {
      this.#socket.close();
    } catch {
      // Already closed by Node.
    }
  }

  protected _socket(): dgram.Socket {
    return this.#socket;
  }

  getWriteBufferSize(): number {
    return this.#bufferSize;
  }
}

export function createDatagramEndpoint<P extends DatagramProtocol>(
  loop: AbstractEventLoop,
  protocolFactory: () => P,
  args: EndpointArgs,
): Future<[DatagramTransport, P]> {
  return loop.createTask(function* () {
    const { local: l, remote: r, family } = yield* resolveEndpoint(loop, args);
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    hold(loop, socket, () => socket.close());
    try {
      yield* step(loop, socket, (cb) => (l === null ? socket.bind(0, cb) : socket.bind(l[1], l[0], cb)));
      if (args.broadcast) socket.setBroadcast(true);
      if (r !== null) yield* step(loop, socket, (cb) => socket.connect(r[1], r[0], cb));
    } catch (e) {
      socket.close();
      throw e;
    }
    return yield* startEndpoint(loop, protocolFactory, (protocol) => new DatagramSocketTransport(loop, socket, protocol, r), () => socket.close());
  });
}

/** Runs a dgram operation whose success is a callback and whose failure is an 'error' event. */
function step(loop: AbstractEventLoop, socket: dgram.Socket, op: (cb: (err?: Error | null) => void) => void): Future<void> {
  const fut = loop.createFuture<void>();
  const release = holdClock(loop);
  const onError = (err: Error) => {
    release();
    settleSoon(loop, fut, err);
  };
  socket.once('error', onError);
  op((err) => {
    release();
    socket.removeListener('error', onError);
    settleSoon(loop, fut, err ?? null);
  });
  return fut;
}
