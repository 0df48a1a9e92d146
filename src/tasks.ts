/**
 * Task: drives a coroutine on the loop. Two coroutine forms share one Task:
 *
 * - generator coroutines, stepped with `next()`/`throw()` from the ready queue exactly as
 *   asyncio's `Task.__step` does: whatever the generator yields is a Future to wait on (or
 *   nothing, meaning "run me again next iteration", as asyncio's bare `yield`);
 * - async functions, called once inside the task's context; they resume in V8's microtask queue
 *   after a loop callback settles the awaited Future (see `_awaitFuture`), and the loop ends its
 *   batch there so the step runs to its next suspension before any other callback.
 *
 * Also here, as in asyncio's tasks.py: sleep, gather, wait, waitFor, asCompleted, shield,
 * createTask, ensureFuture, currentTask, allTasks.
 */
import { CancelledError, InvalidStateError, TimeoutError } from './errors.js';
import { Future, settle, wrapPromise, setResultUnlessCancelled, type AwaitingTask } from './futures.js';
import {
  type AbstractEventLoop,
  type Runnable,
  type TaskOptions,
  type TimerHandle,
  getRunningLoop,
  _getRunningLoop,
  getEventLoop,
  describe,
} from './events.js';
import { contextTask, enableTaskContext, markResumed, runInTask } from './context.js';

/** A generator coroutine: `yield*` Futures inside it; returns `T`. */
export type Coro<T> = Generator<Future<unknown> | null | undefined, T, unknown>;

/** Anything a Task (or gather, waitFor, run, ...) accepts. */
export type CoroLike<T> = Coro<T> | (() => Coro<T> | PromiseLike<T>) | Future<T> | PromiseLike<T>;

/** A generator coroutine object (what calling a generator function returns). */
export function isCoroutine(x: unknown): x is Coro<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Generator).next === 'function' &&
    typeof (x as Generator).throw === 'function' &&
    typeof (x as Generator)[Symbol.iterator] === 'function'
  );
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;

function isGeneratorFunction(fn: unknown): fn is () => Coro<unknown> {
  return fn instanceof GeneratorFunction;
}

let taskCounter = 0;
/** The generator task whose step is running (async tasks are found through the context). */
let stepping: Task<any> | null = null;
/**
 * Tasks not done yet, for allTasks(): an intrusive doubly linked list through the tasks
 * themselves (O(1) insert and unlink, no hashing; asyncio keeps a WeakSet).
 */
let liveHead: Task<any> | null = null;

function linkLive(t: Task<any>): void {
  t._nextLive = liveHead;
  if (liveHead !== null) liveHead._prevLive = t;
  liveHead = t;
}

function unlinkLive(t: Task<any>): void {
  const p = t._prevLive;
  const n = t._nextLive;
  if (p !== null) p._nextLive = n;
  else if (liveHead === t) liveHead = n;
  else return; // already unlinked
  if (n !== null) n._prevLive = p;
  t._prevLive = t._nextLive = null;
}

export class Task<T = unknown> extends Future<T> implements AwaitingTask {
  /** @internal */ _coro: Coro<T> | null = null;
  /** @internal */ _fn: (() => unknown) | null = null;
  /** @internal */ _isAsyncTask: true = false as unknown as true;
  /** @internal The name, or its number until first asked (no string per task made up front). */ _name: string | number;
  /** @internal */ _futWaiter: Future<unknown> | null = null;
  /**
   * @internal Async-function tasks only: other loop Futures the task's code is awaiting at the
   * same time as `_futWaiter` (Promise.all/race/allSettled, a helper running detached inside the
   * task). `cancel()` cancels them all, so it is not lost on whichever was awaited last.
   */
  _otherWaits: Future<unknown>[] | null = null;
  /** @internal */ _mustCancel = false;
  /** @internal */ _numCancelsRequested = 0;
  /** @internal */ _cancelMsg: string | undefined = undefined;
  /** @internal Ready-queue entry protocol (Runnable): a step is never cancelled. */
  readonly _cancelled = false;
  /** @internal */ _prevLive: Task<any> | null = null;
  /** @internal */ _nextLive: Task<any> | null = null;
  /** @internal */ _abort: AbortController | null = null;

