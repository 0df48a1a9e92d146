/**
 * Stream transports of the native loop (TCP and Unix sockets) over the addon's libuv streams
 * (native/stream.cc). What they do with the protocol is shared with the node:net transport
 * (loops/io/stream-transport.ts); this file feeds it the event records from C++ and does its I/O.
 *
 * Each event record from C++ (see io.ts) is queued by the shared part and one pump per iteration
 * hands it to the protocol. Read bytes are copied out of the shared arena at once; a
 * BufferedProtocol gets them copied into its `getBuffer()` later: libuv never reads into a
 * JS-owned buffer, which a transfer or detach could free under it (N-API cannot pin one), and a
 * check per read would cost more than the copy. Writes go straight down: C++ tries them at once
 * and queues only the rest.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Coro } from '../../tasks.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Address, Transport } from '../../transports.js';
import { StreamTransport, type TransportOwner } from '../io/stream-transport.js';
import { Ev, type IoEndpoint, type NativeIo } from './io.js';
import { NativeUnixSocket } from './pipe.js';
import { NativeTcpSocket } from './tcp.js';
import { holdClock } from '../io/hold.js';

/** The largest piece handed to C++ in one call. */
const MAX_WRITE = 1 << 30;

export class NativeStreamTransport extends StreamTransport implements IoEndpoint {
  readonly #io: NativeIo;
  /** @internal The socket's id in C++; -1 once its handle is closed. */
  _id: number;
  /** A Unix socket (uv_pipe_t) rather than TCP: addresses are paths, no TCP options. */
  readonly #unix: boolean;
  #socket: NativeTcpSocket | NativeUnixSocket | null = null;
  /** @internal Settled by the connect event of a client socket. */
  _connected: ((status: number) => void) | null = null;

  constructor(loop: AbstractEventLoop, io: NativeIo, id: number, owner: TransportOwner | null, unix = false) {
    super(loop, owner);
    this.#unix = unix;
    this.#io = io;
    this._id = id;
    io.register(id, this);
  }

  /** @internal An event record from C++ (see NativeIo.collect). */
  _event(kind: number, a: number, b: number): void {
    switch (kind) {
      case Ev.read:
        if (!this.isClosing()) this._onData(this.#io.bytes(a, b));
        return;
      case Ev.readOwned:
        if (!this.isClosing()) this._onData(this.#io.owned(a));
        return;
      case Ev.readSpare: {
        const data = this.#io.spare(a, b);
        if (!this.isClosing()) this._onData(data);
        return;
      }
      case Ev.eof:
        this._onEof();
        return;
      case Ev.error:
        this._onError(this.#io.error(a, b));
        return;
      case Ev.closed: {
        this._id = -1;
        this._onClosed();
        const error = this._error;
        this._connected?.(error !== null ? ((error as NodeJS.ErrnoException).errno ?? -1) : -1);
        return;
      }
      case Ev.connect:
        this._connected?.(a);
        return;
      case Ev.drained:
        // C++ compared the queue with the mark it was given, which setWriteBufferLimits may have
        // changed since: the resume looks again (and watches again if need be).
        this._onDrained(0);
        return;
    }
  }

  protected _ioWrite(bytes: Uint8Array): number {
    if (this._id < 0) return -1;
    const native = this.#io.native;
    if (bytes.byteLength <= MAX_WRITE) return native.write(this._id, bytes);
    // libuv buffers count their length in 32 bits.
    let queued = 0;
    for (let off = 0; off < bytes.byteLength; off += MAX_WRITE) queued = native.write(this._id, bytes.subarray(off, off + MAX_WRITE));
    return queued;
  }

  protected _ioWatchDrain(low: number): void {
    this.#io.native.watchDrain(this._id, low);
  }

  protected _ioShutdown(): void {
    this.#io.native.shutdown(this._id);
  }

  protected _ioReading(on: boolean): void {
    this.#io.native.setReading(this._id, on);
  }

  protected _ioClose(): boolean {
    if (this._id < 0) return false;
    // C++ flushes what is queued and sends FIN, then closes without waiting for the peer's FIN.
    this.#io.native.close(this._id, 0);
    return true;
  }

  protected _ioDestroy(reset: boolean): void {
    this.#io.native.close(this._id, reset ? 2 : 1);
  }

  /** Bytes queued in C++ (what the kernel has not taken yet). */
  getWriteBufferSize(): number {
    return this._id < 0 ? 0 : this.#io.native.queued(this._id);
  }

  protected _ioAddress(peer: boolean): Address | undefined {
    if (this._id < 0) return undefined;
    const a = this.#unix ? this.#io.native.pipeAddress(this._id, peer) : this.#io.native.address(this._id, peer);
    return typeof a === 'number' ? undefined : a;
  }

  protected _ioSocket(): NativeTcpSocket | NativeUnixSocket {
    return (this.#socket ??= this.#unix ? new NativeUnixSocket(this) : new NativeTcpSocket(this.#io, this));
  }
}

/**
 * Waits for the CONNECT event of client socket `id`: its transport once connected, or the libuv
 * error. Cancelled, it leaves nothing behind.
 */
export function* awaitConnect(loop: AbstractEventLoop, io: NativeIo, id: number, unix: boolean): Coro<NativeStreamTransport | number> {
  const transport = new NativeStreamTransport(loop, io, id, null, unix);
  const connected = loop.createFuture<number>();
  // Connecting is work in flight until the CONNECT event (or a cancellation, which discards it).
  const release = holdClock(loop);
  transport._connected = (status) => {
    transport._connected = null;
    release();
    if (!connected.done()) connected.setResult(status);
  };
  let status: number;
  try {
    status = yield* connected;
  } catch (e) {
    release();
    transport._discard();
    throw e;
  }
  if (status < 0) return status;
  transport._cacheAddresses();
  return transport;
}

/** Makes the protocol of a connected client and starts the transport (connectionMade comes next). */
export function startClient<P extends StreamProtocol>(transport: NativeStreamTransport, protocolFactory: () => P): [Transport, P] {
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (e) {
    transport._discard();
    throw e;
  }
  transport._start(protocol);
  // The caller's future settles after connectionMade (scheduled by _start).
  return [transport, protocol];
}
