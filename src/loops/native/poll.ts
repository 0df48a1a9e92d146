/**
 * fd readiness on the native loop: `addReader` / `addWriter` and the waits of the low-level socket
 * API, on the addon's uv_poll_t handles (native/poll.cc).
 *
 * One poll handle per fd (libuv allows no more) carries both interests: each fd has at most one
 * reader and one writer Handle, as asyncio's selector loop keeps them (`_add_reader`: adding again
 * replaces the old handle and cancels it). A readiness record queues the Handle on the ready queue
 * as a loop callback; epoll is level-triggered, so an fd left ready is reported again next
 * iteration. With neither interest left the poll handle is closed, which takes the fd out of
 * epoll at once (before a socket closes its fd, so a reused fd number is never watched by a stale
 * handle).
 */
import type { AbstractEventLoop, Handle } from '../../events.js';
import type { BaseEventLoop } from '../base.js';
import { Ev, type IoEndpoint, type NativeIo } from './io.js';

const READABLE = 1;
const WRITABLE = 2;

/** One fd's watch: its poll handle and its two interests. */
class FdWatch implements IoEndpoint {
  readonly fd: number;
  readonly id: number;
  reader: Handle | null = null;
  writer: Handle | null = null;
  /** The interests set on the poll handle. */
  events = 0;
  /** The fd belongs to a Socket of ours: the handle may stay open while idle (see `keep`). */
  owned = false;
  readonly #loop: BaseEventLoop;
  readonly #table: FdWatches;

  constructor(fd: number, id: number, loop: BaseEventLoop, table: FdWatches) {
    this.fd = fd;
    this.id = id;
    this.#loop = loop;
    this.#table = table;
  }

  wanted(): number {
    return (this.reader !== null ? READABLE : 0) | (this.writer !== null ? WRITABLE : 0);
  }

  _event(kind: number, a: number): void {
    if (kind !== Ev.poll) return;
    // Armed for an interest nobody has now (a sock* operation ended, its watch left armed in
    // case the next one wants it): disarm it at last.
    if (a >= 0 && (a & ~this.wanted()) !== 0) this.#table._sync(this);
    // An error (a < 0) wakes both sides: their next syscall meets it, as a selector reports an
    // fd in error as readable and writable.
    const bits = a < 0 ? READABLE | WRITABLE : a;
    const r = this.reader;
    const w = this.writer;
    if ((bits & READABLE) !== 0 && r !== null && !r._cancelled) this.#loop._callSoonRunnable(r);
    if ((bits & WRITABLE) !== 0 && w !== null && !w._cancelled) this.#loop._callSoonRunnable(w);
  }
}

/** @internal The fd watches of one native loop. */
export class FdWatches {
  readonly #loop: BaseEventLoop;
  readonly #getIo: () => NativeIo;
  readonly #byFd = new Map<number, FdWatch>();

  constructor(loop: BaseEventLoop, getIo: () => NativeIo) {
    this.#loop = loop;
    this.#getIo = getIo;
  }

  /** Watches `fd` for readability (`writer` false) or writability: `h` runs when it is; the old handle is cancelled. */
  add(fd: number, writer: boolean, h: Handle): void {
    const io = this.#getIo();
    let w = this.#byFd.get(fd);
    if (w === undefined) {
      const id = io.native.pollOpen(fd);
      if (id < 0) throw io.error(id, 'uv_poll_init');
      w = new FdWatch(fd, id, this.#loop, this);
      io.register(id, w);
      this.#byFd.set(fd, w);
    }
    const old = writer ? w.writer : w.reader;
    if (writer) w.writer = h;
    else w.reader = h;
    old?.cancel();
    this.#update(w, io);
  }

  /**
   * Stops watching `fd` for one interest; false if there was none. `lazy` (the sock* operations
   * on a Socket's own fd, which stays open until the Socket closes and releases its watch): the
   * poll handle stays open and armed, and is disarmed only if it reports readiness nobody wants.
   * An echo's recv → send → recv then costs no call into the addon for the watch. A program's
   * own fd (removeReader) is closed with its last interest: the fd may be closed next and its
   * number reused by a socket libuv watches.
   */
  remove(fd: number, writer: boolean, lazy = false): boolean {
    const w = this.#byFd.get(fd);
    if (w === undefined) return false;
    const h = writer ? w.writer : w.reader;
    if (h === null) return false;
    if (writer) w.writer = null;
    else w.reader = null;
    h.cancel();
    if (lazy) w.owned = true;
    else this.#update(w, this.#getIo());
    return true;
  }

  /** Closes `fd`'s watch whatever it holds (its Socket is closing: before the fd is). */
  release(fd: number): void {
    const w = this.#byFd.get(fd);
    if (w === undefined) return;
    w.reader?.cancel();
    w.writer?.cancel();
    w.reader = w.writer = null;
    this.#update(w, this.#getIo());
  }

  /** @internal Disarms what `w` no longer wants (an idle watch of a Socket's fd stays open). */
  _sync(w: FdWatch): void {
    if (w.wanted() === 0 && !w.owned) {
      this.#update(w, this.#getIo());
      return;
    }
    const err = this.#getIo().native.pollSet(w.id, w.wanted());
    if (err === 0) w.events = w.wanted();
  }

  /** Drops every watch (the loop is closing; C++ closes the handles). */
  clear(): void {
    for (const w of this.#byFd.values()) {
      w.reader?.cancel();
      w.writer?.cancel();
    }
    this.#byFd.clear();
  }

  get size(): number {
    return this.#byFd.size;
  }

  #update(w: FdWatch, io: NativeIo): void {
    const events = (w.reader !== null ? READABLE : 0) | (w.writer !== null ? WRITABLE : 0);
    if (events === 0) {
      this.#byFd.delete(w.fd);
      io.native.pollClose(w.id);
      return;
    }
    if (events === w.events) return;
    const err = io.native.pollSet(w.id, events);
    if (err < 0) {
      // The watch cannot start (the fd went bad): undo it and say why.
      w.reader?.cancel();
      w.writer?.cancel();
      this.#byFd.delete(w.fd);
      io.native.pollClose(w.id);
      throw io.error(err, 'uv_poll_start');
    }
    w.events = events;
  }
}

/** Each native loop's fd watches, for its sockets' operations (sock.ts): made with its backend. */
const byLoop = new WeakMap<AbstractEventLoop, FdWatches>();

/** @internal */
export function registerFdWatches(loop: AbstractEventLoop, w: FdWatches): void {
  byLoop.set(loop, w);
}

/** @internal The fd watches of native loop `loop` (its backend exists: the loop checked the socket's kind through it). */
export function fdWatchesOf(loop: AbstractEventLoop): FdWatches {
  return byLoop.get(loop)!;
}
