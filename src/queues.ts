/**
 * Queues for tasks, as asyncio's queues.py: Queue (FIFO), PriorityQueue, LifoQueue, with
 * `taskDone`/`join` and `shutdown(immediate)`. Written only against the loop contract.
 *
 * `put`/`get`/`join` return Futures (both coroutine forms work). A getter blocked on an empty
 * queue is handed the next item directly by `putNowait`; a putter blocked on a full queue is
 * given a reserved slot by `getNowait`, and its item goes in when the putter reads the outcome
 * (or on the next loop iteration if nobody does). Handed items and reserved slots count toward
 * `full()` until their tasks run, so `maxsize` holds as in asyncio, where the woken task does
 * the `getNowait`/`putNowait` itself. A woken getter or putter that is cancelled before it runs
 * gives its item (back to the front of the queue) or its slot (to the next putter) back: no
 * item is dropped and no wake-up is lost (asyncio's test_queues cancellation cases).
 *
 * Differences from asyncio, by construction: `qsize()` does not count an item already handed to
 * a woken getter, and `putNowait` cannot take a slot already promised to a woken putter (asyncio
 * lets it, sending the woken putter back to wait).
 */
import { QueueEmpty, QueueFull, QueueShutDown } from './errors.js';
import { type AbstractEventLoop, type Runnable, getRunningLoop, describe } from './events.js';
import type { Future } from './futures.js';
import { Event } from './locks.js';
import { Deque } from './util/deque.js';
import { Heap } from './util/heap.js';
import {
  Waiter,
  type WaiterOwner,
  type SignalOptions,
  abortReason,
  checkWaitOptions,
  doneFuture,
  failedFuture,
} from './util/waiter.js';

/** A putter's item and whether it went in yet. */
interface PutPayload<T> {
  item: T;
  committed: boolean;
}

/**
 * A first-in, first-out queue (asyncio.Queue).
 *
 * @example
 * ```ts
 * const q = new aio.Queue<number>(10);
 * yield* q.put(1);                 // or: await q.put(1)
 * const x = yield* q.get();
 * q.taskDone();
 * for await (const item of q) { ... }   // until q.shutdown()
 * ```
 */
export class Queue<T = unknown> implements WaiterOwner, AsyncIterable<T> {
  readonly #maxsize: number;
  #getters = new Deque<Waiter<T>>();
  #putters = new Deque<Waiter<void>>();
  /** Items handed to woken getters that have not run yet. */
  #inflight = 0;
  /** Slots promised to woken putters whose items are not in yet. */
  #reserved = 0;
  #unfinished = 0;
  #finished = new Event();
  #shutdown = false;
  #immediate = false;
  #loop: AbstractEventLoop | null = null;
  /** A done Future shared by puts that did not wait. */
  #ok: Future<void> | null = null;

  /**
   * @param maxsize The most items the queue holds; 0 or less means no limit (asyncio's rule).
   * A float is allowed (the queue is full once `qsize() >= maxsize`).
   * @default 0
   */
  constructor(maxsize = 0) {
    if (typeof maxsize !== 'number') throw new TypeError(`maxsize must be a number, not ${describe(maxsize)}`);
    if (Number.isNaN(maxsize)) throw new RangeError('maxsize must not be NaN');
    this.#maxsize = maxsize;
    this.#finished.set();
  }

  // --- storage: subclasses override these four (asyncio's _init/_put/_get/_qsize) ----------------

  /** @internal */ _items: Deque<T> = new Deque<T>();
  /** @internal Adds an item. */
  _put(item: T): void {
    this._items.push(item);
  }
  /** @internal Removes the next item. */
  _get(): T {
    return this._items.shift() as T;
  }
  /** @internal Returns an item a cancelled getter had been handed, so it comes out next. */
  _putBack(item: T): void {
    this._items.unshift(item);
  }
  /** @internal */
  _size(): number {
    return this._items.length;
  }
  /** @internal Throws if `item` cannot go into this kind of queue. */
  _check(_item: T): void {}

  // --- state ---------------------------------------------------------------------------------------

