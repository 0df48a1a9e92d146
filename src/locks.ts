/**
 * Synchronization primitives, as asyncio's locks.py: Lock, Event, Condition, Semaphore,
 * BoundedSemaphore, Barrier. Written only against the loop contract (`getRunningLoop`,
 * `createFuture`, `createTask`), so they run unchanged on every loop.
 *
 * Every blocking method returns a Future, so both coroutine forms work:
 * `yield* lock.acquire()` and `await lock.acquire()`. An uncontended acquire returns a Future
 * that is already done (awaiting it does not suspend). A contended one returns a Waiter (see
 * util/waiter.ts): release() hands the lock straight to the first waiter, and a waiter cancelled
 * between being handed the lock and running gives it back, so a cancellation never swallows a
 * wake-up or leaks the lock. Methods of several steps (Condition.wait, Barrier.wait) are
 * generator coroutines started inline (util/inline.ts), as `await cond.wait()` runs in asyncio.
 *
 * TypeScript extras: `hold()` gives an `AsyncDisposable` (`await using _ = await lock.hold()`),
 * and every wait takes `{ signal }` (an AbortSignal).
 */
import { BrokenBarrierError, CancelledError } from './errors.js';
import { type AbstractEventLoop, getRunningLoop, describe } from './events.js';
import { type Future } from './futures.js';
import type { Coro } from './tasks.js';
import { Deque } from './util/deque.js';
import { startInline } from './util/inline.js';
import {
  Waiter,
  type WaiterOwner,
  type SignalOptions,
  abortReason,
  checkWaitOptions,
  doneFuture,
  failedFuture,
} from './util/waiter.js';

export type { SignalOptions } from './util/waiter.js';

/**
 * What `hold()` resolves to: releases once, by `release()` or by disposal
 * (`using`/`await using`). Releasing twice is a no-op.
 */
export class Held implements Disposable, AsyncDisposable {
  #release: (() => void) | null;

  /** @internal */
  constructor(release: () => void) {
    this.#release = release;
  }

  /** Releases what was held (once). */
  release(): void {
    const r = this.#release;
    if (r === null) return;
    this.#release = null;
    r();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

/**
 * Binds a primitive to the loop it first waits on (asyncio's `_LoopBoundMixin`): waiters of one
 * loop cannot be woken into another.
 */
class LoopBound {
  /** @internal */ _boundLoop: AbstractEventLoop | null = null;

  /** @internal The running loop, checked against the bound one. */
  _getLoop(): AbstractEventLoop {
    const loop = getRunningLoop();
    if (this._boundLoop === null) this._boundLoop = loop;
    else if (this._boundLoop !== loop) throw new Error(`${this} is bound to a different event loop`);
    return loop;
  }
}

function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, not ${describe(value)}`);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, not ${value}`);
  return value;
}

/**
 * What Lock and Semaphore share (a Lock is a Semaphore of one permit): FIFO waiters, each handed
 * its permit directly by a release, and the Futures acquire() and hold() return. The subclass
 * says how a free permit is taken and given back.
 */
abstract class Permits extends LoopBound implements WaiterOwner {
  #waiters: Deque<Waiter<unknown>> | null = null;
  #ok: Future<true> | null = null;

  /** @internal Takes a free permit; false if there is none. */
  protected abstract _takeFree(): boolean;
  /** @internal A permit comes back and nobody waits for it: it is free again. */
  protected abstract _putFree(): void;

