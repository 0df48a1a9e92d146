/**
 * The protocol-facing half of a stream transport (TCP or Unix socket), shared by both loops:
 * pure/socket.ts puts it over a `net.Socket`, native/stream.ts over the addon's libuv streams.
 * A subclass feeds in what its socket reports (`_onData`, `_onEof`, `_onError`, `_onClosed`,
 * `_onDrained`) and does the I/O the transport asks for (the `_io*` methods).
 *
 * Socket events arrive outside the loop's callbacks (Node's events; the native loop's event
 * records), so nothing here calls the protocol from one. Events go into a small queue (`#rq`,
 * `#eof`, `#closed`) and one scheduled `#pump` — a `callSoon` callback — delivers them in arrival
 * order: data, then EOF, then `connectionLost`, and nothing after that. Reading pauses at the
 * socket; what already arrived waits in the queue until `resumeReading`.
 *
 * Writes go straight down; the socket layer buffers what the kernel does not take and says how
 * much that is. Above the high-water mark the protocol is paused; the socket layer is asked to
 * tell (`_onDrained`) once the buffer is down to the low-water mark, and `resumeWriting` follows
 * on the loop.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { BaseProtocol, BufferedProtocol, Protocol, StreamProtocol } from '../../protocols.js';
import { isBufferedProtocol } from '../../protocols.js';
import type { Address, BytesLike, Transport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { checkWriteLimits, toBytes, warnLostWrite } from './args.js';

/** What a transport tells the server that accepted it. */
export interface TransportOwner {
  _detach(t: StreamTransport): void;
}

export abstract class StreamTransport implements Transport {
  readonly #loop: AbstractEventLoop;
  #protocol: StreamProtocol | null = null;
  #buffered = false;
  #owner: TransportOwner | null;
  #peername: Address | undefined;
  #sockname: Address | undefined;

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

  // What the socket delivered and the protocol has not seen yet.
  readonly #rq = new Deque<Buffer>(8);
  #eof = false;
  #eofDelivered = false;
  #closed = false;
  #error: Error | null = null;
  #pumpScheduled = false;

  constructor(loop: AbstractEventLoop, owner: TransportOwner | null) {
    this.#loop = loop;
    this.#owner = owner;
    loop._ioOpened();
  }

  // --- the socket layer: I/O the transport asks for ------------------------------------------

  /**
   * Hands `bytes` to the socket. Returns the bytes now buffered (not yet taken by the kernel), or
   * -1 if the socket is already gone and the write is lost.
   */
  protected abstract _ioWrite(bytes: Uint8Array): number;
  /** Calls `_onDrained` once the write buffer is at or below `low` bytes (maybe at once). */
  protected abstract _ioWatchDrain(low: number): void;
  /** Sends EOF after what is buffered. */
  protected abstract _ioShutdown(): void;
  /** Stops or restarts reading from the socket. */
  protected abstract _ioReading(on: boolean): void;
  /**
   * Flushes what is buffered, sends EOF, then releases the socket (the peer's EOF is not waited
   * for). False if the socket is gone already.
   */
  protected abstract _ioClose(): boolean;
  /** Releases the socket now, dropping what is buffered; `reset`: with a TCP RST. */
  protected abstract _ioDestroy(reset: boolean): void;
  /** The socket's own (`peer` false) or its peer's address, if it knows it. */
  protected abstract _ioAddress(peer: boolean): Address | undefined;
  /** `getExtraInfo('socket')`. */
  protected abstract _ioSocket(): unknown;
  /** The protocol is attached: start reading if the socket waited for it. */
  protected _ioStart(): void {}
  /** Events came after the loop was closed: nobody is left to deliver them to. */
  protected _ioLoopClosed(): void {}
  abstract getWriteBufferSize(): number;

  // --- the socket layer: what it reports (outside the loop's callbacks) ----------------------

  /** Bytes read. Only while not closing (`isClosing()`): once closing, reads are dropped. */
  protected _onData(chunk: Buffer): void {
    this.#rq.push(chunk);
    this.#schedulePump();
  }

  /** The peer sent EOF. */
  protected _onEof(): void {
    this.#eof = true;
    this.#schedulePump();
  }

  /** The socket failed; `_onClosed` follows. The first error is the one `connectionLost` gets. */
  protected _onError(err: Error): void {
    this.#error ??= err;
  }

