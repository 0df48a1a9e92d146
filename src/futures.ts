/**
 * Future: a result that will be set later, awaitable both ways — `await fut` (it is a
 * PromiseLike) and `yield* fut` inside generator coroutines (its iterator yields the Future to the
 * Task driving the generator, as asyncio's `Future.__await__` does, then returns the result).
 */
import { CancelledError, InvalidStateError } from './errors.js';
import { type AbstractEventLoop, type Runnable, getEventLoop, describe } from './events.js';
import { awaitingTask } from './context.js';
import { Reaction, type ReactingTask } from './reaction.js';
import { logger } from './log.js';
import { noteAwaitSite, tracking } from './introspect/sites.js';

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
/** Finished with an exception nobody has looked at yet (reported if collected so). */
const FINISHED_UNRETRIEVED = 3;

export type DoneCallback<T> = (fut: Future<T>) => unknown;

/** What an awaiting async-function task provides to `Future.then` (implemented by Task). */
export interface AwaitingTask extends ReactingTask {
  /** @internal The task's code awaits `fut` through `r`. */
  _await(fut: Future<any>, r: Reaction): void;
}

/** A settled promise to queue microtasks on (cheaper than queueMicrotask, which makes an AsyncResource). */
export const RESOLVED: Promise<void> = Promise.resolve();

// Futures that failed and whose exception nobody looked at are reported when collected
// (asyncio does it in `__del__`). Only failed futures are registered, so success costs nothing.
const unretrieved = new FinalizationRegistry<{ loop: AbstractEventLoop; exception: unknown; what: string }>(
  ({ loop, exception, what }) => {
    loop.callExceptionHandler({ message: `${what} exception was never retrieved`, exception });
  },
);

export class Future<T = unknown> implements PromiseLike<T> {
  // Five fields only: millions of futures are made (one per sleep, per wait), and every word
  // counts in the young generation.
  /** @internal */ _state = PENDING;
  /** @internal The result; the cancel message once cancelled. */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal */ _loop: AbstractEventLoop;
  /**
   * @internal Done callbacks: null, one (most futures have exactly one: the awaiting task), or
   * an array. An entry is a function or a Runnable (a Task waiting here, see `_addWaiter`).
   */
  _callbacks: DoneCallback<any> | Runnable | (DoneCallback<any> | Runnable)[] | null = null;

  constructor(options?: { loop?: AbstractEventLoop }) {
    this._loop = options?.loop ?? getEventLoop();
  }

  getLoop(): AbstractEventLoop {
    return this._loop;
  }

  done(): boolean {
    return this._state !== PENDING;
  }

  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /** The result; throws the exception, `CancelledError`, or `InvalidStateError` if not done. */
  /** @internal The message given to `cancel()`, if cancelled. */
  get _cancelMessage(): string | undefined {
    return this._state === CANCELLED ? (this._result as string | undefined) : undefined;
  }

  result(): T {
    if (this._state >= FINISHED) {
      if (this._state === FINISHED_UNRETRIEVED) this.#retrieved();
      if (this._exception !== undefined) throw this._exception;
      return this._result as T;
    }
    if (this._state === CANCELLED) throw this._makeCancelledError();
    throw new InvalidStateError('Result is not ready.');
  }

  /** The exception (or undefined); throws `CancelledError` if cancelled. */
  exception(): unknown {
    if (this._state >= FINISHED) {
      if (this._state === FINISHED_UNRETRIEVED) this.#retrieved();
      return this._exception;
    }
    if (this._state === CANCELLED) throw this._makeCancelledError();
    throw new InvalidStateError('Exception is not set.');
  }

  /** Schedules `cb(fut)` with `callSoon` once done (at once if already done). */
  addDoneCallback(cb: DoneCallback<T>): void {
    if (typeof cb !== 'function') throw new TypeError(`callback must be a function, not ${describe(cb)}`);
    if (this._state !== PENDING) this._loop.callSoon(cb, this);
    else this.#add(cb);
  }

