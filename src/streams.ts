/**
 * Streams: `StreamReader`/`StreamWriter` over any loop's transports (asyncio's `streams.py`).
 * Written only against the contract — `getRunningLoop()`, `createConnection`/`createServer`,
 * futures — never against node:net.
 *
 * Every method that waits returns a Future (await it or `yield*` it). Reads complete their
 * Future as soon as the data is there: a read that can be served from the buffer returns a Future
 * that is already done, and one that has to wait is finished by `feedData`/`feedEof` directly,
 * with no extra task hop.
 */
import { type AbstractEventLoop, describe, getRunningLoop } from './events.js';
import { Future } from './futures.js';
import { type Coro, type Task, isCoroutine } from './tasks.js';
import { IncompleteReadError, LimitOverrunError } from './errors.js';
import type { Protocol } from './protocols.js';
import type { Address, BytesLike, CreateConnectionOptions, CreateServerOptions, CreateUnixServerOptions, Server, Transport } from './transports.js';
import { Deque } from './util/deque.js';

/** The default buffer limit of a StreamReader: 64 KiB. */
export const DEFAULT_LIMIT = 64 * 1024;

const EMPTY = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');

/** @internal A StreamReader limit: a positive number. */
export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number') throw new TypeError(`limit must be a number, not ${describe(limit)}`);
  if (!(limit > 0) || !Number.isFinite(limit)) throw new RangeError(`limit must be a positive number, not ${limit}`);
  return limit;
}

function checkCount(n: unknown): asserts n is number {
  if (typeof n !== 'number') throw new TypeError(`n must be a number, not ${describe(n)}`);
  if (!Number.isInteger(n)) throw new RangeError(`n must be an integer, not ${n}`);
}

function connectionLostError(): Error {
  return Object.assign(new Error('Connection lost'), { name: 'ConnectionResetError', code: 'ECONNRESET' });
}

/** A pending read: `step` tries to finish `fut` from the buffer and says whether it did. */
interface Waiter {
  fut: Future<any>;
  step: () => boolean;
}

/**
 * Buffered bytes from a transport. `limit` bounds `readline`/`readUntil` lines and how much is
 * buffered before the transport's reading is paused (2 × limit). Reading is never paused while
 * a read waits for more data: such a read may need more than 2 × limit (`readExactly`).
 */
export class StreamReader implements AsyncIterable<Buffer> {
  /** @default 65536 */
  readonly limit: number;
  readonly #loop: AbstractEventLoop;
  readonly #chunks = new Deque<Buffer>(8);
  #length = 0;
  #eof = false;
  #exception: unknown = null;
  #transport: Transport | null = null;
  #paused = false;
  #waiter: Waiter | null = null;

  /**
   * @param limit buffer limit in bytes; @default 65536
   * @param loop @default the running loop
   */
  constructor(limit: number = DEFAULT_LIMIT, loop?: AbstractEventLoop) {
    this.limit = checkLimit(limit);
    this.#loop = loop ?? getRunningLoop();
  }

  /** The error set by `setException` (the connection's failure), or null. */
  exception(): unknown {
    return this.#exception;
  }

  setException(exc: unknown): void {
    this.#exception = exc;
    this.#wake();
  }

