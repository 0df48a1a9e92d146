/**
 * wait, waitFor and asCompleted: waiting on several awaitables, or on one with a deadline
 * (asyncio's tasks.py functions of the same names).
 */
import { CancelledError, TimeoutError } from './errors.js';
import { Future } from './futures.js';
import { type AbstractEventLoop, type TimerHandle, getRunningLoop, describe } from './events.js';
import { type Coro, type CoroLike, checkCoroLike, checkOptions, checkTimeout, isCoroutine } from './coro.js';
import { Task, currentTask, ensureFuture, awaitFuture } from './task.js';
import { futureAddToAwaitedBy, futureDiscardFromAwaitedBy } from './introspect/edges.js';
import { nameGenerator } from './introspect/names.js';

export const FIRST_COMPLETED = 'FIRST_COMPLETED';
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
export const ALL_COMPLETED = 'ALL_COMPLETED';
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

export interface WaitOptions {
  /** Seconds before returning with what is done so far; null waits as long as needed. @default null */
  timeout?: number | null;
  /** @default ALL_COMPLETED */
  returnWhen?: ReturnWhen;
}

function toFutures(aws: unknown, name: string, loop?: AbstractEventLoop): Future<unknown>[] {
  if (aws === null || typeof aws !== 'object' || typeof (aws as Iterable<unknown>)[Symbol.iterator] !== 'function' || isCoroutine(aws)) {
    throw new TypeError(`${name} must be an iterable of futures or coroutines, not ${describe(aws)}`);
  }
  // Duplicates are dropped before wrapping: the same coroutine twice must not get two tasks
  // (asyncio makes a set of the arguments first).
  const unique = [...new Set(aws as Iterable<unknown>)];
  for (let i = 0; i < unique.length; i++) checkCoroLike(unique[i], `${name}[${i}]`);
  const out = new Set<Future<unknown>>();
  for (const a of unique) out.add(ensureFuture(a as CoroLike<unknown>, loop));
  return [...out];
}


/**
 * Waits for the awaitables; resolves to `[done, pending]` Sets. Does not cancel anything on
 * timeout (asyncio's `wait`).
 */
export function wait<T>(aws: Iterable<CoroLike<T>>, options: WaitOptions = {}): Future<[Set<Future<T>>, Set<Future<T>>]> {
  checkOptions(options);
  const timeout = checkTimeout(options.timeout);
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw new RangeError(`returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, not ${describe(returnWhen)}`);
  }
  const loop = getRunningLoop();
  const fs = toFutures(aws, 'aws', loop) as Future<T>[];
  if (fs.length === 0) throw new RangeError('aws must not be empty (Set of Tasks/Futures is empty)');
  return loop.createTask(waitImpl(fs, timeout, returnWhen, loop));
}

function* waitImpl<T>(
  fs: Future<T>[],
  timeout: number | null,
  returnWhen: ReturnWhen,
  loop: AbstractEventLoop,
): Coro<[Set<Future<T>>, Set<Future<T>>]> {
  const waiter = loop.createFuture<void>();
  let counter = fs.length;
  let handle: TimerHandle | null = null;
  if (timeout !== null) handle = loop.callLater(timeout, (w: Future<void>) => void (w.done() || w.setResult()), waiter);
  const onDone = (f: Future<T>) => {
    counter--;
    if (
      counter <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !f.cancelled() && f.exception() !== undefined)
    ) {
      handle?.cancel();
      if (!waiter.done()) waiter.setResult();
    }
  };
  // Always waits, even when enough is done already (asyncio's `_wait` has no shortcut): done
  // callbacks, and a timeout of 0 or less, run from the ready queue, never inline, so wait()
  // returns after the loop has gone round once, with whatever is done by then.
  for (const f of fs) f.addDoneCallback(onDone);
  // The call graph: this task waits for every one of them (asyncio's `_wait` says so too).
  const self = currentTask();
  for (const f of fs) futureAddToAwaitedBy(f, self);
  try {
    yield* waiter;
  } finally {
    handle?.cancel();
    for (const f of fs) {
      f.removeDoneCallback(onDone);
      futureDiscardFromAwaitedBy(f, self);
    }
  }
  const done = new Set<Future<T>>();
  const pending = new Set<Future<T>>();
  for (const f of fs) (f.done() ? done : pending).add(f);
  return [done, pending];
}

nameGenerator(waitImpl, 'wait');

/**
 * Waits for `aw` with a deadline; on timeout cancels it and throws `TimeoutError` (its `cause` the
 * CancelledError). A timeout of 0 or less is asyncio 3.11's rule: a done Future gives its result
 * (or throws its error) at once; anything else is cancelled at once (a coroutine or function
 * becomes a Task that never starts) and, when the cancellation has finished, the result is
 * TimeoutError, or the value of an `aw` that ignored the cancellation.
 */
export function waitFor<T>(aw: CoroLike<T>, timeout: number | null): Future<T> {
  const t = checkTimeout(timeout);
  checkCoroLike(aw, 'aw');
  const loop = getRunningLoop();
  // A Future or a Promise is taken now (a Future of another loop throws here); a coroutine or
  // function only becomes a Task inside waitFor's own task, as asyncio's wait_for coroutine wraps
  // it itself: cancelling waitFor before it starts means the coroutine never runs.
  const makesTask = isCoroutine(aw) || typeof aw === 'function';
  const inner = makesTask ? aw : ensureFuture(aw, loop);
  if (t !== null && t <= 0) return loop.createTask(waitForExpired(inner, t, loop));
  if (t === null) {
    const fut = ensureFuture(inner, loop);
    return fut instanceof Task ? fut : loop.createTask(awaitFuture(fut));
  }
  return loop.createTask(waitForImpl(inner, t, loop));
}

