/**
 * The stream transport over a `net.Socket` (TCP or Unix socket), shared by every loop for now.
 *
 * Node delivers socket events outside the loop's iteration, so nothing here calls the protocol
 * from a Node event. Events go into a small queue (`#rq`, `#eof`, `#closed`) and one scheduled
 * `#pump` — a `callSoon` callback — delivers them in arrival order: data, then EOF, then
 * `connectionLost`, and nothing after that. Reading pauses by pausing the socket; what already
 * arrived waits in the queue until `resumeReading`.
 *
 * Writes go straight to the socket (Node queues what the kernel does not take); the buffered size
 * is `socket.writableLength`. One shared write callback notices when the buffer is back down to
 * the low-water mark and schedules `resumeWriting`.
 */
import type * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { BaseProtocol, BufferedProtocol, Protocol, StreamProtocol } from '../../protocols.js';
import { isBufferedProtocol } from '../../protocols.js';
import type { Address, BytesLike, Transport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { checkWriteLimits, soon, toBytes, warnLostWrite } from './util.js';

/** What a transport tells the server that accepted it. */
export interface TransportOwner {
  _detach(t: SocketTransport): void;
}

export class SocketTransport implements Transport {
  readonly #loop: AbstractEventLoop;
  readonly #socket: net.Socket;
  readonly #unix: boolean;
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

  // What Node delivered and the protocol has not seen yet.
  readonly #rq = new Deque<Buffer>(8);
  #eof = false;
  #eofDelivered = false;
  #closed = false;
  #error: Error | null = null;
  #pumpScheduled = false;

  constructor(loop: AbstractEventLoop, socket: net.Socket, owner: TransportOwner | null, unix: boolean) {
    this.#loop = loop;
    this.#socket = socket;
    this.#owner = owner;
    this.#unix = unix;
    if (!unix) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#closing) return;
      this.#rq.push(chunk);
      this.#schedulePump();
    });
    socket.on('end', () => {
      this.#eof = true;
      this.#schedulePump();
    });
    socket.on('error', (err: Error) => {
      this.#error ??= err;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#schedulePump();
    });
    socket.resume();
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
    this.#socket.destroy();
  }

  // --- reading --------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#started || this.#lost) return;
    this.#pumpScheduled = true;
    soon(this.#loop, this.#pump, () => this.#socket.destroy());
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
        buf.set(chunk.subarray(off, off + n));
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
    this.#socket.destroy();
    if (this.#closed) this.#schedulePump();
  }

  isReading(): boolean {
    return !this.#readPaused && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || this.#readPaused) return;
    this.#readPaused = true;
    this.#socket.pause();
  }

  resumeReading(): void {
    if (this.#closing || !this.#readPaused) return;
    this.#readPaused = false;
    this.#socket.resume();
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
    this.#socket.write(bytes, this.#onWritten);
    if (!this.#protocolPaused && this.#socket.writableLength > this.#high) this.#pauseProtocol();
  }

  writelines(list: Iterable<BytesLike>): void {
    if (list === null || typeof (list as Iterable<BytesLike>)?.[Symbol.iterator] !== 'function') {
      throw new TypeError('list must be an iterable of byte buffers');
    }
    for (const data of list) this.write(data);
  }

  // Called by Node when a write has reached the kernel: maybe it is time to resume the writer.
  readonly #onWritten = (): void => {
    if (this.#protocolPaused && !this.#resumeScheduled && this.#socket.writableLength <= this.#low) {
      this.#resumeScheduled = true;
      soon(this.#loop, this.#maybeResume);
    }
  };

  readonly #maybeResume = (): void => {
    this.#resumeScheduled = false;
    if (!this.#protocolPaused || this.#lost || this.#socket.writableLength > this.#low) return;
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
    // The buffer may have drained already (the write callback ran before we paused).
    this.#onWritten();
  }

  setWriteBufferLimits(high?: number, low?: number): void {
    [this.#low, this.#high] = checkWriteLimits(high, low);
    if (!this.#protocolPaused && this.#started && !this.#closing && this.#socket.writableLength > this.#high) this.#pauseProtocol();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  getWriteBufferSize(): number {
    return this.#socket.writableLength;
  }

  canWriteEof(): boolean {
    return true;
  }

  writeEof(): void {
    if (this.#closing || this.#eofWritten) return;
    this.#eofWritten = true;
    this.#socket.end();
  }

  // --- closing --------------------------------------------------------------------------------

  isClosing(): boolean {
    return this.#closing;
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#rq.clear();
    const s = this.#socket;
    if (s.destroyed) {
      this.#schedulePump();
      return;
    }
    // Flush what is buffered and send FIN, then release the socket without waiting for the
    // peer's FIN (asyncio closes the socket once its buffer is empty).
    if (s.writableFinished) s.destroy();
    else {
      s.once('finish', () => s.destroy());
      if (!s.writableEnded) s.end();
    }
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
        return this.#socket;
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
    const s = this.#socket;
    if (this.#unix) {
      // Node does not expose Unix socket names on the socket; the server or connect call does.
      return undefined;
    }
    const host = peer ? s.remoteAddress : s.localAddress;
    const port = peer ? s.remotePort : s.localPort;
    return host === undefined || port === undefined ? undefined : [host, port];
  }

  /** @internal Sets the Unix socket names (known to the caller, not to node:net). */
  _setUnixNames(sockname: string, peername: string): void {
    this.#sockname = sockname;
    this.#peername = peername;
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
    return `<SocketTransport ${state} ${JSON.stringify(this.getExtraInfo('peername') ?? '')}>`;
  }
}