  constructor(coro: Coro<T> | (() => unknown), options?: { loop?: AbstractEventLoop; name?: string }) {
    super(options);
    if (isCoroutine(coro)) this._coro = coro;
    else if (isGeneratorFunction(coro)) this._coro = coro() as Coro<T>;
    else if (typeof coro === 'function') {
      this._fn = coro;
      this._isAsyncTask = true;
      enableTaskContext();
    } else {
      throw new TypeError(`coro must be a coroutine or a function returning one, not ${describe(coro)}`);
    }
    const name = options?.name;
    this._name = name === undefined ? ++taskCounter : String(name);
    linkLive(this);
    this._loop._callSoonRunnable(this);
  }

  /** @internal The ready queue runs the task's next step (the first one of an async task). */
  _run(): void {
    if (this._coro !== null) this._step();
    else this._startAsync();
  }

  getName(): string {
    if (typeof this._name === 'number') this._name = `Task-${this._name}`;
    return this._name;
  }

  setName(name: string): void {
    this._name = String(name);
  }

  /** The generator coroutine, or the async function, this task runs. */
  getCoro(): Coro<T> | (() => unknown) | null {
    return this._coro ?? this._fn;
  }

  /** An AbortSignal aborted when cancellation is requested, for `fetch` and other APIs. */
  get signal(): AbortSignal {
    if (this._abort === null) {
      this._abort = new AbortController();
      if (this._numCancelsRequested > 0) this._abort.abort(new CancelledError(this._cancelMsg ?? ''));
    }
    return this._abort.signal;
  }

  override setResult(_: T): void {
    throw new Error('Task does not support setResult()');
  }

  override setException(_: unknown): void {
    throw new Error('Task does not support setException()');
  }

  /** Requests cancellation: `CancelledError` is thrown into the coroutine where it waits. */
  override cancel(msg?: string): boolean {
    if (this._state !== 0) return false;
    this._numCancelsRequested++;
    if (this._abort !== null && !this._abort.signal.aborted) this._abort.abort(new CancelledError(msg ?? ''));
    // Leave _futWaiter set: it may be a Task that ignores the cancellation and must be
    // cancelled again later (asyncio's comment, same reason).
    let delivered = this._futWaiter !== null && this._futWaiter.cancel(msg);
    const others = this._otherWaits;
    if (others !== null) for (const f of others) if (f.cancel(msg)) delivered = true;
    if (delivered) return true;
    this._mustCancel = true;
    this._cancelMsg = msg;
    return true;
  }

  /** How many cancellation requests are pending (asyncio 3.11+). */
  cancelling(): number {
    return this._numCancelsRequested;
  }

  /** Takes one cancellation request back; returns how many remain. */
  uncancel(): number {
    if (this._numCancelsRequested > 0) {
      this._numCancelsRequested--;
      if (this._numCancelsRequested === 0) this._mustCancel = false;
    }
    return this._numCancelsRequested;
  }

  override _kind(): string {
    return 'Task';
  }

  override toString(): string {
    return super.toString().replace(/^<Task/, `<Task name=${JSON.stringify(this.getName())}`);
  }

  // --- completion -----------------------------------------------------------------------------