  /** The socket is closed: `connectionLost` follows once the protocol has what came before. */
  protected _onClosed(): void {
    if (!this.#closed) this.#loop._ioClosed();
    this.#closed = true;
    this.#schedulePump();
  }

  /** The protocol has had what was queued (a pump ran): the socket layer may read on. */
  protected _ioDelivered(): void {}

  /** @internal The socket's first error, if any. */
  protected get _error(): Error | null {
    return this.#error;
  }

  /**
   * The write buffer went down to `size` bytes: at or below the low-water mark, a paused protocol
   * gets `resumeWriting` on the loop.
   */
  protected _onDrained(size: number): void {
    if (this.#protocolPaused && !this.#resumeScheduled && size <= this.#low && !this.#loop.isClosed()) {
      this.#resumeScheduled = true;
      this.#loop.callSoon(this.#maybeResume);
    }
  }

  // --- starting -------------------------------------------------------------------------------

  /** @internal Attaches the protocol and schedules `connectionMade`; queued events follow it. */
  _start(protocol: StreamProtocol): void {
    this.#setProtocol(protocol);
    this.#started = true;
    this._ioStart();
    this.#loop.callSoon(() => {
      if (!this.#lost) this.#protocol!.connectionMade?.(this);
    });
    if (this.#rq.length > 0 || this.#eof || this.#closed) this.#schedulePump();
  }

  /** @internal Closes the socket without a protocol (the transport was never started). */
  _discard(): void {
    this.#closing = true;
    this._ioDestroy(false);
  }

  /** @internal `abort()` with a TCP RST (the 'socket' extra's `resetAndDestroy()`). */
  _reset(): void {
    this.#forceClose(null, true);
  }

  // --- reading --------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#started || this.#lost) return;
    if (this.#loop.isClosed()) {
      this._ioLoopClosed();
      return;
    }
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
    this._ioDelivered();
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
    this.#forceClose(exc instanceof Error ? exc : new Error(String(exc)), false);
  }

  #forceClose(exc: Error | null, reset: boolean): void {
    if (this.#lost) return;
    if (exc !== null) this.#error ??= exc;
    this.#closing = true;
    this.#rq.clear();
    this._ioDestroy(reset);
    if (this.#closed) this.#schedulePump();
  }

  isReading(): boolean {
    return !this.#readPaused && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || this.#readPaused) return;
    this.#readPaused = true;
    this._ioReading(false);
  }

  resumeReading(): void {
    if (this.#closing || !this.#readPaused) return;
    this.#readPaused = false;
    this._ioReading(true);
    if (this.#rq.length > 0 || this.#eof || this.#closed) this.#schedulePump();
  }

  // --- writing --------------------------------------------------------------------------------

  write(data: BytesLike): void {
    const bytes = toBytes(data);
    if (this.#eofWritten) throw new Error('Cannot call write() after writeEof()');
    if (bytes.byteLength === 0) return;
    if (this.#closing) {
      warnLostWrite(++this.#lostWrites);
      return;
    }
    const buffered = this._ioWrite(bytes);
    if (buffered > this.#high) {
      if (!this.#protocolPaused) this.#pauseProtocol();
    } else if (buffered < 0) warnLostWrite(++this.#lostWrites);
  }

  writelines(list: Iterable<BytesLike>): void {
    if (list === null || typeof (list as Iterable<BytesLike>)?.[Symbol.iterator] !== 'function') {
      throw new TypeError('list must be an iterable of byte buffers');
    }
    for (const data of list) this.write(data);
  }

  readonly #maybeResume = (): void => {
    this.#resumeScheduled = false;
    // A failed socket only has connectionLost left to say (asyncio resumes a writer only after
    // a successful send).
    if (!this.#protocolPaused || this.#lost || this.#error !== null) return;
    if (this.getWriteBufferSize() > this.#low) {
      // More was written since: watch again.
      this._ioWatchDrain(this.#low);
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
    this._ioWatchDrain(this.#low);
  }

  setWriteBufferLimits(high?: number, low?: number): void {
    [this.#low, this.#high] = checkWriteLimits(high, low);
    if (!this.#protocolPaused && this.#started && !this.#closing && this.getWriteBufferSize() > this.#high) this.#pauseProtocol();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  canWriteEof(): boolean {
    return true;
  }

  writeEof(): void {
    if (this.#closing || this.#eofWritten) return;
    this.#eofWritten = true;
    this._ioShutdown();
  }

  // --- closing --------------------------------------------------------------------------------

  isClosing(): boolean {
    return this.#closing;
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#rq.clear();
    if (!this._ioClose()) this.#schedulePump();
  }

  abort(): void {
    this.#forceClose(null, false);
  }

  // --- info -----------------------------------------------------------------------------------

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    switch (name) {
      case 'peername':
        return (this.#peername ??= this._ioAddress(true)) ?? defaultValue;
      case 'sockname':
        return (this.#sockname ??= this._ioAddress(false)) ?? defaultValue;
      case 'socket':
        return this._ioSocket();
      default:
        return defaultValue;
    }
  }

  /** @internal Remembers the addresses while the socket still knows them. */
  _cacheAddresses(): void {
    this.#peername ??= this._ioAddress(true);
    this.#sockname ??= this._ioAddress(false);
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
    return `<${this.constructor.name} ${state} ${JSON.stringify(this.getExtraInfo('peername') ?? '')}>`;
  }
}
