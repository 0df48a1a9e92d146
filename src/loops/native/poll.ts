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
import { Handle } from '../../events.js';
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
  readonly #loop: BaseEventLoop;

  constructor(fd: number, id: number, loop: BaseEventLoop) {
    this.fd = fd;
    this.id = id;
    this.#loop = loop;
  }

  _event(kind: number, a: number): void {
    if (kind !== Ev.poll) return;
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

  /** Watches `fd` for readability (`writer` false) or writability; the old handle is cancelled. */
  add(fd: number, writer: boolean, callback: (...args: any[]) => unknown, args: unknown[] | null): Handle {
    const io = this.#getIo();
    let w = this.#byFd.get(fd);
    if (w === undefined) {
      const id = io.native.pollOpen(fd);
      if (id < 0) throw io.error(id, 'uv_poll_init');
      w = new FdWatch(fd, id, this.#loop);
      io.register(id, w);
      this.#byFd.set(fd, w);
    }
    const h = new Handle(callback, args, this.#loop);
    const old = writer ? w.writer : w.reader;
    if (writer) w.writer = h;
    else w.reader = h;
    old?.cancel();
    this.#update(w, io);
    return h;
  }

  /** Stops watching `fd` for one interest; false if there was none. */
  remove(fd: number, writer: boolean): boolean {
    const w = this.#byFd.get(fd);
    if (w === undefined) return false;
    const h = writer ? w.writer : w.reader;
    if (h === null) return false;
    if (writer) w.writer = null;
    else w.reader = null;
    h.cancel();
    this.#update(w, this.#getIo());
    return true;
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