  #finishResult(v: T): void {
    unlinkLive(this);
    if (this._mustCancel) {
      // Cancellation was requested but the coroutine finished without waiting again.
      this._mustCancel = false;
      super.cancel(this._cancelMsg);
    } else super.setResult(v);
  }

  #finishError(e: unknown): void {
    unlinkLive(this);
    if (e instanceof CancelledError) super.cancel(e.message || this._cancelMsg);
    else super.setException(e === undefined ? new Error('coroutine threw undefined') : e);
  }

  // --- the generator driver (asyncio's __step / __wakeup) -------------------------------------

  /** @internal One step: resume the generator, or throw `exc` into it. */
  _step(exc?: Error): void {
    if (this._state !== 0) throw new InvalidStateError(`_step(): already done: ${this}`);
    if (this._mustCancel) {
      this._mustCancel = false;
      exc = new CancelledError(this._cancelMsg ?? '');
      // The cancellation replaces what we were woken for; a failure there counts as seen
      // (asyncio's __wakeup reads the result before stepping).
      retrieve(this._futWaiter);
    }
    this._futWaiter = null;
    const coro = this._coro!;
    const prev = stepping;
    stepping = this;
    try {
      const r = exc === undefined ? coro.next() : coro.throw(exc);
      if (r.done) this.#finishResult(r.value);
      else this.#onYield(r.value);
    } catch (e) {
      this.#finishError(e);
    } finally {
      stepping = prev;
    }
  }

  #onYield(y: unknown): void {
    if (y === null || y === undefined) {
      // A bare yield: run again next iteration (asyncio's sleep(0)).
      this._loop._callSoonRunnable(this);
    } else if (y instanceof Future) {
      if (y._loop !== this._loop) {
        this.#throwInSoon(new Error(`Task ${this} got Future ${y} attached to a different loop`));
      } else if (y === this) {
        this.#throwInSoon(new Error(`Task cannot await on itself: ${this}`));
      } else {
        y._addWaiter(this);
        this._futWaiter = y;
        if (this._mustCancel && y.cancel(this._cancelMsg)) this._mustCancel = false;
      }
    } else {
      const hint = isThenable(y) ? ' (use `yield*` with Futures; wrap Promises with ensureFuture)' : '';
      this.#throwInSoon(new TypeError(`Task got bad yield: ${describe(y)}${hint}`));
    }
  }

  #throwInSoon(err: Error): void {
    this._loop.callSoon(() => {
      if (this._state === 0) this._step(err);
    });
  }

  // --- the async-function driver --------------------------------------------------------------

  /** @internal First (and only loop-driven) step of an async-function task. */
  _startAsync(): void {
    if (this._state !== 0) return;
    if (this._mustCancel) {
      // Cancelled before it started: the function never runs (asyncio throws into the
      // unstarted coroutine, which finishes it at once).
      this._mustCancel = false;
      this.#finishError(new CancelledError(this._cancelMsg ?? ''));
      return;
    }
    // `_fn` stays set: getCoro() must give it while the function runs.
    const fn = this._fn!;
    let r: unknown;
    const prev = stepping;
    stepping = this;
    try {
      r = runInTask(this, fn);
    } catch (e) {
      this.#finishError(e);
      return;
    } finally {
      stepping = prev;
    }
    if (isCoroutine(r) || r instanceof Future) {
      // A plain function that returned a generator coroutine (drive it as one) or a Future
      // (wait on it as a generator would, so cancelling the task cancels the Future).
      this._coro = (r instanceof Future ? awaitFuture(r) : r) as Coro<T>;
      this._isAsyncTask = false as unknown as true;
      this._step();
      return;
    }
    if (!isThenable(r)) {
      this.#finishError(new TypeError(`the task's function must return a coroutine or a Promise, not ${describe(r)}`));
      return;
    }
    r.then(
      (v) => this.#finishResult(v as T),
      (e) => this.#finishError(e),
    );
    this._loop._yieldToMicrotasks();
  }

  /** @internal Called by `Future.then` when this task's code awaits `fut`. */
  _awaitFuture(fut: Future<any>, ok: (v: any) => void, fail: (e: unknown) => void): void {
    if (fut._loop !== this._loop) {
      queueMicrotask(() => fail(new Error(`Task ${this} got Future ${fut} attached to a different loop`)));
      return;
    }
    if (fut === this) {
      // It would wait for itself forever (asyncio raises the same error for `await self`).
      queueMicrotask(() => fail(new Error(`Task cannot await on itself: ${this}`)));
      return;
    }
    if (fut._state !== 0 && !this._mustCancel) {
      // Already done: no loop callback runs first (asyncio returns at once from such an await).
      queueMicrotask(() => settle(fut, ok, fail));
      return;
    }
    const prev = this._futWaiter;
    if (prev !== null && prev !== fut && prev._state === 0) (this._otherWaits ??= []).push(prev);
    this._futWaiter = fut;
    // One small object is both the ready-queue entry and the wake-up (no closure, no Handle).
    const r = new Resumption(this, fut, ok, fail);
    if (fut instanceof Sleep0) this._loop._callSoonRunnable(r);
    else fut._addWaiter(r);
    if (this._mustCancel && fut.cancel(this._cancelMsg)) this._mustCancel = false;
  }

  /** @internal A loop callback: resume the async function with `fut`'s outcome. */
  _resume(fut: Future<any>, ok: (v: any) => void, fail: (e: unknown) => void): void {
    if (this._futWaiter === fut) this._futWaiter = null;
    else if (this._otherWaits !== null) dropWait(this, fut);
    markResumed(this);
    if (this._mustCancel) {
      this._mustCancel = false;
      retrieve(fut);
      fail(new CancelledError(this._cancelMsg ?? ''));
    } else {
      if (fut instanceof Sleep0) fut._finish();
      settle(fut, ok, fail);
    }
    this._loop._yieldToMicrotasks();
  }
}