/** waitFor with a timeout of 0 or less (asyncio 3.11's `if timeout <= 0` branch). */
function* waitForExpired<T>(aw: CoroLike<T>, timeout: number, loop: AbstractEventLoop): Coro<T> {
  const fut = ensureFuture(aw, loop);
  if (fut.done()) return fut.result();
  yield* cancelAndWait(fut, loop);
  try {
    return fut.result();
  } catch (e) {
    if (e instanceof CancelledError) throw new TimeoutError(`waitFor timed out after ${timeout} s`, { cause: e });
    throw e;
  }
}

/**
 * Cancels `fut` and waits until it is done, on a waiter of its own so that cancelling the caller
 * ends the wait at once (asyncio's `_cancel_and_wait`).
 */
function* cancelAndWait(fut: Future<unknown>, loop: AbstractEventLoop): Coro<void> {
  const waiter = loop.createFuture<void>();
  const release = () => void (waiter.done() || waiter.setResult());
  fut.addDoneCallback(release);
  try {
    fut.cancel();
    yield* waiter;
  } finally {
    fut.removeDoneCallback(release);
  }
}

function* waitForImpl<T>(aw: CoroLike<T>, timeout: number, loop: AbstractEventLoop): Coro<T> {
  const fut = ensureFuture(aw, loop);
  const self = currentTask()!;
  let timedOut = false;
  const h = loop.callLater(timeout, () => {
    timedOut = true;
    fut.cancel();
  });
  try {
    return yield* fut;
  } catch (e) {
    // The deadline cancelled `fut`; but if this task was also cancelled from outside (asyncio's
    // `uncancel() > cancelling` check), the cancellation is the caller's and must propagate.
    if (timedOut && e instanceof CancelledError && self.cancelling() === 0) {
      throw new TimeoutError(`waitFor timed out after ${timeout} s`, { cause: e });
    }
    throw e;
  } finally {
    h.cancel();
  }
}

nameGenerator(waitForImpl, 'waitFor');
nameGenerator(waitForExpired, 'waitFor');

export interface AsCompletedOptions {
  /** Seconds until the remaining iterations throw TimeoutError. @default null */
  timeout?: number | null;
}

/**
 * Iterate over awaitables in completion order. As an iterable it gives Futures to await, each
 * resolving to the next result; as an async iterable it gives the completed Futures/Tasks
 * themselves (asyncio 3.13).
 */
export function asCompleted<T>(aws: Iterable<CoroLike<T>>, options: AsCompletedOptions = {}): AsCompleted<T> {
  checkOptions(options);
  const timeout = checkTimeout(options.timeout);
  const loop = getRunningLoop();
  return new AsCompleted<T>(toFutures(aws, 'aws', loop) as Future<T>[], timeout, loop);
}

export class AsCompleted<T> implements Iterable<Future<T>>, AsyncIterable<Future<T>> {
  #todo: Set<Future<T>>;
  #done: Future<T>[] = [];
  #doneHead = 0;
  #waiters: Future<void>[] = [];
  #timedOut = false;
  #loop: AbstractEventLoop;
  #total: number;
  #handle: TimerHandle | null = null;

  constructor(fs: Future<T>[], timeout: number | null, loop: AbstractEventLoop) {
    this.#loop = loop;
    this.#todo = new Set(fs);
    this.#total = fs.length;
    const onDone = (f: Future<T>) => {
      if (!this.#todo.delete(f)) return;
      this.#done.push(f);
      if (this.#todo.size === 0) this.#handle?.cancel();
      this.#wake();
    };
    for (const f of fs) f.addDoneCallback(onDone);
    if (timeout !== null && fs.length > 0) {
      this.#handle = loop.callLater(timeout, () => {
        this.#timedOut = true;
        for (const f of this.#todo) f.removeDoneCallback(onDone);
        this.#todo.clear();
        this.#wake();
      });
    }
  }

  #wake(): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) if (!w.done()) w.setResult();
  }

  /** Waits for the next completed future; throws TimeoutError once the deadline passed. */
  *#next(): Coro<Future<T>> {
    while (this.#doneHead >= this.#done.length) {
      if (this.#timedOut) throw new TimeoutError('asCompleted timed out');
      const w = this.#loop.createFuture<void>();
      this.#waiters.push(w);
      yield* w;
    }
    return this.#done[this.#doneHead++]!;
  }

  *[Symbol.iterator](): Iterator<Future<T>> {
    for (let i = 0; i < this.#total; i++) {
      const self = this;
      yield this.#loop.createTask(
        (function* (): Coro<T> {
          const f = yield* self.#next();
          return yield* f;
        })(),
      );
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Future<T>> {
    let taken = 0;
    return {
      next: async (): Promise<IteratorResult<Future<T>>> => {
        if (taken >= this.#total) return { done: true, value: undefined };
        taken++;
        // Boxed: awaiting a Task whose result is a Future would flatten it (it is a thenable).
        const self = this;
        const box = await this.#loop.createTask(
          (function* (): Coro<[Future<T>]> {
            return [yield* self.#next()];
          })(),
        );
        return { done: false, value: box[0] };
      },
    };
  }
}