  /** @internal `value` null means "a new Held". */
  _acquire(value: true | null, options: SignalOptions | undefined): Future<unknown> {
    const signal = checkWaitOptions(options);
    const loop = getRunningLoop();
    if (signal?.aborted) return failedFuture(loop, abortReason(signal));
    // A free permit implies nobody waits: a release hands permits to waiters first.
    if (this._takeFree()) {
      if (value === null) return doneFuture(loop, this.#held());
      let ok = this.#ok;
      if (ok === null || ok._loop !== loop) ok = this.#ok = doneFuture<true>(loop, true);
      return ok;
    }
    const w = new Waiter<unknown>(this._getLoop(), this, value, signal);
    (this.#waiters ??= new Deque()).push(w);
    return w;
  }

  #held(): Held {
    return new Held(() => this.release());
  }

  abstract release(): void;

  /** @internal Gives a permit back: to the first waiter if there is one, else it is free. */
  _handOff(): void {
    const w = this.#waiters?.shift();
    if (w === undefined) this._putFree();
    else w._grant(w._payload === null ? this.#held() : w._payload);
  }

  /** @internal Number of tasks waiting. */
  get _nwaiting(): number {
    return this.#waiters?.length ?? 0;
  }

  /** @internal */
  _dropWaiter(w: Waiter<any>): void {
    this.#waiters?.remove(w);
  }

  /** @internal Handed a permit, then cancelled before it could use it: pass it on. */
  _revokeWaiter(_: Waiter<any>): void {
    this._handOff();
  }

  /** @internal */
  _consumeWaiter(_: Waiter<any>): void {}
}

// -------------------------------------------------------------------------------------------------
// Lock

/**
 * A mutex for tasks (asyncio.Lock). Not owned by a task: any code may release it. Fair: waiters
 * get the lock in the order they asked for it.
 *
 * @example
 * ```ts
 * const lock = new aio.Lock();
 * yield* lock.acquire();             // or: await lock.acquire()
 * try { ... } finally { lock.release(); }
 * // or:
 * await using _ = await lock.hold();
 * ```
 */
export class Lock extends Permits {
  #locked = false;

  /** Whether the lock is held. */
  locked(): boolean {
    return this.#locked;
  }

  /**
   * Acquires the lock: a Future resolving to `true` once it is held (already done if the lock
   * was free). Cancelling the wait, or aborting `options.signal`, leaves the lock as it was.
   */
  acquire(options?: SignalOptions): Future<true> {
    return this._acquire(true, options) as Future<true>;
  }

  /** Acquires the lock; resolves to a {@link Held} whose disposal releases it. */
  hold(options?: SignalOptions): Future<Held> {
    return this._acquire(null, options) as Future<Held>;
  }

  /** @internal */
  protected override _takeFree(): boolean {
    if (this.#locked) return false;
    this.#locked = true;
    return true;
  }

  /** @internal */
  protected override _putFree(): void {
    this.#locked = false;
  }

  /** Releases the lock; the first waiter, if any, gets it. Throws if the lock is not held. */
  release(): void {
    if (!this.#locked) throw new Error('Lock is not acquired: release() of an unlocked Lock');
    this._handOff();
  }

  override toString(): string {
    const n = this._nwaiting;
    return `<Lock [${this.#locked ? 'locked' : 'unlocked'}${n > 0 ? `, waiters:${n}` : ''}]>`;
  }
}

// -------------------------------------------------------------------------------------------------
// Event

/** A flag tasks can wait for (asyncio.Event). Initially not set. */
export class Event extends LoopBound implements WaiterOwner {
  #value = false;
  #waiters: Waiter<true>[] = [];
  #ok: Future<true> | null = null;

  /** Whether the flag is set. */
  isSet(): boolean {
    return this.#value;
  }

  /** Sets the flag and wakes every waiter; later waits return at once until `clear()`. */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w._grant(true);
  }

  /** Clears the flag. */
  clear(): void {
    this.#value = false;
  }

  /** Resolves to `true` once the flag is set (at once if it is). */
  wait(options?: SignalOptions): Future<true> {
    const signal = checkWaitOptions(options);
    const loop = getRunningLoop();
    if (signal?.aborted) return failedFuture(loop, abortReason(signal));
    if (this.#value) {
      let ok = this.#ok;
      if (ok === null || ok._loop !== loop) ok = this.#ok = doneFuture<true>(loop, true);
      return ok;
    }
    const w = new Waiter<true>(this._getLoop(), this, true, signal);
    this.#waiters.push(w);
    return w;
  }

  /** @internal */
  _dropWaiter(w: Waiter<any>): void {
    const i = this.#waiters.indexOf(w);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /** @internal Nothing to give back: every waiter of a set() is woken. */
  _revokeWaiter(_: Waiter<any>): void {}

  /** @internal */
  _consumeWaiter(_: Waiter<any>): void {}

  override toString(): string {
    const n = this.#waiters.length;
    return `<Event [${this.#value ? 'set' : 'unset'}${n > 0 ? `, waiters:${n}` : ''}]>`;
  }
}

// -------------------------------------------------------------------------------------------------
// Condition

/**
 * A condition variable (asyncio.Condition): tasks wait until notified, holding the underlying
 * Lock when they return. `wait()` may return spuriously (as asyncio's may), so wait in a loop or
 * use `waitFor(predicate)`.
 */
export class Condition extends LoopBound {
  #lock: Lock;
  #waiters = new Deque<Future<boolean>>();

  /** @param lock The lock to use (shared with other conditions); a new Lock by default. */
  constructor(lock?: Lock) {
    super();
    if (lock !== undefined && !(lock instanceof Lock)) throw new TypeError(`lock must be a Lock, not ${describe(lock)}`);
    this.#lock = lock ?? new Lock();
  }

  /** Whether the underlying lock is held. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /** Acquires the underlying lock (see {@link Lock.acquire}). */
  acquire(options?: SignalOptions): Future<true> {
    return this.#lock.acquire(options);
  }

  /** Acquires the underlying lock; resolves to a {@link Held} that releases it. */
  hold(options?: SignalOptions): Future<Held> {
    return this.#lock.hold(options);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /**
   * Releases the lock, waits until notified, then re-acquires the lock (even when cancelled:
   * the lock is held again when this throws CancelledError). Resolves to `true`. Throws if the
   * lock is not held.
   */
  wait(options?: SignalOptions): Future<true> {
    const signal = checkWaitOptions(options);
    if (!this.locked()) throw new Error('cannot wait on un-acquired lock: acquire the Condition first');
    return startInline(this._getLoop(), this._waitCoro(), signal);
  }

  /**
   * Waits until `predicate()` is truthy, calling it first and after each wake-up with the lock
   * held; resolves to its last value.
   */
  waitFor<R>(predicate: () => R, options?: SignalOptions): Future<R> {
    if (typeof predicate !== 'function') throw new TypeError(`predicate must be a function, not ${describe(predicate)}`);
    const signal = checkWaitOptions(options);
    if (!this.locked()) throw new Error('cannot wait on un-acquired lock: acquire the Condition first');
    return startInline(this._getLoop(), this._waitForCoro(predicate), signal);
  }

  /** @internal */
  *_waitForCoro<R>(predicate: () => R): Coro<R> {
    let result = predicate();
    while (!result) {
      yield* this._waitCoro();
      result = predicate();
    }
    return result;
  }

  /** @internal asyncio 3.13's Condition.wait, step for step. */
  *_waitCoro(): Coro<true> {
    if (!this.locked()) throw new Error('cannot wait on un-acquired lock: acquire the Condition first');
    const fut = this._getLoop().createFuture<boolean>();
    this.release();
    try {
      try {
        this.#waiters.push(fut);
        try {
          yield* fut;
          return true;
        } finally {
          this.#waiters.remove(fut);
        }
      } finally {
        // Re-acquire even when cancelled; remember the last cancellation and throw it after.
        let err: CancelledError | undefined;
        for (;;) {
          try {
            yield* this.#lock.acquire();
            break;
          } catch (e) {
            if (!(e instanceof CancelledError)) throw e;
            err = e;
          }
        }
        if (err !== undefined) throw err;
      }
    } catch (e) {
      // We may have been notified before failing: pass the notification on (a spurious wake-up
      // for someone is allowed; a lost one is not).
      this.#notify(1);
      throw e;
    }
  }

  /** Wakes up to `n` waiters (default 1). Throws if the lock is not held. */
  notify(n = 1): void {
    if (typeof n !== 'number' || Number.isNaN(n)) throw new TypeError(`n must be a number, not ${describe(n)}`);
    if (!this.locked()) throw new Error('cannot notify on un-acquired lock: acquire the Condition first');
    this.#notify(n);
  }

  /** Wakes every waiter. Throws if the lock is not held. */
  notifyAll(): void {
    this.notify(this.#waiters.length);
  }

  #notify(n: number): void {
    let woken = 0;
    for (const fut of this.#waiters) {
      if (woken >= n) break;
      if (!fut.done()) {
        woken++;
        fut.setResult(false);
      }
    }
  }

  override toString(): string {
    const n = this.#waiters.length;
    return `<Condition [${this.locked() ? 'locked' : 'unlocked'}${n > 0 ? `, waiters:${n}` : ''}]>`;
  }
}

// -------------------------------------------------------------------------------------------------
// Semaphore, BoundedSemaphore

/**
 * A counter of permits (asyncio.Semaphore): `acquire()` takes one, waiting while there is none;
 * `release()` gives one back. FIFO: a new acquire waits behind earlier waiters.
 */
export class Semaphore extends Permits {
  /** @internal */ _value: number;

  /**
   * @param value Initial number of permits, an integer >= 0.
   * @default 1
   */
  constructor(value = 1) {
    super();
    this._value = checkCount(value, 'value', 0);
  }

  /** Whether `acquire()` would wait. */
  locked(): boolean {
    return this._value === 0;
  }

  /** Takes a permit: a Future resolving to `true` (already done when one was free). */
  acquire(options?: SignalOptions): Future<true> {
    return this._acquire(true, options) as Future<true>;
  }

  /** Takes a permit; resolves to a {@link Held} whose disposal releases it. */
  hold(options?: SignalOptions): Future<Held> {
    return this._acquire(null, options) as Future<Held>;
  }

  /** @internal */
  protected override _takeFree(): boolean {
    if (!(this._value > 0)) return false;
    this._value--;
    return true;
  }

  /** @internal */
  protected override _putFree(): void {
    this._value++;
  }

  /** Gives a permit back, to the first waiter if there is one. */
  release(): void {
    this._handOff();
  }

  /** @internal */
  _kindName(): string {
    return 'Semaphore';
  }

  override toString(): string {
    const n = this._nwaiting;
    const state = this.locked() ? 'locked' : `unlocked, value:${this._value}`;
    return `<${this._kindName()} [${state}${n > 0 ? `, waiters:${n}` : ''}]>`;
  }
}

/** A Semaphore that throws when released more times than acquired. */
export class BoundedSemaphore extends Semaphore {
  readonly #bound: number;

  /**
   * @param value Initial (and maximum) number of permits, an integer >= 0.
   * @default 1
   */
  constructor(value = 1) {
    super(value);
    this.#bound = value;
  }

  /** Gives a permit back; throws if that would exceed the initial value. */
  override release(): void {
    if (this._value >= this.#bound) throw new Error('BoundedSemaphore released too many times');
    this._handOff();
  }

  /** @internal */
  override _kindName(): string {
    return 'BoundedSemaphore';
  }
}

// -------------------------------------------------------------------------------------------------
// Barrier

const FILLING = 'filling';
const DRAINING = 'draining';
const RESETTING = 'resetting';
const BROKEN = 'broken';
type BarrierState = typeof FILLING | typeof DRAINING | typeof RESETTING | typeof BROKEN;

/**
 * A barrier for a fixed number of tasks (asyncio.Barrier): `wait()` blocks until `parties` tasks
 * wait, then all go on. Built on a Condition exactly as asyncio's is, so wake-up order and the
 * effect of cancellation, `reset()` and `abort()` are asyncio's.
 */
export class Barrier extends LoopBound {
  #cond = new Condition();
  #parties: number;
  #state: BarrierState = FILLING;
  #count = 0;

  /** @param parties How many tasks must wait before all are released, an integer >= 1. */
  constructor(parties: number) {
    super();
    this.#parties = checkCount(parties, 'parties', 1);
  }

  /**
   * Waits until `parties` tasks wait; resolves to this task's arrival index, 0 to parties - 1.
   * Throws BrokenBarrierError if the barrier is broken or reset while waiting.
   */
  wait(options?: SignalOptions): Future<number> {
    const signal = checkWaitOptions(options);
    return startInline(this._getLoop(), this.#wait(), signal);
  }

  *#wait(): Coro<number> {
    yield* this.#cond.acquire();
    try {
      yield* this.#block();
      const index = this.#count++;
      try {
        if (index + 1 === this.#parties) {
          this.#state = DRAINING;
          this.#cond.notifyAll();
        } else {
          yield* this.#cond._waitForCoro(() => this.#state !== FILLING);
          if (this.#state === BROKEN || this.#state === RESETTING) {
            throw new BrokenBarrierError('Abort or reset of barrier');
          }
        }
        return index;
      } finally {
        this.#count--;
        this.#exit();
      }
    } finally {
      this.#cond.release();
    }
  }

  /** Waits while the barrier drains or resets; throws if it is broken. */
  *#block(): Coro<void> {
    yield* this.#cond._waitForCoro(() => this.#state !== DRAINING && this.#state !== RESETTING);
    if (this.#state === BROKEN) throw new BrokenBarrierError('Barrier aborted');
  }

  /** The last task out lets the blocked ones in. */
  #exit(): void {
    if (this.#count === 0) {
      if (this.#state === RESETTING || this.#state === DRAINING) this.#state = FILLING;
      this.#cond.notifyAll();
    }
  }

  /**
   * Returns the barrier to its initial state; tasks waiting in it get BrokenBarrierError. A
   * Future, as asyncio's is a coroutine (done at once unless the barrier's lock is contended).
   */
  reset(): Future<void> {
    return startInline(
      this._getLoop(),
      this.#locked(() => {
        if (this.#count > 0) {
          if (this.#state !== RESETTING) this.#state = RESETTING;
        } else this.#state = FILLING;
      }),
    );
  }

  /** Breaks the barrier: current and future waits throw BrokenBarrierError. A Future, as `reset`. */
  abort(): Future<void> {
    return startInline(
      this._getLoop(),
      this.#locked(() => {
        this.#state = BROKEN;
      }),
    );
  }

  *#locked(change: () => void): Coro<void> {
    yield* this.#cond.acquire();
    try {
      change();
      this.#cond.notifyAll();
    } finally {
      this.#cond.release();
    }
  }

  /** How many tasks must wait to trip the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** How many tasks wait in the barrier now (0 while it drains or resets). */
  get nWaiting(): number {
    return this.#state === FILLING ? this.#count : 0;
  }

  /** Whether the barrier is broken (by `abort()`). */
  get broken(): boolean {
    return this.#state === BROKEN;
  }

  override toString(): string {
    return `<Barrier [${this.#state}${this.broken ? '' : `, waiters:${this.nWaiting}/${this.#parties}`}]>`;
  }
}