  #add(cb: DoneCallback<any> | Runnable): void {
    const c = this._callbacks;
    if (c === null) this._callbacks = cb;
    else if (Array.isArray(c)) c.push(cb);
    else this._callbacks = [c, cb];
  }

  /**
   * @internal Wakes `waiter` (a Task) when done, by queueing it directly: the task's own step is
   * the ready-queue entry, so awaiting costs no Handle or closure. Takes the inline slot.
   */
  _addWaiter(waiter: Runnable): void {
    if (this._state !== PENDING) this._loop._callSoonRunnable(waiter);
    else this.#add(waiter);
  }

  /** Removes every registration of `cb`; returns how many were removed. */
  removeDoneCallback(cb: DoneCallback<T>): number {
    const c = this._callbacks;
    if (c === null) return 0;
    if (!Array.isArray(c)) {
      if (c !== cb) return 0;
      this._callbacks = null;
      return 1;
    }
    const kept = c.filter((x) => x !== cb);
    this._callbacks = kept.length === 0 ? null : kept;
    return c.length - kept.length;
  }

  setResult(result: T): void {
    if (this._state !== PENDING) throw new InvalidStateError(`invalid state: ${this._stateName()}`);
    this._result = result;
    this._state = FINISHED;
    this._scheduleCallbacks();
  }

  setException(exception: unknown): void {
    if (this._state !== PENDING) throw new InvalidStateError(`invalid state: ${this._stateName()}`);
    if (exception === undefined) throw new TypeError('exception must not be undefined');
    this._exception = exception;
    this._state = FINISHED_UNRETRIEVED;
    // V8 keeps an Error's stack frames (receivers included: this Task, its callers) until
    // `.stack` is first read. The registry holds the exception strongly, so without this the
    // future would stay reachable through it and never be collected or reported.
    if (exception instanceof Error) void exception.stack;
    unretrieved.register(this, { loop: this._loop, exception, what: this._kind() }, this);
    this._scheduleCallbacks();
  }

  /** Cancels the future; returns false if it was already done. */
  cancel(msg?: string): boolean {
    if (this._state !== PENDING) return false;
    this._state = CANCELLED;
    this._result = msg as T | undefined;
    this._scheduleCallbacks();
    return true;
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    return new CancelledError(this._cancelMessage ?? '');
  }

  /** @internal */
  _scheduleCallbacks(): void {
    const c = this._callbacks;
    if (c === null) return;
    this._callbacks = null;
    if (Array.isArray(c)) for (const cb of c) this.#schedule(cb);
    else this.#schedule(c);
  }

  #schedule(cb: DoneCallback<any> | Runnable): void {
    if (typeof cb === 'function') this._loop.callSoon(cb, this);
    else this._loop._callSoonRunnable(cb as unknown as Runnable);
  }

  /** @internal */
  _kind(): string {
    return 'Future';
  }

  #retrieved(): void {
    unretrieved.unregister(this);
    this._state = FINISHED;
  }

  /** @internal */
  _stateName(): string {
    return this._state === PENDING ? 'PENDING' : this._state === CANCELLED ? 'CANCELLED' : 'FINISHED';
  }

  toString(): string {
    let extra = '';
    if (this._state >= FINISHED) {
      extra = this._exception !== undefined ? ` exception=${String(this._exception)}` : ` result=${String(this._result)}`;
    }
    return `<${this._kind()} ${this._stateName().toLowerCase()}${extra}>`;
  }

  /**
   * PromiseLike: `await fut`. Inside an async-function task this also tells the task which Future
   * it waits on, so `task.cancel()` can cancel it; the task resumes from a loop callback. Returns
   * a Reaction (see reaction.ts): a PromiseLike that makes a real Promise only if chained on.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const task = awaitingTask() as AwaitingTask | null;
    const r = new Reaction(this, task, onFulfilled, onRejected);
    if (task !== null) task._await(this, r);
    else if (this._state !== PENDING) RESOLVED.then(() => r._settle());
    else this._react(r);
    // A Reaction is a PromiseLike with then/catch/finally; typed as the Promise it stands for.
    return r as unknown as Promise<R1 | R2>;
  }

  /**
   * @internal A Reaction queued before this future was done is running: only sleep(0) queues
   * one early (it settles then); for any other future this is a bug.
   */
  _settleForReaction(): void {
    throw new InvalidStateError('Result is not ready.');
  }

  /** @internal Runs `r` once done (sleep(0) overrides: once one iteration has passed). */
  _react(r: Reaction): void {
    this._addWaiter(r);
  }

  catch<R = never>(onRejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /** `yield* fut` in a generator coroutine. */
  [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    return new FutureIter(this);
  }

  get [Symbol.toStringTag](): string {
    return this._kind();
  }
}

