/**
 * TCP transports of the native loop over the addon's uv_tcp_t streams (native/tcp.h), with the
 * observable behaviour of the node:net SocketTransport (loops/nodenet/socket.ts).
 *
 * C++ never calls JS per event: libuv callbacks append records (id, kind, a, b) that reach JS
 * with the loop's one call per iteration; `TcpIo.collect` (run first in `_collectReady`) hands
 * each to its transport or server, which queues it and schedules one `#pump` per iteration, as
 * the node:net transport does. Read bytes arrive in a shared arena C++ reuses after the
 * iteration, so they are copied out at once; a BufferedProtocol gets them copied into its
 * `getBuffer()` later (the protocol's buffer cannot be handed to libuv without calling JS from
 * the read callback). Writes go straight down: C++ tries them at once and queues only the rest.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { BaseProtocol, BufferedProtocol, Protocol, StreamProtocol } from '../../protocols.js';
import { isBufferedProtocol } from '../../protocols.js';
import type { Address, BytesLike, CreateConnectionOptions, Transport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { checkAddr, checkBool, checkFactory, checkFamily, checkHost, checkOptions, checkPort, checkWriteLimits, toBytes, warnLostWrite } from '../nodenet/util.js';
import type { NativeBinding, NativeLoopHandle, NativeTcpHandle } from './binding.js';
import { lookupHost } from './resolve.js';

/** Event kinds (native/tcp.h `TcpEvent`). */
export const Ev = { read: 1, eof: 2, error: 3, closed: 4, connect: 5, accept: 6, drained: 7 } as const;
const SYSCALLS = ['', 'read', 'write', 'connect', 'accept', 'shutdown'];

/** Something that receives a socket's event records. */
export interface TcpEndpoint {
  _event(kind: number, a: number, b: number): void;
}

/** A Node-style system error: `code`, `errno` (negative, as Node's), `syscall`, and a JS stack. */
export function uvError(binding: NativeBinding, errno: number, syscall: string, host?: string, port?: number): NodeJS.ErrnoException {
  const [code, text] = binding.errName(errno);
  const where = host === undefined ? '' : port === undefined ? ` ${host}` : ` ${host}:${port}`;
  const e = new Error(`${syscall} ${code}${where}`) as NodeJS.ErrnoException & { address?: string; port?: number; description?: string };
  e.code = code;
  e.errno = errno;
  e.syscall = syscall;
  if (host !== undefined) e.address = host;
  if (port !== undefined) e.port = port;
  e.description = text;
  return e;
}

/** Read bytes handed over per iteration before a socket waits for the next one. */
const ARENA_SIZE = 1 << 20;
/** The largest piece handed to C++ in one call. */
const MAX_WRITE = 1 << 30;
/** Event records (4 ints each) per chunk; more costs one `more()` call per chunk. */
const EVENT_CAPACITY = 4096;

/** @internal The TCP half of one native loop: the addon's `Tcp` and the event dispatch. */
export class TcpIo {
  readonly loop: AbstractEventLoop;
  readonly binding: NativeBinding;
  readonly tcp: NativeTcpHandle;
  readonly #state = new Int32Array(4);
  readonly #events = new Int32Array(EVENT_CAPACITY * 4);
  readonly #arena = new Uint8Array(ARENA_SIZE);
  readonly #endpoints = new Map<number, TcpEndpoint>();

