/**
 * sleep(delay, result): a Future done after `delay` seconds. `sleep(0)` is asyncio's bare
 * `yield`: exactly one loop iteration, at the cost of one object.
 */
import { Future } from './futures.js';
import { type AbstractEventLoop, type Runnable, type TimerEntry, getRunningLoop } from './events.js';
import { checkDelay } from './coro.js';
import type { Reaction } from './reaction.js';
import { noteAwaitSite, tracking } from './introspect/sites.js';

/** Shared iterator results: `yield*` reads them and keeps nothing, so no allocation per step. */
const YIELD_NOTHING: IteratorYieldResult<Future<unknown>> = Object.freeze({ done: false, value: null as unknown as Future<unknown> });

/** How far a Sleep0 has been iterated as its own `yield*` iterator. */
const enum Iteration {
  Fresh,
  /** Yielded nothing to the task once: the task comes back next iteration. */
  Yielded,
  /** Returned its result. */
  Finished,
}

/**
 * The Future of `sleep(0)` (and negative delays): waiting on it gives the loop exactly one
 * iteration, like asyncio's bare `yield`. A generator task yields nothing and is stepped again
 * next iteration; an async task's Reaction is queued at once instead of waiting for the Future.
 * The Future itself is settled only when its waiter runs or something else watches it (a done
 * callback), so the common case costs this one object: it is also its own (one-shot) iterator.
 */
export class Sleep0<T> extends Future<T> implements Iterator<Future<unknown>, T, unknown> {
  // The value to resolve with waits in `_result` (unused while pending): one field less.
  /** @internal A callback that settles it is queued (or it is settled). */
  _settling = false;
  /** @internal */
  _iteration = Iteration.Fresh;

  constructor(loop: AbstractEventLoop, value: T) {
    super({ loop });
    this._result = value;
  }

  /** @internal Its waiter runs, one iteration after the await: settle now unless settled. */
  override _settleForReaction(): void {
    if (this._state === 0) {
      this._settling = true;
      this.setResult(this._result as T);
    }
  }

  /** @internal The awaiting code resumes next iteration (the reaction is its own queue entry). */
  override _react(r: Reaction): void {
    if (this._state === 0) this._loop._callSoonRunnable(r);
    else super._react(r);
  }

  override addDoneCallback(cb: (fut: Future<T>) => unknown): void {
    this.#settleSoon();
    super.addDoneCallback(cb);
  }

  /** @internal */
  override _addWaiter(waiter: Runnable): void {
    this.#settleSoon();
    super._addWaiter(waiter);
  }

  #settleSoon(): void {
    if (!this._settling) {
      this._settling = true;
      this._loop.callSoon(setResultUnlessDone<T>, this, this._result as T);
    }
  }

  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    if (this._iteration === Iteration.Fresh) return this;
    // Iterated again (rare): a fresh one-shot iterator with the same outcome.
    const again = new Sleep0<T>(this._loop, this._result as T);
    if (this._state !== 0 || this._iteration === Iteration.Finished) {
      again._settling = true;
      again._iteration = Iteration.Finished;
      again.setResult(this._result as T);
    }
    return again;
  }

  next(): IteratorResult<Future<unknown>, T> {
    if (this._iteration === Iteration.Fresh) {
      this._iteration = Iteration.Yielded;
      if (tracking) noteAwaitSite(null, Sleep0.prototype.next); // the task waits on nothing: it is ready
      return YIELD_NOTHING;
    }
    this._iteration = Iteration.Finished;
    this._settling = true;
    if (this._state === 0) this.setResult(this._result as T);
    return { done: true, value: this.result() };
  }

  throw(e: unknown): IteratorResult<Future<unknown>, T> {
    throw e;
  }

  return(v?: T): IteratorResult<Future<unknown>, T> {
    return { done: true, value: v as T };
  }
}

/** The awaiting task may have settled a Sleep0 first (see `next`/`_finish`). */
function setResultUnlessDone<T>(fut: Future<T>, result: T): void {
  if (fut._state === 0) fut.setResult(result);
}

/**
 * The Future of `sleep(delay)`, which is also its own timer entry in the loop (TimerEntry): one
 * object per sleep instead of a Future, a TimerHandle and its argument array (~110 bytes less per
 * sleeping task). While pending, `_result` holds the value to resolve with.
 */
export class SleepFuture<T> extends Future<T> implements TimerEntry {
  /** @internal */ readonly _when: number;
  /** @internal */ _seq = 0;
  /** @internal */ _scheduled = true;
  /** @internal */ _id = -1;

  constructor(loop: AbstractEventLoop, when: number, result: T) {
    super({ loop });
    this._when = when;
    this._result = result;
  }

  /** @internal Timer entry protocol: a settled sleep's entry is skipped. */
  get _cancelled(): boolean {
    return this._state !== 0;
  }

  /** @internal Due: resolve with the value kept in `_result`. */
  _run(): void {
    if (this._state === 0) super.setResult(this._result as T);
  }

  /** @internal The loop closed: the sleep stays pending, as a Future whose timer was cancelled. */
  _dropped(): void {
    this._scheduled = false;
  }

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    this.#unschedule();
    return true;
  }

  override setResult(result: T): void {
    super.setResult(result);
    this.#unschedule();
  }

  override setException(exception: unknown): void {
    super.setException(exception);
    this.#unschedule();
  }

  #unschedule(): void {
    if (this._scheduled) this._loop._timerHandleCancelled(this);
  }
}

/** A Future done after `delay` seconds, with `result`. `sleep(0)` yields to the loop once. */
export function sleep<T = undefined>(delay: number, result?: T): Future<T> {
  checkDelay(delay);
  const loop = getRunningLoop();
  if (delay <= 0) return new Sleep0<T>(loop, result as T);
  const fut = new SleepFuture<T>(loop, loop.time() + delay, result as T);
  loop._callAtEntry(fut);
  return fut;
}
