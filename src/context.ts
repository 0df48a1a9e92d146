/**
 * Which async-function task is running, for code that runs in V8's microtask queue.
 *
 * A generator task step is called by the loop, so the loop knows the current task. An
 * async-function task resumes in a microtask the loop never sees; to learn which task awaits a
 * Future (so `cancel()` can cancel that Future) the Task runs its function inside an
 * AsyncLocalStorage context, and `Future.then` reads it (DESIGN.md "Coroutines").
 *
 * On Node 20/22 an active AsyncLocalStorage slows every promise in the process, so it is switched
 * on only when the first async-function task is created: generator-only programs never pay.
 * `ALOOP_TASK_CONTEXT=0` keeps it off (for benchmarks): the task is then known only from its own
 * wake-up until the loop's batch goes on, which covers awaits of loop Futures but not code that
 * resumes after a foreign Promise.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface TaskLike {
  readonly _isAsyncTask: true;
}

let als: AsyncLocalStorage<TaskLike> | null = null;
let enabled = process.env.ALOOP_TASK_CONTEXT !== '0';
/** The async task woken by the loop, valid until the loop's batch continues (no-ALS fallback). */
let resumed: TaskLike | undefined;

/** Switch the context on (first async task). Idempotent and cheap once on. */
export function enableTaskContext(): void {
  if (als === null && enabled) als = new AsyncLocalStorage<TaskLike>();
}

/** Benchmarks only: turn the context off before any async task exists. */
export function setTaskContextEnabled(on: boolean): void {
  enabled = on;
  if (!on) als = null;
}

export function taskContextActive(): boolean {
  return als !== null;
}

/** The async task whose code is running now, if any. */
export function contextTask<T extends TaskLike>(): T | undefined {
  return (als !== null ? als.getStore() : resumed) as T | undefined;
}

/** Runs `fn` inside `task`'s context. */
export function runInTask<R>(task: TaskLike, fn: () => R): R {
  resumed = task;
  return als !== null ? als.run(task, fn) : fn();
}

/** Marks `task` as the one resuming now (used when ALS is off). */
export function markResumed(task: TaskLike): void {
  resumed = task;
}

/** Runs `fn` outside any task context: loop iterations must not inherit the context of whatever
 * async task happened to schedule them. */
export function runOutsideTasks(fn: () => void): void {
  if (als !== null) als.exit(fn);
  else fn();
}

/** The loop calls this when a split batch continues: the woken task's microtasks are done. */
export function clearResumed(): void {
  resumed = undefined;
}