function dropWait(task: Task<any>, fut: Future<any>): void {
  const others = task._otherWaits!;
  const i = others.indexOf(fut);
  if (i >= 0) others.splice(i, 1);
  if (others.length === 0) task._otherWaits = null;
}

/** Marks a failed future's exception as seen (no "never retrieved" report for it). */
function retrieve(fut: Future<unknown> | null): void {
  if (fut !== null && fut._state !== 0 && !fut.cancelled()) fut.exception();
}

/** An async task waiting on a Future: queued when the Future is done, it resumes the task. */
class Resumption implements Runnable {
  readonly _cancelled = false;
  constructor(
    readonly task: Task<any>,
    readonly fut: Future<any>,
    readonly ok: (v: any) => void,
    readonly fail: (e: unknown) => void,
  ) {}

  _run(): void {
    this.task._resume(this.fut, this.ok, this.fail);
  }

  /** What debug mode's slow-callback warning names. */
  toString(): string {
    return String(this.task);
  }
}

// -------------------------------------------------------------------------------------------------
// Task access.

/** The task running now (in `loop`, default the running loop), or null. */
export function currentTask(loop?: AbstractEventLoop): Task<unknown> | null {
  const t: Task<unknown> | null = stepping ?? contextTask<Task<unknown>>() ?? null;
  if (t === null) return null;
  const l = loop ?? _getRunningLoop();
  return l === null || t._loop === l ? t : null;
}

/** The tasks of `loop` (default: the running loop) that are not done yet. */
export function allTasks(loop?: AbstractEventLoop): Set<Task<unknown>> {
  const l = loop ?? getRunningLoop();
  const out = new Set<Task<unknown>>();
  for (let t = liveHead; t !== null; t = t._nextLive) if (t._loop === l && !t.done()) out.add(t);
  return out;
}

/** Schedules `coro` as a Task on the running loop. */
export function createTask<T>(coro: CoroLike<T>, options?: TaskOptions): Task<T> {
  return getRunningLoop().createTask(coro, options);
}

/**
 * @internal What `loop.createTask` does by default: a Task for a coroutine or function; a Task
 * awaiting it for a Future or a foreign Promise.
 */
export function newTask<T>(loop: AbstractEventLoop, coro: CoroLike<T>, options?: TaskOptions): Task<T> {
  checkOptions(options);
  if (isCoroutine(coro) || typeof coro === 'function') {
    return new Task<T>(coro as Coro<T>, { loop, name: options?.name });
  }
  if (coro instanceof Future || isThenable(coro)) {
    const fut = ensureFuture(coro, loop);
    return new Task<T>(awaitFuture(fut), { loop, name: options?.name });
  }
  throw new TypeError(`coro must be a coroutine, a function, a Future or a Promise, not ${describe(coro)}`);
}

function* awaitFuture<T>(fut: Future<T>): Coro<T> {
  return yield* fut;
}

function checkOptions(options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`options must be an object, not ${describe(options)}`);
  }
}

/**
 * @internal Throws a TypeError naming the argument `name` unless `x` is a CoroLike (checked up
 * front so that a bad entry in a list starts no task for the entries before it).
 */