  constructor(loop: AbstractEventLoop, binding: NativeBinding, native: NativeLoopHandle) {
    this.loop = loop;
    this.binding = binding;
    this.tcp = new binding.Tcp(native, this.#state, this.#events, this.#arena);
  }

  register(id: number, e: TcpEndpoint): void {
    this.#endpoints.set(id, e);
  }

  /** A copy of arena bytes (the arena is reused after this iteration). */
  bytes(off: number, len: number): Buffer {
    const b = Buffer.allocUnsafe(len);
    b.set(this.#arena.subarray(off, off + len));
    return b;
  }

  /** Hands this iteration's event records to their endpoints (in arrival order). */
  collect(): void {
    const state = this.#state;
    let n = state[0]!;
    if (n === 0) return;
    const ev = this.#events;
    const endpoints = this.#endpoints;
    for (;;) {
      for (let i = 0; i < n * 4; i += 4) {
        const id = ev[i]!;
        const kind = ev[i + 1]!;
        const e = endpoints.get(id);
        if (kind === Ev.closed) endpoints.delete(id);
        if (e !== undefined) e._event(kind, ev[i + 2]!, ev[i + 3]!);
      }
      if (state[1] === 0) break;
      n = this.tcp.more();
    }
    state[0] = 0;
  }

  error(errno: number, syscall: number | string, host?: string, port?: number): NodeJS.ErrnoException {
    return uvError(this.binding, errno, typeof syscall === 'string' ? syscall : (SYSCALLS[syscall] ?? 'unknown'), host, port);
  }
}

/** What a transport tells the server that accepted it. */
export interface NativeTransportOwner {
  _detach(t: NativeTcpTransport): void;
}

/**
 * `getExtraInfo('socket')`: a few socket operations, named as node:net's Socket names them
 * (asyncio gives a socket-like object there too).
 */
export class NativeTcpSocket {
  readonly #io: TcpIo;
  readonly #t: NativeTcpTransport;
  constructor(io: TcpIo, t: NativeTcpTransport) {
    this.#io = io;
    this.#t = t;
  }
  /** Sets TCP_NODELAY. */
  setNoDelay(noDelay = true): this {
    this.#io.tcp.setNoDelay(this.#t._id, !!noDelay);
    return this;
  }
  /** SO_KEEPALIVE with the first probe after `initialDelay` ms. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    if (typeof initialDelay !== 'number' || !(initialDelay >= 0)) throw new RangeError('initialDelay must be a non-negative number');
    this.#io.tcp.setKeepAlive(this.#t._id, !!enable, Math.max(1, Math.floor(initialDelay / 1000)));
    return this;
  }
  /** Closes the connection with a TCP RST (SO_LINGER 0), dropping what is queued. */
  resetAndDestroy(): this {
    this.#t._reset();
    return this;
  }
  get remoteAddress(): string | undefined {
    return (this.#t.getExtraInfo('peername') as [string, number] | undefined)?.[0];
  }
  get remotePort(): number | undefined {
    return (this.#t.getExtraInfo('peername') as [string, number] | undefined)?.[1];
  }
  get localAddress(): string | undefined {
    return (this.#t.getExtraInfo('sockname') as [string, number] | undefined)?.[0];
  }
  get localPort(): number | undefined {
    return (this.#t.getExtraInfo('sockname') as [string, number] | undefined)?.[1];
  }
}

export class NativeTcpTransport implements Transport, TcpEndpoint {
  readonly #loop: AbstractEventLoop;
  readonly #io: TcpIo;
  /** @internal The socket's id in C++; -1 once its handle is closed. */
  _id: number;
  #protocol: StreamProtocol | null = null;
  #buffered = false;
  #owner: NativeTransportOwner | null;
  #peername: Address | undefined;
  #sockname: Address | undefined;
  #socket: NativeTcpSocket | null = null;

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

  constructor(loop: AbstractEventLoop, io: TcpIo, id: number, owner: NativeTransportOwner | null) {
    this.#loop = loop;
    this.#io = io;
    this._id = id;
    this.#owner = owner;
    io.register(id, this);
  }

  /** @internal An event record from C++ (see TcpIo.collect). */
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
    this.#io.tcp.close(this._id, 1);
  }

  /** @internal `resetAndDestroy()` of the socket object. */
  _reset(): void {
    if (this.#lost) return;
    this.#closing = true;
    this.#rq.clear();
    this.#io.tcp.close(this._id, 2);
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
    this.#io.tcp.close(this._id, 1);
    if (this.#closed) this.#schedulePump();
  }

  isReading(): boolean {
    return !this.#readPaused && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || this.#readPaused) return;
    this.#readPaused = true;
    this.#io.tcp.setReading(this._id, false);
  }

  resumeReading(): void {
    if (this.#closing || !this.#readPaused) return;
    this.#readPaused = false;
    this.#io.tcp.setReading(this._id, true);
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
    const tcp = this.#io.tcp;
    let queued: number;
    if (bytes.byteLength <= MAX_WRITE) queued = tcp.write(this._id, bytes);
    else {
      // libuv buffers count their length in 32 bits.
      queued = 0;
      for (let off = 0; off < bytes.byteLength; off += MAX_WRITE) queued = tcp.write(this._id, bytes.subarray(off, off + MAX_WRITE));
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
      this.#io.tcp.watchDrain(this._id, this.#low);
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
    this.#io.tcp.watchDrain(this._id, this.#low);
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
    return this._id < 0 ? 0 : this.#io.tcp.queued(this._id);
  }

  canWriteEof(): boolean {
    return true;
  }

  writeEof(): void {
    if (this.#closing || this.#eofWritten) return;
    this.#eofWritten = true;
    this.#io.tcp.shutdown(this._id);
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
    this.#io.tcp.close(this._id, 0);
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
        return (this.#socket ??= new NativeTcpSocket(this.#io, this));
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
    const a = this.#io.tcp.address(this._id, peer);
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
    return `<NativeTcpTransport ${state} ${JSON.stringify(this.getExtraInfo('peername') ?? '')}>`;
  }
}

/** `loop.createConnection` on the native loop: resolve, connect, then make the protocol. */
export function createConnection<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  getIo: () => TcpIo,
  protocolFactory: () => P,
  host: string,
  port: number,
  options?: CreateConnectionOptions,
): Future<[Transport, P]> {
  checkFactory(protocolFactory);
  checkHost(host, 'host');
  checkPort(port, 'port', false);
  const opts = checkOptions<CreateConnectionOptions>(options);
  const family = checkFamily(opts.family);
  const local = opts.localAddr == null ? null : checkAddr(opts.localAddr, 'localAddr');
  const noDelay = checkBool(opts.noDelay, 'noDelay', true);
  const io = getIo();
  return loop.createTask(function* () {
    const addrs = yield* lookupHost(loop, host, family);
    let lastError: unknown = null;
    for (const [addr, fam] of addrs) {
      const id = io.tcp.connect(addr, fam, port, local === null ? null : local[0], local === null ? 0 : local[1], noDelay);
      if (id < 0) {
        lastError = io.error(id, 'connect', addr, port);
        continue;
      }
      const transport = new NativeTcpTransport(loop, io, id, null);
      const connected = loop.createFuture<number>();
      transport._connected = (status) => {
        transport._connected = null;
        if (!connected.done()) connected.setResult(status);
      };
      let status: number;
      try {
        status = yield* connected;
      } catch (e) {
        // Cancelled: the attempt leaves nothing behind.
        transport._discard();
        throw e;
      }
      if (status < 0) {
        lastError = io.error(status, 'connect', addr, port);
        continue;
      }
      transport._cacheAddresses();
      let protocol: P;
      try {
        protocol = protocolFactory();
      } catch (e) {
        transport._discard();
        throw e;
      }
      transport._start(protocol);
      // The task's result reaches the caller after connectionMade (scheduled by _start).
      return [transport as Transport, protocol] as [Transport, P];
    }
    throw lastError ?? new Error(`no address to connect to for ${host}`);
  });
}
