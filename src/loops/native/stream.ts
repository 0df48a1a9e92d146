/**
 * Stream transports of the native loop (TCP and Unix sockets) over the addon's libuv streams
 * (native/stream.cc), with the observable behaviour of the node:net SocketTransport
 * (loops/nodenet/socket.ts).
 *
 * Each event record from C++ (see io.ts) is queued here and one `#pump` per iteration hands it to
 * the protocol, as the node:net transport does. Read bytes are copied out of the shared arena at
 * once; a BufferedProtocol gets them copied into its `getBuffer()` later (the protocol's buffer
 * cannot be handed to libuv without calling JS from the read callback). Writes go straight down:
 * C++ tries them at once and queues only the rest.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Coro } from '../../tasks.js';
import type { BaseProtocol, BufferedProtocol, Protocol, StreamProtocol } from '../../protocols.js';
import { isBufferedProtocol } from '../../protocols.js';
import type { Address, BytesLike, Transport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { checkWriteLimits, toBytes, warnLostWrite } from '../nodenet/util.js';
import { Ev, type IoEndpoint, type NativeIo } from './io.js';
import { NativeUnixSocket } from './pipe.js';
import { NativeTcpSocket } from './tcp.js';

/** The largest piece handed to C++ in one call. */
const MAX_WRITE = 1 << 30;

/** What a transport tells the server that accepted it. */
export interface NativeTransportOwner {
  _detach(t: NativeStreamTransport): void;
}

export class NativeStreamTransport implements Transport, IoEndpoint {
  readonly #loop: AbstractEventLoop;
  readonly #io: NativeIo;
  /** @internal The socket's id in C++; -1 once its handle is closed. */
  _id: number;
  #protocol: StreamProtocol | null = null;
  #buffered = false;
  #owner: NativeTransportOwner | null;
  #peername: Address | undefined;
  #sockname: Address | undefined;
  #socket: NativeTcpSocket | NativeUnixSocket | null = null;

  #started = false;
  #closing = false;
  #lost = false;
  #eofWritten = false;
  #readPaused = false;
  #protocolPaused = false;
  #resumeScheduled = false;
  #low = 16 * 1024;
  #high = 64 * 1024;
  #lostWrites = 0;

  // What C++ delivered and the protocol has not seen yet.
  readonly #rq = new Deque<Buffer>(8);
  #eof = false;
  #eofDelivered = false;
  #closed = false;
  #error: Error | null = null;
  #pumpScheduled = false;
  /** @internal Settled by the connect event of a client socket. */
  _connected: ((status: number) => void) | null = null;

  /** A Unix socket (uv_pipe_t) rather than TCP: addresses are paths, no TCP options. */
  readonly #unix: boolean;

  constructor(loop: AbstractEventLoop, io: NativeIo, id: number, owner: NativeTransportOwner | null, unix = false) {
    this.#loop = loop;
    this.#unix = unix;
    this.#io = io;
    this._id = id;
    this.#owner = owner;
    io.register(id, this);
  }