export function checkCoroLike(x: unknown, name: string): void {
  if (x instanceof Future || typeof x === 'function' || isCoroutine(x) || isThenable(x)) return;
  throw new TypeError(`${name} must be a coroutine, a function, a Future or a Promise, not ${describe(x)}`);
}

/** A Future for `x`: itself if it is one, a Task for a coroutine, a wrapper for a Promise. */
export function ensureFuture<T>(x: CoroLike<T>, loop?: AbstractEventLoop): Future<T> {
  if (x instanceof Future) {
    if (loop !== undefined && x._loop !== loop) {
      throw new Error('The future belongs to a different loop than the one specified as the loop argument');
    }
    return x;
  }
  const l = loop ?? _getRunningLoop() ?? getEventLoop();
  if (isCoroutine(x) || typeof x === 'function') return l.createTask(x);
  if (isThenable(x)) return wrapPromise(x as PromiseLike<T>, l);
  throw new TypeError(`x must be a coroutine, a function, a Future or a Promise, not ${describe(x)}`);
}

// -------------------------------------------------------------------------------------------------
// sleep

function checkDelay(delay: unknown, name = 'delay'): number {
  if (typeof delay !== 'number') throw new TypeError(`${name} must be a number (seconds), not ${describe(delay)}`);
  if (Number.isNaN(delay)) throw new RangeError(`${name} must not be NaN`);
  return delay;
}

/** Shared iterator results: `yield*` reads them and keeps nothing, so no allocation per step. */
const YIELD_NOTHING: IteratorYieldResult<Future<unknown>> = Object.freeze({ done: false, value: null as unknown as Future<unknown> });

/**
 * The Future of `sleep(0)` (and negative delays): waiting on it gives the loop exactly one
 * iteration, like asyncio's bare `yield`. A generator task yields nothing and is stepped again
 * next iteration; an async task is resumed by a callback queued now. The Future itself is
 * settled only if something else watches it (a done callback), so the common case costs this
 * one object: it is also its own (one-shot) iterator.
 */
class Sleep0<T> extends Future<T> implements Iterator<Future<unknown>, T, unknown> {
  // The value to resolve with waits in `_result` (unused while pending): one field less.
  /** @internal Bits: 1 = settling scheduled, 2 = yielded once, 4 = iteration finished. */
  _s0 = 0;

  constructor(loop: AbstractEventLoop, value: T) {
    super({ loop });
    this._result = value;
  }

  /** @internal The awaiting task resumes: settle now if nobody else made it settle. */
  _finish(): void {
    if (this._state === 0) {
      this._s0 |= 1;
      this.setResult(this._result as T);
    }
  }

  override addDoneCallback(cb: (fut: Future<T>) => unknown): void {
    this.#settleSoon();
    super.addDoneCallback(cb);
  }

  override _addWaiter(waiter: Runnable): void {
    this.#settleSoon();
    super._addWaiter(waiter);
  }

  #settleSoon(): void {
    if ((this._s0 & 1) === 0) {
      this._s0 |= 1;
      this._loop.callSoon(setResultUnlessDone<T>, this, this._result as T);
    }
  }

  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    if ((this._s0 & 6) === 0) return this;
    // Iterated again (rare): a fresh one-shot iterator with the same outcome.
    const again = new Sleep0<T>(this._loop, this._result as T);
    if (this._state !== 0 || (this._s0 & 4) !== 0) {
      again._s0 = 7;
      again.setResult(this._result as T);
    }
    return again;
  }

  next(): IteratorResult<Future<unknown>, T> {
    if ((this._s0 & 6) === 0) {
      this._s0 |= 2;
      return YIELD_NOTHING;
    }
    this._s0 |= 5;
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

class SleepFuture<T> extends Future<T> {
  /** @internal */ _handle: TimerHandle | null = null;

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    this._handle?.cancel();
    return true;
  }
}

