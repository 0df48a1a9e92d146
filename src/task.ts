/**
 * Task: drives a coroutine on the loop. Two coroutine forms share one Task:
 *
 * - generator coroutines, stepped with `next()`/`throw()` from the ready queue exactly as
 *   asyncio's `Task.__step` does: whatever the generator yields is a Future to wait on (or
 *   nothing, meaning "run me again next iteration", as asyncio's bare `yield`);
 * - async functions, called once by the loop; they resume in V8's microtask queue after a loop
 *   callback (a Reaction, see reaction.ts) settles the awaited Future, and the loop ends its batch
 *   there, so the step runs to its next suspension before any other callback, and the code that
 *   runs meanwhile is known to be this task's (context.ts).
 *
 * Also here: createTask, ensureFuture, currentTask, allTasks.
 */
import { CancelledError, InvalidStateError } from './errors.js';
import { Future, RESOLVED, wrapPromise, type AwaitingTask } from './futures.js';
import {
  type AbstractEventLoop,
  type TaskOptions,
  getRunningLoop,
  _getRunningLoop,
  getEventLoop,
  describe,
} from './events.js';
import { beginDrain, enterStep, leaveStep, notAway, runFirstStep, runningTask } from './context.js';
import { type Coro, type CoroLike, checkOptions, isCoroutine, isGeneratorFunction, isThenable } from './coro.js';
import type { Reaction, ReactingTask } from './reaction.js';
import { noteCreation, tracking } from './introspect/sites.js';
import { nameGenerator } from './introspect/names.js';
import { birthTime } from './introspect/birth.js';

let taskCounter = 0;
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

export class Task<T = unknown> extends Future<T> implements AwaitingTask, ReactingTask {
  /** @internal The generator coroutine this task steps (null while an async function runs it). */
  _coro: Coro<T> | null = null;
  /** @internal The function this task called (kept for getCoro()). */
  _fn: (() => unknown) | null = null;
  /** @internal The name, or its number until first asked (no string per task made up front). */ _name: string | number;
  /** @internal Generator tasks: the Future the coroutine yielded and waits on. */
  _futWaiter: Future<unknown> | null = null;
  /**
   * @internal Async-function tasks: every loop Future the task's code awaits now, as a list of
   * Reactions (its own await, and those of Promise.all children and helpers running inside it).
   * `cancel()` cancels them all; each unlinks itself in O(1) when it runs.
   */
  _waits: Reaction | null = null;
  /** @internal */ _mustCancel = false;
  /** @internal */ _numCancelsRequested = 0;
  /** @internal */ _cancelMsg: string | undefined = undefined;
  /** @internal Ready-queue entry protocol (Runnable): a step is never cancelled (on the prototype). */
  declare readonly _cancelled: false;
  /** @internal */ _prevLive: Task<any> | null = null;
  /** @internal */ _nextLive: Task<any> | null = null;
  /** @internal */ _abort: AbortController | null = null;
  /**
   * @internal When it was made, in whole milliseconds of `performance.now()` (a small integer,
   * stored unboxed; see birth.ts): the monitor shows tasks' ages.
   */
  _born = 0;