/**
 * The iterator behind `yield* fut`: yields the future once (unless already done), then returns
 * its result, throwing its exception. `throw` passes an error thrown in by the task through to
 * the generator that delegated here (without it, `yield*` would close the iterator instead).
 */
class FutureIter<T> implements Iterator<Future<unknown>, T, unknown> {
  #fut: Future<T>;
  #yielded = false;

  constructor(fut: Future<T>) {
    this.#fut = fut;
  }

  next(): IteratorResult<Future<unknown>, T> {
    if (!this.#yielded && this.#fut._state === PENDING) {
      this.#yielded = true;
      if (tracking) noteAwaitSite(this.#fut, FutureIter.prototype.next);
      return { done: false, value: this.#fut as Future<unknown> };
    }
    return { done: true, value: this.#fut.result() };
  }

  throw(e: unknown): IteratorResult<Future<unknown>, T> {
    throw e;
  }

  return(value?: T): IteratorResult<Future<unknown>, T> {
    return { done: true, value: value as T };
  }

  [Symbol.iterator](): this {
    return this;
  }
}

export function isFuture(x: unknown): x is Future<unknown> {
  return x instanceof Future;
}

/** Sets the result unless the future was cancelled meanwhile (asyncio's helper). */
export function setResultUnlessCancelled<T>(fut: Future<T>, result: T): void {
  if (!fut.cancelled()) fut.setResult(result);
}

/**
 * A Future standing for a foreign Promise. Cancelling it stops the waiting, not the Promise's
 * work: usually an async function called eagerly (`createTask(f(x))`, `gather(f(1), f(2))`), so
 * debug mode says what goes on and how to make it cancellable.
 */
export class PromiseFuture<T> extends Future<T> {
  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    if (this._loop.getDebug()) {
      logger.warning(
        'A Future made from a Promise was cancelled: the waiting stops, the work the Promise stands for goes on. ' +
          'Pass a function instead of calling it (createTask(() => f(x)), gather(() => f(1), () => f(2)), run(() => main(x))) ' +
          'so that the task runs it and cancellation reaches it.',
      );
    }
    return true;
  }
}

/**
 * Wraps a foreign Promise in a Future of `loop` (asyncio's `wrap_future` for promises).
 * `eager`: the Promise is user work that keeps running when the Future is cancelled (debug mode
 * warns then); false for an executor's job, which asyncio cannot stop either.
 */
export function wrapPromise<T>(p: PromiseLike<T>, loop: AbstractEventLoop, eager = true): Future<T> {
  const fut = eager ? new PromiseFuture<T>({ loop }) : loop.createFuture<T>();
  // Until it settles the Promise is work in flight a virtual clock waits for; an executor's job
  // surely ends without the loop, user work may itself wait on the loop (`_holdClock`).
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    loop._releaseClock(eager);
  };
  loop._holdClock(eager);
  // A Promise may settle after its loop closed; nobody can wait on the Future then, and
  // scheduling would throw inside this reaction (an unhandled rejection): drop the outcome.
  try {
    p.then(
      (v) => {
        if (!fut.done() && !loop.isClosed()) loop.callSoonThreadsafe(setResultUnlessCancelled<T>, fut, v);
        release();
      },
      (e) => {
        if (!fut.done() && !loop.isClosed()) {
          loop.callSoonThreadsafe(setExceptionUnlessDone, fut, e === undefined ? new Error('Promise rejected with undefined') : e);
        }
        release();
      },
    );
  } catch (e) {
    release();
    throw e;
  }
  return fut;
}

function setExceptionUnlessDone(fut: Future<unknown>, e: unknown): void {
  if (fut.done()) return;
  if (e instanceof CancelledError) fut.cancel(e.message);
  else fut.setException(e);
}