/** A Future done after `delay` seconds, with `result`. `sleep(0)` yields to the loop once. */
export function sleep<T = undefined>(delay: number, result?: T): Future<T> {
  checkDelay(delay);
  const loop = getRunningLoop();
  if (delay <= 0) return new Sleep0<T>(loop, result as T);
  const fut = new SleepFuture<T>({ loop });
  fut._handle = loop.callLater(delay, setResultUnlessCancelled<T>, fut, result as T);
  return fut;
}

// -------------------------------------------------------------------------------------------------
// gather

class GatheringFuture<T> extends Future<T> {
  /** @internal */ _children: Future<unknown>[];
  /** @internal */ _cancelRequested = false;

  constructor(children: Future<unknown>[], loop: AbstractEventLoop) {
    super({ loop });
    this._children = children;
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    let ret = false;
    for (const child of this._children) if (child.cancel(msg)) ret = true;
    // If any child was cancelled, the outcome is decided when it reports back: cancellation
    // is propagated then (regardless of returnExceptions).
    if (ret) this._cancelRequested = true;
    return ret;
  }
}

export interface GatherOptions {
  /** Failures become results instead of failing the gather. @default false */
  returnExceptions?: boolean;
}

/**
 * Runs awaitables concurrently; resolves to their results in order. Either
 * `gather(a, b, c)` or `gather([a, b, c], { returnExceptions })`.
 */
export function gather<T extends readonly unknown[]>(...aws: { [K in keyof T]: CoroLike<T[K]> }): Future<T>;
export function gather<T>(aws: Iterable<CoroLike<T>>, options?: GatherOptions): Future<T[]>;
export function gather(...args: unknown[]): Future<unknown[]> {
  let aws: unknown[];
  let returnExceptions = false;
  if (
    args.length >= 1 &&
    args.length <= 2 &&
    Array.isArray(args[0]) &&
    (args.length === 1 || args[1] === undefined || (typeof args[1] === 'object' && !isCoroutine(args[1]) && !(args[1] instanceof Future) && !isThenable(args[1])))
  ) {
    aws = args[0] as unknown[];
    const opts = args[1] as GatherOptions | undefined;
    returnExceptions = !!opts?.returnExceptions;
  } else {
    aws = args;
  }
  const loop0 = _getRunningLoop() ?? getEventLoop();
  if (aws.length === 0) {
    const f = loop0.createFuture<unknown[]>();
    f.setResult([]);
    return f;
  }
  for (let i = 0; i < aws.length; i++) {
    const a = aws[i];
    // The name is only made when the check fails (no string per child on the happy path).
    if (!(a instanceof Future || typeof a === 'function' || isCoroutine(a) || isThenable(a))) checkCoroLike(a, `aws[${i}]`);
  }
  const seen = new Map<unknown, Future<unknown>>();
  const children: Future<unknown>[] = new Array(aws.length);
  let factories = 0;
  let loop: AbstractEventLoop | null = null;
  for (let i = 0; i < aws.length; i++) {
    const a = aws[i];
    // The same coroutine object or Future twice is one child (asyncio); a function is a
    // factory, so each occurrence starts its own task.
    let f = typeof a === 'function' ? undefined : seen.get(a);
    if (f === undefined) {
      f = ensureFuture(a as CoroLike<unknown>, loop ?? undefined);
      loop ??= f._loop;
      if (typeof a !== 'function') seen.set(a, f);
      else factories++;
    }
    children[i] = f;
  }
  const outer = new GatheringFuture<unknown[]>(children, loop!);
  const nfuts = children.length;
  let nfinished = 0;
  const onDone = (fut: Future<unknown>) => {
    nfinished++;
    if (outer.done()) {
      if (!fut.cancelled()) fut.exception(); // mark retrieved: the outer already failed
      return;
    }
    if (!returnExceptions) {
      if (fut.cancelled()) {
        outer.setException(fut._makeCancelledError());
        return;
      }
      const exc = fut.exception();
      if (exc !== undefined) {
        outer.setException(exc);
        return;
      }
    }
    if (nfinished === nfuts) {
      const results: unknown[] = new Array(nfuts);
      for (let i = 0; i < nfuts; i++) {
        const c = children[i]!;
        if (c.cancelled()) results[i] = c._makeCancelledError();
        else {
          const e = c.exception();
          results[i] = e !== undefined ? e : c._result;
        }
      }
      if (outer._cancelRequested) outer.setException(fut._makeCancelledError());
      else outer.setResult(results);
    }
  };
  // Distinct arguments give distinct children, so the children are all distinct unless an
  // argument repeated; then a child awaited twice counts twice.
  if (seen.size + factories === nfuts) {
    for (const c of children) c._addWaiter(new GatherWaiter(c, onDone));
  } else {
    for (const c of children) c.addDoneCallback(onDone);
  }
  return outer;
}