  /** @internal An event record from C++ (see NativeIo.collect). */
  _event(kind: number, a: number, b: number): void {
    switch (kind) {
      case Ev.read:
        if (this.#closing) return;
        this.#rq.push(this.#io.bytes(a, b));
        this.#schedulePump();
        return;
      case Ev.eof:
        this.#eof = true;
        this.#schedulePump();
        return;
      case Ev.error:
        this.#error ??= this.#io.error(a, b);
        return;
      case Ev.closed:
        this._id = -1;
        this.#closed = true;
        this._connected?.(this.#error !== null ? ((this.#error as NodeJS.ErrnoException).errno ?? -1) : -1);
        this.#schedulePump();
        return;
      case Ev.connect:
        this._connected?.(a);
        return;
      case Ev.drained:
        this.#onDrained();
        return;
    }
  }

  /** @internal Attaches the protocol and schedules `connectionMade`; queued events follow it. */
  _start(protocol: StreamProtocol): void {
    this.#setProtocol(protocol);
    this.#started = true;
    this.#loop.callSoon(() => {
      if (!this.#lost) this.#protocol!.connectionMade?.(this);
    });
    if (this.#rq.length > 0 || this.#eof || this.#closed) this.#schedulePump();
  }

  /** @internal Closes the socket without a protocol (the transport was never started). */
  _discard(): void {
    this.#closing = true;
    this.#io.native.close(this._id, 1);
  }

  /** @internal `resetAndDestroy()` of the socket object. */
  _reset(): void {
    if (this.#lost) return;
    this.#closing = true;
    this.#rq.clear();
    this.#io.native.close(this._id, 2);
    if (this.#closed) this.#schedulePump();
  }

  // --- reading --------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#started || this.#lost || this.#loop.isClosed()) return;
    this.#pumpScheduled = true;
    this.#loop.callSoon(this.#pump);
  }

  readonly #pump = (): void => {
    this.#pumpScheduled = false;
    if (this.#lost) return;
    const rq = this.#rq;
    if (!this.#closing) {
      while (!this.#readPaused && rq.length > 0) {
        this.#deliver(rq.shift()!);
        if (this.#closing) break;
      }
      if (this.#eof && !this.#eofDelivered && rq.length === 0 && !this.#readPaused && !this.#closing) {
        this.#eofDelivered = true;
        let keepOpen: unknown;
        try {
          keepOpen = this.#protocol!.eofReceived?.();
        } catch (exc) {
          this.#fatalError(exc, 'Fatal error: protocol.eofReceived() call failed.');
          return;
        }
        if (!keepOpen) this.close();
      }
    }
    // A regular close waits until the protocol has seen every byte and the EOF; an error or
    // our own close/abort ends it now.
    const drained = rq.length === 0 && (!this.#eof || this.#eofDelivered);
    if (this.#closed && !this.#lost && (this.#closing || this.#error !== null || drained)) {
      this.#callConnectionLost(this.#error);
    }
  };

  #deliver(chunk: Buffer): void {
    try {
      if (!this.#buffered) {
        (this.#protocol as Protocol).dataReceived?.(chunk);
        return;
      }
      const p = this.#protocol as BufferedProtocol;
      let off = 0;
      while (off < chunk.length) {
        const buf = p.getBuffer(chunk.length - off);
        if (!(buf instanceof Uint8Array) || buf.byteLength === 0) {
          throw new RangeError('getBuffer() must return a non-empty Uint8Array');
        }
        const n = Math.min(buf.byteLength, chunk.length - off);
        buf.set(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n));
        off += n;
        p.bufferUpdated(n);
        if ((this.#readPaused || this.#closing) && off < chunk.length) {
          // Paused in the middle of a chunk: the rest waits for resumeReading.
          if (!this.#closing) this.#rq.unshift(chunk.subarray(off));
          return;
        }
      }
    } catch (exc) {
      this.#fatalError(exc, 'Fatal error: protocol.dataReceived() call failed.');
    }
  }

  #callConnectionLost(exc: Error | null): void {
    this.#lost = true;
    this.#closing = true;
    this.#rq.clear();
    const owner = this.#owner;
    this.#owner = null;
    try {
      this.#protocol!.connectionLost?.(exc);
    } finally {
      owner?._detach(this);
    }
  }

  /** An exception from the protocol: report it and drop the connection (asyncio `_fatal_error`). */
  #fatalError(exc: unknown, message: string): void {
    this.#loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.#protocol });
    this.#forceClose(exc instanceof Error ? exc : new Error(String(exc)));
  }

  #forceClose(exc: Error | null): void {
    if (this.#lost) return;
    if (exc !== null) this.#error ??= exc;
    this.#closing = true;
    this.#rq.clear();
    this.#io.native.close(this._id, 1);
    if (this.#closed) this.#schedulePump();
  }

  isReading(): boolean {
    return !this.#readPaused && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || this.#readPaused) return;
    this.#readPaused = true;
    this.#io.native.setReading(this._id, false);
  }

  resumeReading(): void {
    if (this.#closing || !this.#readPaused) return;
    this.#readPaused = false;
    this.#io.native.setReading(this._id, true);
    if (this.#rq.length > 0 || this.#eof || this.#closed) this.#schedulePump();
  }

  // --- writing --------------------------------------------------------------------------------

  write(data: BytesLike): void {
    const bytes = toBytes(data);
    if (this.#eofWritten) throw new Error('Cannot call write() after writeEof()');
    if (bytes.byteLength === 0) return;
    if (this.#closing || this.#closed) {
      warnLostWrite(++this.#lostWrites);
      return;
    }
    const native = this.#io.native;
    let queued: number;
    if (bytes.byteLength <= MAX_WRITE) queued = native.write(this._id, bytes);
    else {
      // libuv buffers count their length in 32 bits.
      queued = 0;
      for (let off = 0; off < bytes.byteLength; off += MAX_WRITE) queued = native.write(this._id, bytes.subarray(off, off + MAX_WRITE));
    }
    if (queued > this.#high && !this.#protocolPaused) this.#pauseProtocol();
  }

  writelines(list: Iterable<BytesLike>): void {
    if (list === null || typeof (list as Iterable<BytesLike>)?.[Symbol.iterator] !== 'function') {
      throw new TypeError('list must be an iterable of byte buffers');
    }
    for (const data of list) this.write(data);
  }

  /** C++ saw the queue fall to the low-water mark: resume the writer on the loop. */
  #onDrained(): void {
    if (this.#protocolPaused && !this.#resumeScheduled && !this.#loop.isClosed()) {
      this.#resumeScheduled = true;
      this.#loop.callSoon(this.#maybeResume);
    }
  }

  readonly #maybeResume = (): void => {
    this.#resumeScheduled = false;
    if (!this.#protocolPaused || this.#lost) return;
    if (this.getWriteBufferSize() > this.#low) {
      // More was written since: watch again.
      this.#io.native.watchDrain(this._id, this.#low);
      return;
    }
    this.#protocolPaused = false;
    try {
      this.#protocol!.resumeWriting?.();
    } catch (exc) {
      this.#loop.callExceptionHandler({ message: 'protocol.resumeWriting() failed', exception: exc, transport: this, protocol: this.#protocol });
    }
  };

  #pauseProtocol(): void {
    this.#protocolPaused = true;
    try {
      this.#protocol!.pauseWriting?.();
    } catch (exc) {
      this.#loop.callExceptionHandler({ message: 'protocol.pauseWriting() failed', exception: exc, transport: this, protocol: this.#protocol });
    }
    this.#io.native.watchDrain(this._id, this.#low);
  }

  setWriteBufferLimits(high?: number, low?: number): void {
    [this.#low, this.#high] = checkWriteLimits(high, low);
    if (!this.#protocolPaused && this.#started && !this.#closing && this.getWriteBufferSize() > this.#high) this.#pauseProtocol();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  /** Bytes queued in C++ (what the kernel has not taken yet). */
  getWriteBufferSize(): number {
    return this._id < 0 ? 0 : this.#io.native.queued(this._id);
  }

  canWriteEof(): boolean {
    return true;
  }

  writeEof(): void {
    if (this.#closing || this.#eofWritten) return;
    this.#eofWritten = true;
    this.#io.native.shutdown(this._id);
  }

  // --- closing --------------------------------------------------------------------------------

  isClosing(): boolean {
    return this.#closing;
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#rq.clear();
    if (this.#closed) {
      this.#schedulePump();
      return;
    }
    // C++ flushes what is queued and sends FIN, then closes without waiting for the peer's FIN.
    this.#io.native.close(this._id, 0);
  }

  abort(): void {
    this.#forceClose(null);
  }

  // --- info -----------------------------------------------------------------------------------

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    switch (name) {
      case 'peername':
        return (this.#peername ??= this.#address(true)) ?? defaultValue;
      case 'sockname':
        return (this.#sockname ??= this.#address(false)) ?? defaultValue;
      case 'socket':
        return (this.#socket ??= this.#unix ? new NativeUnixSocket(this) : new NativeTcpSocket(this.#io, this));
      default:
        return defaultValue;
    }
  }

  /** @internal Remembers the addresses while the socket still knows them. */
  _cacheAddresses(): void {
    this.#peername ??= this.#address(true);
    this.#sockname ??= this.#address(false);
  }

  #address(peer: boolean): Address | undefined {
    if (this._id < 0) return undefined;
    const a = this.#unix ? this.#io.native.pipeAddress(this._id, peer) : this.#io.native.address(this._id, peer);
    return typeof a === 'number' ? undefined : a;
  }

  setProtocol(protocol: BaseProtocol): void {
    if (typeof protocol !== 'object' || protocol === null) throw new TypeError('protocol must be an object');
    this.#setProtocol(protocol as StreamProtocol);
  }

  #setProtocol(protocol: StreamProtocol): void {
    this.#protocol = protocol;
    this.#buffered = isBufferedProtocol(protocol);
  }

  getProtocol(): StreamProtocol {
    return this.#protocol!;
  }

  toString(): string {
    const state = this.#lost ? 'closed' : this.#closing ? 'closing' : 'open';
    return `<NativeStreamTransport ${state} ${JSON.stringify(this.getExtraInfo('peername') ?? '')}>`;
  }
}


/**
 * Waits for the CONNECT event of client socket `id`: its transport once connected, or the libuv
 * error. Cancelled, it leaves nothing behind.
 */
export function* awaitConnect(loop: AbstractEventLoop, io: NativeIo, id: number, unix: boolean): Coro<NativeStreamTransport | number> {
  const transport = new NativeStreamTransport(loop, io, id, null, unix);
  const connected = loop.createFuture<number>();
  transport._connected = (status) => {
    transport._connected = null;
    if (!connected.done()) connected.setResult(status);
  };
  let status: number;
  try {
    status = yield* connected;
  } catch (e) {
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