  /** The most items the queue holds (0 or less: no limit). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Number of items in the queue. */
  qsize(): number {
    return this._size();
  }

  /** Whether the queue has no items. */
  empty(): boolean {
    return this._size() === 0;
  }

  /** Whether `putNowait` would throw QueueFull (never, if maxsize <= 0). */
  full(): boolean {
    return this.#maxsize > 0 && this._size() + this.#inflight + this.#reserved >= this.#maxsize;
  }

  #getLoop(): AbstractEventLoop {
    const loop = getRunningLoop();
    if (this.#loop === null) this.#loop = loop;
    else if (this.#loop !== loop) throw new Error(`${this} is bound to a different event loop`);
    return loop;
  }

  // --- put -----------------------------------------------------------------------------------------

  /**
   * Puts `item`, waiting while the queue is full. Fails with QueueShutDown once the queue is
   * shut down.
   */
  put(item: T, options?: SignalOptions): Future<void> {
    const signal = checkWaitOptions(options);
    const loop = getRunningLoop();
    if (signal?.aborted) return failedFuture(loop, abortReason(signal));
    if (this.#shutdown) return failedFuture(loop, new QueueShutDown('put() on a shut-down Queue'));
    this._check(item);
    if (!this.full()) {
      this.#insert(item);
      let ok = this.#ok;
      if (ok === null || ok._loop !== loop) ok = this.#ok = doneFuture<void>(loop, undefined);
      return ok;
    }
    const w = new Waiter<void>(this.#getLoop(), this, { item, committed: false } satisfies PutPayload<T>, signal);
    this.#putters.push(w);
    return w;
  }

  /** Puts `item` now; throws QueueFull if the queue is full, QueueShutDown once shut down. */
  putNowait(item: T): void {
    if (this.#shutdown) throw new QueueShutDown('putNowait() on a shut-down Queue');
    if (this.full()) throw new QueueFull('putNowait() on a full Queue');
    this._check(item);
    this.#insert(item);
  }

  #insert(item: T): void {
    this.#unfinished++;
    this.#finished.clear();
    // A waiting getter means the queue is empty: the item goes straight to it.
    const g = this.#getters.shift();
    if (g === undefined) this._put(item);
    else {
      this.#inflight++;
      g._grant(item);
    }
  }

  /** Gives free slots to waiting putters, in order. */
  #wakePutters(): void {
    while (this.#putters.length > 0 && !this.full()) {
      const p = this.#putters.shift()!;
      this.#reserved++;
      p._grant(undefined);
      // If nobody reads the outcome (a put() that was not awaited), the item goes in anyway.
      p._loop._callSoonRunnable(new CommitPut(p));
    }
  }

  #commit(p: Waiter<void>): void {
    const payload = p._payload as PutPayload<T>;
    if (payload.committed) return;
    payload.committed = true;
    this.#reserved--;
    // Granted before an immediate shutdown: it went in and was discarded with the rest.
    if (!this.#immediate) this.#insert(payload.item);
  }

  // --- get -----------------------------------------------------------------------------------------

  /** Removes and returns an item, waiting while the queue is empty. Fails with QueueShutDown once the queue is shut down and empty. */
  get(options?: SignalOptions): Future<T> {
    const signal = checkWaitOptions(options);
    const loop = getRunningLoop();
    if (signal?.aborted) return failedFuture(loop, abortReason(signal));
    if (this._size() > 0) return doneFuture(loop, this.getNowait());
    if (this.#shutdown) return failedFuture(loop, new QueueShutDown('get() on a shut-down, empty Queue'));
    const w = new Waiter<T>(this.#getLoop(), this, undefined, signal);
    this.#getters.push(w);
    return w;
  }

  /** Removes and returns an item now; throws QueueEmpty if there is none (QueueShutDown once shut down). */
  getNowait(): T {
    if (this._size() === 0) {
      if (this.#shutdown) throw new QueueShutDown('getNowait() on a shut-down, empty Queue');
      throw new QueueEmpty('getNowait() on an empty Queue');
    }
    const item = this._get();
    this.#wakePutters();
    return item;
  }

  // --- waiters (WaiterOwner) -----------------------------------------------------------------------

  /** @internal */
  _dropWaiter(w: Waiter<any>): void {
    if (w._payload === undefined) this.#getters.remove(w);
    else this.#putters.remove(w);
  }

  /** @internal A woken waiter was cancelled before it ran: give its item or its slot back. */
  _revokeWaiter(w: Waiter<any>): void {
    if (w._payload === undefined) {
      this.#inflight--;
      const item = w._result as T;
      const g = this.#getters.shift();
      if (g !== undefined) {
        this.#inflight++;
        g._grant(item);
      } else if (!this.#immediate) this._putBack(item);
      else if (this.#unfinished > 0 && --this.#unfinished === 0) this.#finished.set();
    } else {
      const payload = w._payload as PutPayload<T>;
      if (payload.committed) return;
      payload.committed = true;
      this.#reserved--;
      this.#wakePutters();
    }
  }

  /** @internal A woken waiter ran: a getter frees the slot its item held, a putter puts its item. */
  _consumeWaiter(w: Waiter<any>): void {
    if (w._payload === undefined) {
      this.#inflight--;
      this.#wakePutters();
    } else this.#commit(w);
  }

  // --- taskDone, join, shutdown --------------------------------------------------------------------

  /**
   * Marks one item taken with `get` as processed. Throws if called more times than items were
   * put.
   */
  taskDone(): void {
    if (this.#unfinished <= 0) throw new Error('taskDone() called too many times');
    if (--this.#unfinished === 0) this.#finished.set();
  }

  /** Resolves once every item put has been marked done with `taskDone()`. */
  join(options?: SignalOptions): Future<true> {
    return this.#finished.wait(options);
  }

  /**
   * Shuts the queue down: `put` fails with QueueShutDown from now on, and `get` too once the
   * queue is empty; blocked putters and getters are woken with QueueShutDown. With `immediate`,
   * the queue is emptied first (each discarded item counts as done for `join`).
   * @param immediate @default false
   */
  shutdown(immediate = false): void {
    this.#shutdown = true;
    if (immediate) {
      this.#immediate = true;
      while (this._size() > 0) {
        this._get();
        if (this.#unfinished > 0) this.#unfinished--;
      }
      if (this.#unfinished === 0) this.#finished.set();
    }
    let g: Waiter<T> | undefined;
    while ((g = this.#getters.shift()) !== undefined) g._fail(new QueueShutDown('Queue shut down while waiting in get()'));
    let p: Waiter<void> | undefined;
    while ((p = this.#putters.shift()) !== undefined) p._fail(new QueueShutDown('Queue shut down while waiting in put()'));
  }

  /** Whether `shutdown()` was called. */
  isShutdown(): boolean {
    return this.#shutdown;
  }

  // --- iteration -----------------------------------------------------------------------------------

  /**
   * `for await (const item of queue)`: gets items until the queue is shut down and empty (the
   * loop then ends). Call `taskDone()` yourself if you `join()`.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: (): Promise<IteratorResult<T>> =>
        this.get().then(
          (value) => ({ done: false, value }),
          (e) => {
            if (e instanceof QueueShutDown) return { done: true, value: undefined };
            throw e;
          },
        ),
      return: (): Promise<IteratorResult<T>> => Promise.resolve({ done: true, value: undefined }),
    };
  }

  /** @internal */
  _kindName(): string {
    return 'Queue';
  }

  toString(): string {
    let s = `maxsize=${this.#maxsize}`;
    if (this._size() > 0) s += ` qsize=${this._size()}`;
    if (this.#getters.length > 0) s += ` getters=${this.#getters.length}`;
    if (this.#putters.length > 0) s += ` putters=${this.#putters.length}`;
    if (this.#unfinished > 0) s += ` tasks=${this.#unfinished}`;
    if (this.#shutdown) s += ' shutdown';
    return `<${this._kindName()} ${s}>`;
  }
}

/** Queued when a putter is woken: commits its item if nobody has read the outcome by then. */
class CommitPut implements Runnable {
  readonly _cancelled = false;
  constructor(readonly putter: Waiter<void>) {}
  _run(): void {
    if (this.putter._unconsumedGrant) this.putter.result();
  }
}

/** A last-in, first-out queue (asyncio.LifoQueue). */
export class LifoQueue<T = unknown> extends Queue<T> {
  /** @internal */
  override _get(): T {
    return this._items.pop() as T;
  }
  /** @internal */
  override _putBack(item: T): void {
    this._items.push(item);
  }
  /** @internal */
  override _kindName(): string {
    return 'LifoQueue';
  }
}

// -------------------------------------------------------------------------------------------------
// PriorityQueue

/** Orders two items: negative if `a` comes first, positive if `b` does, 0 if equal. */
export type Compare<T> = (a: T, b: T) => number;

export interface PriorityQueueOptions<T> {
  /**
   * Orders items; smallest first. By default numbers, bigints and strings compare by value and
   * arrays element by element, then by length (as Python compares tuples), so
   * `[priority, data]` entries work; comparing different kinds throws TypeError.
   */
  compare?: Compare<T>;
}

function kind(x: unknown): string {
  if (typeof x === 'number' || typeof x === 'bigint') return 'number';
  if (typeof x === 'string') return 'string';
  if (Array.isArray(x)) return 'array';
  return describe(x);
}

/** The default order: numbers, strings, and arrays of them element by element (like tuples). */
export function defaultCompare(a: unknown, b: unknown): number {
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb || (ka !== 'number' && ka !== 'string' && ka !== 'array')) {
    throw new TypeError(
      `PriorityQueue cannot compare ${ka} with ${kb}: items must be numbers, strings or arrays of them (or pass { compare })`,
    );
  }
  if (ka === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      // Python compares tuples by the first unequal element; equal objects are skipped.
      if (x[i] === y[i]) continue;
      const c = defaultCompare(x[i], y[i]);
      if (c !== 0) return c;
    }
    return x.length - y.length;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/**
 * A queue that gives the smallest item first (asyncio.PriorityQueue), by `defaultCompare` or
 * the `compare` option.
 *
 * @example
 * ```ts
 * const q = new aio.PriorityQueue<[number, string]>();
 * q.putNowait([2, 'b']); q.putNowait([1, 'a']);
 * q.getNowait(); // [1, 'a']
 * ```
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  #heap: Heap<T>;
  #compare: Compare<T>;

  /**
   * @param maxsize As for Queue. @default 0
   * @param options `compare`: the order (default: {@link defaultCompare}).
   */
  constructor(maxsize = 0, options: PriorityQueueOptions<T> = {}) {
    super(maxsize);
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, not ${describe(options)}`);
    const compare = options.compare ?? (defaultCompare as Compare<T>);
    if (typeof compare !== 'function') throw new TypeError(`options.compare must be a function, not ${describe(compare)}`);
    this.#compare = compare;
    this.#heap = new Heap<T>((a, b) => compare(a, b) < 0);
  }

  /**
   * @internal Compares `item` with every entry on its way up the heap before pushing, so a
   * comparison that throws (items of different kinds) leaves the heap as it was.
   */
  override _check(item: T): void {
    const a = this.#heap.items;
    if (a.length === 0) {
      if (this.#compare === defaultCompare) defaultCompare(item, item);
      return;
    }
    for (let i = a.length; i > 0; ) {
      i = (i - 1) >> 1;
      this.#compare(item, a[i]!);
    }
  }
  /** @internal */
  override _put(item: T): void {
    this.#heap.push(item);
  }
  /** @internal */
  override _get(): T {
    return this.#heap.pop() as T;
  }
  /** @internal */
  override _putBack(item: T): void {
    this.#heap.push(item);
  }
  /** @internal */
  override _size(): number {
    return this.#heap.length;
  }
  /** @internal */
  override _kindName(): string {
    return 'PriorityQueue';
  }
}
