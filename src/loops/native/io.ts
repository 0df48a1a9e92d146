/**
 * The I/O half of the native loop: the addon's `Io` (native/io.h: every socket and pipe of the
 * loop) and the dispatch of its event records.
 *
 * C++ never calls JS per event: libuv callbacks append records (id, kind, a, b) that reach JS
 * with the loop's one call per iteration; `NativeIo.collect` (run first in `_collectReady`) hands
 * each to its endpoint (a transport, a listener, a datagram endpoint), which queues it and
 * schedules its own work on the loop. Reads arrive in a shared arena C++ reuses after the
 * iteration (up to 256 KiB a read, uvloop's way), so they are copied out at once: the arena stays
 * in the cache, and so do the copies an echo writes back. Reads that did not fit the arena
 * arrive in Buffers of their own, not copied: spares JS allocated and supplied to C++ ahead
 * (READ_SPARE), or, when C++ has no spare left, malloc'd memory handed over as external Buffers
 * (READ_OWNED, one `owned(i)` call per record). Either kind must die young: a Buffer that lives
 * through two scavenges is promoted, and its memory then waits for a major GC (at 100 KiB echoes,
 * or at 1,000 busy connections, major GC took 10-20 % of the server's CPU that way). So each
 * external Buffer is made only when its record is handled, spares are supplied in step with
 * demand, and C++ hands JS a poll's reads every 512 KiB (native/io.h kDeliverBytes) rather than
 * all at once.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { NativeBinding, NativeIoHandle, NativeLoopHandle } from './binding.js';

/** Event kinds (native/io.h `IoEvent`). */
export const Ev = { read: 1, eof: 2, error: 3, closed: 4, connect: 5, accept: 6, drained: 7, datagram: 8, sent: 9, readOwned: 10, readSpare: 11, exit: 12, poll: 13 } as const;
/** Syscall names of `IoSyscall`, as Node's errors name them (node:dgram's receive error says 'recvmsg'). */
const SYSCALLS = ['', 'read', 'write', 'connect', 'accept', 'shutdown', 'recvmsg', 'send'];

/** Something that receives a handle's event records (a transport, a listener, an endpoint). */
export interface IoEndpoint {
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

/**
 * @internal The read arena's size, read when a loop first does I/O: 1 MiB holds what is read
 * between two deliveries to JS (native/io.h kDeliverBytes) plus a read. Tests shrink it to reach
 * the reads that do not fit (spares and owned buffers).
 */
export const ioSizes = { arena: 1 << 20 };
/** @internal Reads that arrived in Buffers of their own (READ_SPARE and READ_OWNED), for tests. */
export const ownBufferReads = { count: 0 };
/** A spare read buffer: one read's worth (native/io.h kOwnedRead). */
const SPARE_SIZE = 64 * 1024;
/** Spares C++ is given at most: 16 MiB waiting. Past them reads come as external Buffers. */
const MAX_SPARES = 256;
/**
 * A read into a spare shorter than this is copied out and the spare supplied again: a small
 * Buffer must not hold 64 KiB alive. Longer ones are handed over as a view (at most 4× retained).
 */
const COPY_BELOW = 16 * 1024;
/** Event records (4 ints each) per chunk; more costs one `more()` call per chunk. */
const EVENT_CAPACITY = 4096;

/** @internal The I/O half of one native loop: the addon's `Io` and the event dispatch. */
export class NativeIo {
  readonly loop: AbstractEventLoop;
  readonly binding: NativeBinding;
  readonly native: NativeIoHandle;
  // C++'s memory (native/shared.h), read from the handle once.
  readonly #state: Int32Array;
  readonly #events: Int32Array;
  readonly #arena: Uint8Array;
  readonly #endpoints = new Map<number, IoEndpoint>();
  /** Spares C++ holds, by token (undefined: the token is free). */
  readonly #spares: (Buffer | undefined)[] = [];
  readonly #freeTokens: number[] = [];
  /** Spares given back by a short read, to supply again before allocating new ones. */
  readonly #returned: Buffer[] = [];
  #supplied = 0;
  /** Reads that wanted a buffer of their own in this collect (spares used + owned buffers). */
  #demand = 0;

  constructor(loop: AbstractEventLoop, binding: NativeBinding, native: NativeLoopHandle) {
    this.loop = loop;
    this.binding = binding;
    this.native = new binding.Io(native, EVENT_CAPACITY, ioSizes.arena);
    this.#state = this.native.state;
    this.#events = this.native.events;
    this.#arena = this.native.arena;
  }

  register(id: number, e: IoEndpoint): void {
    this.#endpoints.set(id, e);
  }

  /** The shared read arena, valid until this iteration ends (datagram records are read in place). */
  get arena(): Uint8Array {
    return this.#arena;
  }

  /** A copy of arena bytes (the arena is reused after this iteration). */
  bytes(off: number, len: number): Buffer {
    const b = Buffer.allocUnsafe(len);
    b.set(this.#arena.subarray(off, off + len));
    return b;
  }

  /** The bytes of a READ_OWNED record: a Buffer of their own, now the caller's. */
  owned(i: number): Buffer {
    this.#demand++;
    ownBufferReads.count++;
    return this.native.owned(i)!;
  }

  /** The `n` bytes a READ_SPARE record put in spare `token`, now the caller's. */
  spare(token: number, n: number): Buffer {
    const buf = this.#spares[token]!;
    this.#spares[token] = undefined;
    this.#freeTokens.push(token);
    this.#supplied--;
    this.#demand++;
    ownBufferReads.count++;
    if (n >= COPY_BELOW) return buf.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    buf.copy(out, 0, 0, n);
    this.#returned.push(buf);
    return out;
  }

  /** Tops C++ up to twice this iteration's demand for buffers of their own (at most MAX_SPARES). */
  #supply(): void {
    const want = Math.min(MAX_SPARES, 2 * this.#demand);
    this.#demand = 0;
    while (this.#supplied < want) {
      const buf = this.#returned.pop() ?? Buffer.allocUnsafeSlow(SPARE_SIZE);
      const token = this.#freeTokens.pop() ?? this.#spares.length;
      if (!this.native.supply(buf, token)) {
        this.#returned.push(buf);
        this.#freeTokens.push(token);
        return;
      }
      this.#spares[token] = buf;
      this.#supplied++;
    }
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
      n = this.native.more();
    }
    state[0] = 0;
    if (this.#demand !== 0) this.#supply();
  }

  error(errno: number, syscall: number | string, host?: string, port?: number): NodeJS.ErrnoException {
    return uvError(this.binding, errno, typeof syscall === 'string' ? syscall : (SYSCALLS[syscall] ?? 'unknown'), host, port);
  }
}
