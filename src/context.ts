/**
 * Which task's code is running now: what `currentTask()` answers and what `Future.then` uses to
 * learn which task awaits a Future (so that `task.cancel()` can cancel it).
 *
 * - A generator task step is called by the loop, so the loop knows it: `stepping`.
 * - An async function's code runs in V8's microtask queue, which the loop never sees. But the loop
 *   starts or resumes async tasks one at a time and lets the microtask queue drain before it runs
 *   anything else (BaseEventLoop splits its batch there, for asyncio's step order). While that
 *   drain lasts, the code running is the resumed task's: `draining`. That covers every await of a
 *   loop Future, at no cost per promise.
 * - What a drain cannot see is code that resumes after a foreign Promise settled outside any drain
 *   (a Node timer, I/O, a worker). Two answers:
 *   - where AsyncLocalStorage costs nothing per promise (Node >= 24, AsyncContextFrame), or when
 *     `ALOOP_TASK_CONTEXT=1`, each async task also runs inside an AsyncLocalStorage context, which
 *     follows every promise reaction: exact;
 *   - elsewhere (Node 20/22, where an active AsyncLocalStorage runs promise hooks on every promise
 *     of the process, 2-4x slower plain awaits), a task whose step ended waiting on something that
 *     is not a loop Future is "away"; code running outside every step, drain and loop callback is
 *     attributed to it when it is the only task away (README "Differences from asyncio").
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What this module needs of a Task. */
export interface RunningTask {
  _state: number;
  /** The generator coroutine (null for an async-function task). */
  _coro: unknown;
  /** Head of the list of loop Futures its code awaits now (async-function tasks). */
  _waits: unknown;
  /** Its loop: a virtual clock holds still while the task awaits a foreign Promise. */
  _loop: { _holdClock(foreignPromise: boolean): void; _releaseClock(foreignPromise: boolean): void };
}

/** Whether AsyncLocalStorage is cheap here: Node >= 24 runs it on AsyncContextFrame. */
function contextFrameDefault(): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (flags.includes('--no-async-context-frame')) return false;
  return major >= 24 || flags.includes('--experimental-async-context-frame');
}

const mode = process.env.ALOOP_TASK_CONTEXT;
/** The exact context, or null where it would tax every promise (see above). */
const als: AsyncLocalStorage<RunningTask> | null =
  mode === '1' || (mode !== '0' && contextFrameDefault()) ? new AsyncLocalStorage<RunningTask>() : null;

let stepping: RunningTask | null = null;
let draining: RunningTask | null = null;
/** True while the loop runs a plain callback of its batch (no task's code runs then). */
let inCallbacks = false;
/**
 * Async tasks whose last step ended waiting on something that is not a loop Future (kept with
 * the exact context too: their loop's clock is held meanwhile).
 */
const away = new Set<RunningTask>();

/** Whether async tasks run inside an AsyncLocalStorage context (exact attribution). */
export function exactContext(): boolean {
  return als !== null;
}

/** The async-function task whose code is running now, if known: it is the one awaiting. */
export function awaitingTask(): RunningTask | null {
  if (stepping !== null) return null;
  if (als !== null) return als.getStore() ?? null;
  if (draining !== null) return draining;
  if (inCallbacks || away.size !== 1) return null;
  for (const t of away) return t;
  return null;
}

/** The task (either form) whose code is running now. */
export function runningTask(): RunningTask | null {
  return stepping ?? awaitingTask();
}

/** A generator step starts; returns what to restore. */
export function enterStep(task: RunningTask): RunningTask | null {
  const prev = stepping;
  stepping = task;
  return prev;
}

export function leaveStep(prev: RunningTask | null): void {
  stepping = prev;
}

/** An async task starts or resumes: until the loop continues its batch, code is this task's. */
export function beginDrain(task: RunningTask): void {
  draining = task;
  notAway(task);
}

/** The loop continues its batch: the drained task has suspended (or finished). */
export function endDrain(): void {
  const t = draining;
  if (t === null) return;
  draining = null;
  // Still running, and not waiting on any loop Future: it awaits a foreign Promise. (With the
  // exact context this is not needed to attribute code, but a virtual clock still waits for it.)
  if (t._state === 0 && t._coro === null && t._waits === null && !away.has(t)) {
    away.add(t);
    t._loop._holdClock(true);
  }
}

/** The loop is running (true) or has stopped running (false) plain callbacks of its batch. */
export function setInCallbacks(on: boolean): void {
  inCallbacks = on;
}

/** `task` awaits a loop Future again, or finished: it is not away any more. */
export function notAway(task: RunningTask): void {
  if (away.size > 0 && away.delete(task)) task._loop._releaseClock(true);
}

/** Runs the first step of an async task (inside its context when there is one). */
export function runFirstStep<R>(task: RunningTask, fn: () => R): R {
  return als !== null ? als.run(task, fn) : fn();
}

/**
 * Runs `fn` outside any task context: a loop iteration must not inherit the context of whatever
 * task happened to wake the loop. `run(undefined)` rather than `exit()`: on Node 20/22 `exit()`
 * switches every hook off and on again.
 */
export function runOutsideTasks(fn: () => void): void {
  if (als !== null) als.run(undefined as unknown as RunningTask, fn);
  else fn();
}