/** One child of a gather, queued when the child is done: one object instead of a Handle and its
 * argument array per child. */
class GatherWaiter implements Runnable {
  readonly _cancelled = false;
  constructor(
    readonly fut: Future<unknown>,
    readonly onDone: (f: Future<unknown>) => void,
  ) {}

  _run(): void {
    this.onDone(this.fut);
  }
}

// -------------------------------------------------------------------------------------------------
// wait, waitFor, asCompleted, shield

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

function checkTimeout(timeout: unknown, name = 'timeout'): number | null {
  if (timeout === null || timeout === undefined) return null;
  return checkDelay(timeout, name);
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
  const needWait =
    !(returnWhen === FIRST_COMPLETED && fs.some((f) => f.done())) &&
    !(returnWhen === FIRST_EXCEPTION && fs.some((f) => f.done() && !f.cancelled() && f.exception() !== undefined)) &&
    !fs.every((f) => f.done());
  if (needWait) {
    for (const f of fs) f.addDoneCallback(onDone);
    try {
      yield* waiter;
    } finally {
      handle?.cancel();
      for (const f of fs) f.removeDoneCallback(onDone);
    }
  }
  const done = new Set<Future<T>>();
  const pending = new Set<Future<T>>();
  for (const f of fs) (f.done() ? done : pending).add(f);
  return [done, pending];
}

/** Waits for `aw` with a deadline; on timeout cancels it and throws `TimeoutError`. */
export function waitFor<T>(aw: CoroLike<T>, timeout: number | null): Future<T> {
  const t = checkTimeout(timeout);
  checkCoroLike(aw, 'aw');
  const loop = getRunningLoop();
  const fut = ensureFuture(aw, loop);
  if (t === null) return fut instanceof Task ? fut : loop.createTask(awaitFuture(fut));
  return loop.createTask(waitForImpl(fut, t, loop));
}

function* waitForImpl<T>(fut: Future<T>, timeout: number, loop: AbstractEventLoop): Coro<T> {
  if (timeout <= 0 && fut.done()) return fut.result();
  const self = currentTask()!;
  let timedOut = false;
  const h = loop.callLater(Math.max(timeout, 0), () => {
    timedOut = true;
    fut.cancel();
  });
  try {
    return yield* fut;
  } catch (e) {
    // The deadline cancelled `fut`; but if this task was also cancelled from outside (asyncio's
    // `uncancel() > cancelling` check), the cancellation is the caller's and must propagate.
    if (timedOut && e instanceof CancelledError && self.cancelling() === 0) {
      throw new TimeoutError(`waitFor timed out after ${timeout} s`);
    }
    throw e;
  } finally {
    h.cancel();
  }
}

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

/**
 * Protects `aw` from cancellation: cancelling the returned Future does not cancel `aw`
 * (which keeps running); the awaiter gets CancelledError.
 */
export function shield<T>(aw: CoroLike<T>): Future<T> {
  checkCoroLike(aw, 'aw');
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const loop = inner._loop;
  const outer = loop.createFuture<T>();
  const innerDone = (f: Future<T>) => {
    if (outer.cancelled()) {
      if (!f.cancelled()) f.exception(); // retrieved: nobody else will look
      return;
    }
    if (f.cancelled()) outer.cancel();
    else {
      const e = f.exception();
      if (e !== undefined) outer.setException(e);
      else outer.setResult(f._result as T);
    }
  };
  inner.addDoneCallback(innerDone);
  outer.addDoneCallback(() => {
    if (!inner.done()) inner.removeDoneCallback(innerDone);
  });
  return outer;
}