  setTransport(transport: Transport): void {
    if (this.#transport !== null) throw new Error('Transport already set');
    this.#transport = transport;
  }

  /** Appends received bytes (called by the protocol). */
  feedData(data: Buffer): void {
    if (this.#eof) throw new Error('feedData after feedEof');
    if (data.length === 0) return;
    this.#chunks.push(data);
    this.#length += data.length;
    this.#wake();
    // A read still waiting wants more than is here (readExactly(n > 2 × limit)): pausing now
    // would leave it waiting forever. asyncio resumes reading each time a read waits; not
    // pausing while one waits is the same without the pause/resume churn.
    if (this.#waiter !== null) return;
    const t = this.#transport;
    if (t !== null && !this.#paused && this.#length > 2 * this.limit) {
      try {
        t.pauseReading();
        this.#paused = true;
      } catch {
        // A transport that cannot pause keeps delivering; the buffer simply grows.
      }
    }
  }

  feedEof(): void {
    this.#eof = true;
    this.#wake();
  }

  /** True when EOF was fed and the buffer is empty. */
  atEof(): boolean {
    return this.#eof && this.#length === 0;
  }

  // --- the buffer -----------------------------------------------------------------------------

  #wake(): void {
    const w = this.#waiter;
    if (w === null) return;
    this.#waiter = null;
    if (w.fut.done()) return;
    if (!this.#run(w)) this.#waiter = w;
  }

  /** Runs one attempt of a pending read; true when its Future is done. */
  #run(w: Waiter): boolean {
    try {
      return w.step();
    } catch (e) {
      w.fut.setException(e);
      return true;
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#length <= this.limit) {
      this.#paused = false;
      this.#transport!.resumeReading();
    }
  }

  /** Starts a read: finishes now from the buffer or waits for more data. */
  #start<T>(name: string, step: (fut: Future<T>) => boolean): Future<T> {
    const fut = new Future<T>({ loop: this.#loop });
    const w: Waiter = { fut, step: () => step(fut) };
    if (this.#run(w)) return fut;
    if (this.#waiter !== null && !this.#waiter.fut.done()) {
      throw new Error(`${name}() called while another coroutine is already waiting for incoming data`);
    }
    this.#waiter = w;
    if (this.#paused) {
      this.#paused = false;
      this.#transport!.resumeReading();
    }
    return fut;
  }

  /** Removes and returns the first `n` buffered bytes (n <= length). */
  #take(n: number): Buffer {
    const chunks = this.#chunks;
    this.#length -= n;
    const first = chunks.peekFirst()!;
    if (first.length === n) return chunks.shift()!;
    if (first.length > n) {
      chunks.shift();
      chunks.unshift(first.subarray(n));
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = chunks.shift()!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k < c.length) chunks.unshift(c.subarray(k));
    }
    return out;
  }

  /** The buffer as one Buffer (joined once, kept joined). */
  #flat(): Buffer {
    const chunks = this.#chunks;
    if (chunks.length === 0) return EMPTY;
    if (chunks.length === 1) return chunks.peekFirst()!;
    const parts: Buffer[] = [];
    while (chunks.length > 0) parts.push(chunks.shift()!);
    const all = Buffer.concat(parts, this.#length);
    chunks.push(all);
    return all;
  }

  #takeAll(): Buffer {
    const all = this.#flat();
    this.#chunks.clear();
    this.#length = 0;
    return all;
  }

  // --- reads ----------------------------------------------------------------------------------

  /**
   * Up to `n` bytes, or everything until EOF when `n` is negative. An empty Buffer means EOF.
   * @param n @default -1
   */
  read(n = -1): Future<Buffer> {
    checkCount(n);
    if (n < 0) return this.#readAll();
    return this.#start('read', (fut) => {
      if (this.#exception !== null) throw this.#exception;
      if (n === 0) return fut.setResult(EMPTY), true;
      if (this.#length === 0) {
        if (!this.#eof) return false;
        fut.setResult(EMPTY);
        return true;
      }
      fut.setResult(this.#take(Math.min(n, this.#length)));
      this.#maybeResume();
      return true;
    });
  }

  #readAll(): Future<Buffer> {
    // Collect as it arrives, so the buffer never pauses the transport (asyncio reads in
    // blocks of `limit` for the same reason).
    const parts: Buffer[] = [];
    let total = 0;
    return this.#start('read', (fut) => {
      if (this.#exception !== null) throw this.#exception;
      if (this.#length > 0) {
        // The chunks themselves: joined once, at EOF (not once per wake-up as well).
        total += this.#length;
        const chunks = this.#chunks;
        while (chunks.length > 0) parts.push(chunks.shift()!);
        this.#length = 0;
        this.#maybeResume();
      }
      if (!this.#eof) return false;
      fut.setResult(parts.length === 1 ? parts[0]! : Buffer.concat(parts, total));
      return true;
    });
  }

  /**
   * One line, with its `\n`; at EOF the rest without it (an empty Buffer when nothing is left).
   * A line longer than `limit` throws LimitOverrunError and is discarded.
   */
  readline(): Future<Buffer> {
    return this.#start('readline', (fut) => {
      let r: Buffer | null;
      try {
        r = this.#tryReadUntil(NEWLINE);
      } catch (e) {
        if (e instanceof IncompleteReadError) {
          fut.setResult(e.partial);
          return true;
        }
        if (e instanceof LimitOverrunError) {
          // Drop the overlong line (through its separator if it is there), as asyncio does.
          const flat = this.#flat();
          if (flat.indexOf(NEWLINE, e.consumed) === e.consumed) this.#take(e.consumed + 1);
          else this.#takeAll();
          this.#maybeResume();
        }
        throw e;
      }
      if (r === null) return false;
      fut.setResult(r);
      return true;
    });
  }

  /**
   * Bytes up to and including `separator`. At EOF first: IncompleteReadError with what there
   * was. No separator within `limit`: LimitOverrunError (the data stays buffered).
   * @param separator @default '\n'
   */
  readUntil(separator: BytesLike | string = NEWLINE): Future<Buffer> {
    let sep: Buffer;
    if (typeof separator === 'string') sep = Buffer.from(separator);
    else if (ArrayBuffer.isView(separator)) sep = Buffer.from(separator.buffer, separator.byteOffset, separator.byteLength);
    else throw new TypeError(`separator must be a Buffer or a string, not ${describe(separator)}`);
    if (sep.length === 0) throw new RangeError('separator must be at least one byte');
    return this.#start('readUntil', (fut) => {
      const r = this.#tryReadUntil(sep);
      if (r === null) return false;
      fut.setResult(r);
      return true;
    });
  }

  /** A line ending in `sep` from the buffer, null to wait for more, or throws. */
  #tryReadUntil(sep: Buffer): Buffer | null {
    if (this.#exception !== null) throw this.#exception;
    const flat = this.#flat();
    const i = flat.indexOf(sep);
    if (i === -1) {
      const consumed = Math.max(0, flat.length + 1 - sep.length);
      if (consumed > this.limit) throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', consumed);
      if (this.#eof) throw new IncompleteReadError(this.#takeAll(), null);
      return null;
    }
    if (i > this.limit) throw new LimitOverrunError('Separator is found, but chunk is longer than limit', i);
    const out = this.#take(i + sep.length);
    this.#maybeResume();
    return out;
  }

  /** Exactly `n` bytes; at EOF first, IncompleteReadError with what there was. */
  readExactly(n: number): Future<Buffer> {
    checkCount(n);
    if (n < 0) throw new RangeError(`n must be >= 0, not ${n}`);
    return this.#start('readExactly', (fut) => {
      if (this.#exception !== null) throw this.#exception;
      if (n === 0) return fut.setResult(EMPTY), true;
      if (this.#length < n) {
        if (!this.#eof) return false;
        throw new IncompleteReadError(this.#takeAll(), n);
      }
      fut.setResult(this.#take(n));
      this.#maybeResume();
      return true;
    });
  }

  /** Lines until EOF: `for await (const line of reader)`. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => {
        const line = this.readline();
        const fut = new Future<IteratorResult<Buffer>>({ loop: this.#loop });
        line.addDoneCallback((f) => {
          if (fut.done()) return;
          const e = f.cancelled() ? null : f.exception();
          if (f.cancelled()) fut.cancel();
          else if (e !== undefined) fut.setException(e);
          else {
            const v = f.result();
            fut.setResult(v.length === 0 ? { done: true, value: undefined } : { done: false, value: v });
          }
        });
        return fut as unknown as Promise<IteratorResult<Buffer>>;
      },
    };
  }

  toString(): string {
    const info = [`${this.#length} bytes`];
    if (this.#eof) info.push('eof');
    if (this.#paused) info.push('paused');
    return `<StreamReader ${info.join(' ')}>`;
  }
}

/**
 * The protocol behind a stream pair: feeds the reader, tracks write flow control for
 * `drain()` (asyncio's FlowControlMixin) and, on a server, calls `clientConnected`.
 */
export class StreamReaderProtocol implements Protocol {
  readonly #loop: AbstractEventLoop;
  #reader: StreamReader | null;
  readonly #clientConnected: ClientConnected | null;
  #transport: Transport | null = null;
  #paused = false;
  #lost = false;
  readonly #drainWaiters = new Deque<Future<void>>(4);
  readonly #closed: Future<void>;
  #task: Task<unknown> | null = null;

  constructor(reader: StreamReader, clientConnected: ClientConnected | null = null, loop?: AbstractEventLoop) {
    this.#loop = loop ?? getRunningLoop();
    this.#reader = reader;
    this.#clientConnected = clientConnected;
    this.#closed = new Future<void>({ loop: this.#loop });
  }

  connectionMade(transport: Transport): void {
    this.#transport = transport;
    const reader = this.#reader!;
    reader.setTransport(transport);
    const cb = this.#clientConnected;
    if (cb === null) return;
    const writer = new StreamWriter(transport, this, reader, this.#loop);
    const task = this.#loop.createTask(() => {
      const r = cb(reader, writer) as unknown;
      if (isCoroutine(r) || (typeof r === 'object' && r !== null && typeof (r as PromiseLike<unknown>).then === 'function')) {
        return r as Coro<unknown> | PromiseLike<unknown>;
      }
      return Promise.resolve(r);
    });
    this.#task = task;
    task.addDoneCallback((t) => {
      this.#task = null;
      if (t.cancelled()) {
        transport.close();
        return;
      }
      const exc = t.exception();
      if (exc !== undefined) {
        this.#loop.callExceptionHandler({ message: 'Unhandled exception in clientConnected', exception: exc, transport });
        transport.close();
      }
    });
  }

  connectionLost(exc: Error | null): void {
    const reader = this.#reader;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    if (!this.#closed.done()) {
      if (exc === null) this.#closed.setResult(undefined);
      else {
        this.#closed.setException(exc);
        this.#closed.exception(); // nobody has to look at it: no "never retrieved" report
      }
    }
    // Wake drain() callers: with the error, or with "connection lost" when they look.
    this.#lost = true;
    this.#paused = false;
    const waiters = this.#drainWaiters;
    while (waiters.length > 0) {
      const w = waiters.shift()!;
      if (w.done()) continue;
      if (exc === null) w.setResult(undefined);
      else {
        w.setException(exc);
      }
    }
    this.#reader = null;
    this.#transport = null;
  }

  dataReceived(data: Buffer): void {
    this.#reader?.feedData(data);
  }

  eofReceived(): boolean {
    this.#reader?.feedEof();
    // Keep the transport open: the writer may still have things to say (half-close).
    return true;
  }

  pauseWriting(): void {
    this.#paused = true;
  }

  resumeWriting(): void {
    this.#paused = false;
    const waiters = this.#drainWaiters;
    while (waiters.length > 0) {
      const w = waiters.shift()!;
      if (!w.done()) w.setResult(undefined);
    }
  }

  /** @internal What `StreamWriter.drain()` waits on. */
  _drainHelper(): Future<void> {
    const fut = new Future<void>({ loop: this.#loop });
    if (this.#lost) fut.setException(connectionLostError());
    else if (!this.#paused) fut.setResult(undefined);
    else this.#drainWaiters.push(fut);
    return fut;
  }

  /** @internal Done when the connection is lost. */
  _closeWaiter(): Future<void> {
    return this.#closed;
  }
}

/** Writes to a transport; `drain()` waits while its buffer is above the high-water mark. */
export class StreamWriter {
  readonly #transport: Transport;
  readonly #protocol: StreamReaderProtocol;
  readonly #reader: StreamReader | null;
  readonly #loop: AbstractEventLoop;

  constructor(transport: Transport, protocol: StreamReaderProtocol, reader: StreamReader | null, loop: AbstractEventLoop) {
    this.#transport = transport;
    this.#protocol = protocol;
    this.#reader = reader;
    this.#loop = loop;
  }

  get transport(): Transport {
    return this.#transport;
  }

  write(data: BytesLike): void {
    this.#transport.write(data);
  }

  writelines(data: Iterable<BytesLike>): void {
    this.#transport.writelines(data);
  }

  writeEof(): void {
    this.#transport.writeEof();
  }

  canWriteEof(): boolean {
    return this.#transport.canWriteEof();
  }

  close(): void {
    this.#transport.close();
  }

  isClosing(): boolean {
    return this.#transport.isClosing();
  }

  /** Done when the connection is closed (rejects with the error that ended it, if any). */
  waitClosed(): Future<void> {
    return this.#protocol._closeWaiter();
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return this.#transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Waits until the write buffer is below the high-water mark. Throws the connection's error, or
   * a ConnectionResetError (`code` 'ECONNRESET') once the connection is lost.
   */
  drain(): Future<void> {
    const exc = this.#reader?.exception();
    if (exc !== null && exc !== undefined) {
      const f = new Future<void>({ loop: this.#loop });
      f.setException(exc);
      return f;
    }
    if (!this.#transport.isClosing()) return this.#protocol._drainHelper();
    // Closing: give connectionLost a chance to run first (asyncio's sleep(0)), then report.
    const fut = new Future<void>({ loop: this.#loop });
    this.#loop.callSoon(() => {
      if (fut.done()) return;
      const inner = this.#protocol._drainHelper();
      inner.addDoneCallback((f) => {
        if (fut.done()) return;
        const e = f.exception();
        if (e !== undefined) fut.setException(e);
        else fut.setResult(undefined);
      });
    });
    return fut;
  }

  toString(): string {
    return `<StreamWriter transport=${this.#transport}>`;
  }
}

/** Called for each connection of a stream server; a generator or async function runs as a Task. */
export type ClientConnected = (reader: StreamReader, writer: StreamWriter) => Coro<unknown> | PromiseLike<unknown> | void;

export interface StreamOptions {
  /** The StreamReader's limit. @default 65536 */
  limit?: number;
}

function pair(loop: AbstractEventLoop, limit: number | undefined, connect: (factory: () => StreamReaderProtocol) => Future<[Transport, StreamReaderProtocol]>): Future<[StreamReader, StreamWriter]> {
  const reader = new StreamReader(limit ?? DEFAULT_LIMIT, loop);
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const conn = connect(() => protocol);
  return loop.createTask(function* () {
    const [transport] = yield* conn;
    return [reader, new StreamWriter(transport, protocol, reader, loop)] as [StreamReader, StreamWriter];
  });
}

function streamLimit(opts: StreamOptions | undefined): number | undefined {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== 'object') throw new TypeError(`options must be an object, not ${describe(opts)}`);
  return opts.limit === undefined ? undefined : checkLimit(opts.limit);
}

function withoutLimit<T extends object>(opts: (T & StreamOptions) | undefined): T | undefined {
  if (opts === undefined || opts === null) return undefined;
  const { limit: _limit, ...rest } = opts;
  return rest as T;
}

/** Connects over TCP; resolves to `[reader, writer]`. */
export function openConnection(host: string, port: number, options?: CreateConnectionOptions & StreamOptions): Future<[StreamReader, StreamWriter]> {
  const loop = getRunningLoop();
  const limit = streamLimit(options);
  const rest = withoutLimit(options);
  return pair(loop, limit, (f) => loop.createConnection(f, host, port, rest));
}

/** Connects to a Unix socket; resolves to `[reader, writer]`. */
export function openUnixConnection(path: string, options?: StreamOptions): Future<[StreamReader, StreamWriter]> {
  const loop = getRunningLoop();
  const limit = streamLimit(options);
  return pair(loop, limit, (f) => loop.createUnixConnection(f, path, withoutLimit(options)));
}

function checkClientConnected(cb: unknown): void {
  if (typeof cb !== 'function') throw new TypeError(`clientConnected must be a function, not ${describe(cb)}`);
}

/** A TCP server calling `clientConnected(reader, writer)` for each connection. */
export function startServer(
  clientConnected: ClientConnected,
  host?: string | string[] | null,
  port?: number | null,
  options?: CreateServerOptions & StreamOptions,
): Future<Server> {
  checkClientConnected(clientConnected);
  const loop = getRunningLoop();
  const limit = streamLimit(options) ?? DEFAULT_LIMIT;
  const factory = () => new StreamReaderProtocol(new StreamReader(limit, loop), clientConnected, loop);
  return loop.createServer(factory, host, port, withoutLimit(options));
}

/** A Unix socket server calling `clientConnected(reader, writer)` for each connection. */
export function startUnixServer(clientConnected: ClientConnected, path: string, options?: CreateUnixServerOptions & StreamOptions): Future<Server> {
  checkClientConnected(clientConnected);
  const loop = getRunningLoop();
  const limit = streamLimit(options) ?? DEFAULT_LIMIT;
  const factory = () => new StreamReaderProtocol(new StreamReader(limit, loop), clientConnected, loop);
  return loop.createUnixServer(factory, path, withoutLimit(options));
}

export type { Address };