  constructor(coro: Coro<T> | (() => unknown), options?: { loop?: AbstractEventLoop; name?: string }) {
    super(options);
    if (isCoroutine(coro)) this._coro = coro;
    else if (isGeneratorFunction(coro)) {
      this._coro = coro() as Coro<T>;
      this._fn = coro; // its name, for the call graph
    } else if (typeof coro === 'function') this._fn = coro;
    else throw new TypeError(`coro must be a coroutine or a function returning one, not ${describe(coro)}`);
    const name = options?.name;
    this._name = name === undefined ? ++taskCounter : String(name);
    this._born = birthTime(this._loop);
    if (tracking) noteCreation(this, Task);
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

  /** The function this task was made from (an async or generator function), else its generator coroutine. */
  getCoro(): Coro<T> | (() => unknown) | null {
    return this._fn ?? this._coro;
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

  /**
   * Requests cancellation: `CancelledError` is thrown into the coroutine where it waits. For an
   * async function, every loop Future its code awaits right now is cancelled (its own await and
   * those of helpers and Promise.all children running inside it); when it awaits nothing of the
   * loop's (a foreign Promise), the cancellation is delivered at its next loop await.
   */
  override cancel(msg?: string): boolean {
    if (this._state !== 0) return false;
    if (cancelling.includes(this)) {
      // Tasks awaiting each other in a cycle (A awaits B awaits A, directly or through gather):
      // the request came back round to this task. It is this task's request, already counted;
      // the outer call breaks this task's wait (see #breakWait), so report it as delivered.
      cycled.add(this);
      return true;
    }
    this._numCancelsRequested++;
    if (this._abort !== null && !this._abort.signal.aborted) this._abort.abort(new CancelledError(msg ?? ''));
    cancelling.push(this);
    let delivered = false;
    try {
      // Leave _futWaiter set: it may be a Task that ignores the cancellation and must be
      // cancelled again later (asyncio's comment, same reason).
      const w = this._futWaiter;
      if (w !== null && w.cancel(msg)) {
        delivered = true;
        if (cycled.delete(this)) this.#breakWait(w, null, msg);
      }
      for (let r = this._waits; r !== null; r = r._nextWait) {
        if (r.fut.cancel(msg)) {
          delivered = true;
          if (cycled.delete(this)) this.#breakWait(r.fut, r, msg);
        }
      }
    } finally {
      cancelling.pop();
    }
    if (delivered) return true;
    this._mustCancel = true;
    this._cancelMsg = msg;
    return true;
  }

  /**
   * The cancellation of `fut` came back round to this task (a wait cycle): `fut` cannot finish
   * before this task does, so waiting for it to report the cancellation would wait forever.
   * Stop waiting on it and throw CancelledError into the task's code on the next iteration
   * instead; the others in the cycle then see this task end cancelled. (asyncio recurses until
   * RecursionError here.)
   */
  #breakWait(fut: Future<unknown>, r: Reaction | null, msg: string | undefined): void {
    fut.removeDoneCallback((r ?? this) as never);
    this._cancelMsg = msg;
    if (r === null) {
      this._mustCancel = true;
      this._loop._callSoonRunnable(this);
    } else this._loop.callSoon(resumeBroken, this, r);
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

  /** @internal */
  override _kind(): string {
    return 'Task';
  }

  override toString(): string {
    return super.toString().replace(/^<Task/, `<Task name=${JSON.stringify(this.getName())}`);
  }

  // --- completion -----------------------------------------------------------------------------

  /** @internal */
  _finishResult(v: T): void {
    unlinkLive(this);
    notAway(this);
    if (this._mustCancel) {
      // Cancellation was requested but the coroutine finished without waiting again.
      this._mustCancel = false;
      super.cancel(this._cancelMsg);
    } else super.setResult(v);
  }

  /** @internal */
  _finishError(e: unknown): void {
    unlinkLive(this);
    notAway(this);
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
    const prev = enterStep(this);
    try {
      const r = exc === undefined ? coro.next() : coro.throw(exc);
      if (r.done) this._finishResult(r.value);
      else this.#onYield(r.value);
    } catch (e) {
      this._finishError(e);
    } finally {
      leaveStep(prev);
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
      this._finishError(new CancelledError(this._cancelMsg ?? ''));
      return;
    }
    const fn = this._fn!;
    this.#drainHere();
    let r: unknown;
    try {
      r = runFirstStep(this, fn);
    } catch (e) {
      this._finishError(e);
      return;
    }
    if (isCoroutine(r)) {
      // A plain function that returned a generator coroutine: drive it as one.
      this._coro = r as Coro<T>;
      this._step();
    } else if (r instanceof Future) {
      // It returned a Future: wait on it as a generator would, so cancelling the task cancels it.
      this._coro = awaitFuture(r) as Coro<T>;
      this._step();
    } else if (isThenable(r)) {
      // Bound functions rather than two closures and their context: ~60 bytes less per live task.
      r.then(finishResult.bind(this), finishError.bind(this));
    } else {
      this._finishError(new TypeError(`the task's function must return a coroutine or a Promise, not ${describe(r)}`));
    }
  }

  /** This task's code runs now, in microtasks: the loop pauses its batch until they have run. */
  #drainHere(): void {
    beginDrain(this);
    this._loop._yieldToMicrotasks(this);
  }

  /** @internal Called by `Future.then` when this task's code awaits `fut` through `r`. */
  _await(fut: Future<any>, r: Reaction): void {
    notAway(this);
    if (fut._loop !== this._loop) {
      RESOLVED.then(() => r._reject(new Error(`Task ${this} got Future ${fut} attached to a different loop`)));
      return;
    }
    if (fut === this) {
      // It would wait for itself forever (asyncio raises the same error for `await self`).
      RESOLVED.then(() => r._reject(new Error(`Task cannot await on itself: ${this}`)));
      return;
    }
    if (fut._state !== 0 && !this._mustCancel) {
      // Already done: no loop callback runs first (asyncio returns at once from such an await).
      RESOLVED.then(() => r._settle());
      return;
    }
    const head = this._waits;
    r._nextWait = head;
    if (head !== null) head._prevWait = r;
    this._waits = r;
    fut._react(r);
    if (this._mustCancel && fut.cancel(this._cancelMsg)) this._mustCancel = false;
  }

  /** @internal A loop callback (the Reaction): resume the task's code with `r.fut`'s outcome. */
  _resume(r: Reaction): void {
    const p = r._prevWait;
    const n = r._nextWait;
    if (p !== null) p._nextWait = n;
    else if (this._waits === r) this._waits = n;
    if (n !== null) n._prevWait = p;
    r._prevWait = r._nextWait = null;
    this.#drainHere();
    if (this._mustCancel) {
      this._mustCancel = false;
      retrieve(r.fut);
      r._reject(new CancelledError(this._cancelMsg ?? ''));
    } else {
      r._settle();
    }
  }
}

Object.defineProperty(Task.prototype, '_cancelled', { value: false });

/** Tasks whose cancel() is running now, innermost last (to see a wait cycle: see cancel()). */
const cancelling: Task<unknown>[] = [];
/** Tasks whose cancellation came back round to them while it was running. */
const cycled = new Set<Task<unknown>>();

function resumeBroken(task: Task<unknown>, r: Reaction): void {
  // With _mustCancel, _resume rejects `r` with CancelledError without reading its (pending) Future.
  if (task._state !== 0) return;
  task._mustCancel = true;
  task._resume(r);
}

function finishResult(this: Task<unknown>, v: unknown): void {
  this._finishResult(v);
}

function finishError(this: Task<unknown>, e: unknown): void {
  this._finishError(e);
}

/** Marks a failed future's exception as seen (no "never retrieved" report for it). */
function retrieve(fut: Future<unknown> | null): void {
  if (fut !== null && fut._state !== 0 && !fut.cancelled()) fut.exception();
}

// -------------------------------------------------------------------------------------------------
// Task access.

/** The task running now (in `loop`, default the running loop), or null. */
export function currentTask(loop?: AbstractEventLoop): Task<unknown> | null {
  const t = runningTask() as Task<unknown> | null;
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

/** @internal Every task not done yet, of every loop of this thread (for introspection). */
export function* liveTasks(): Generator<Task<unknown>> {
  for (let t = liveHead; t !== null; t = t._nextLive) yield t;
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

export function* awaitFuture<T>(fut: Future<T>): Coro<T> {
  return yield* fut;
}
nameGenerator(awaitFuture, 'awaitFuture');



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
