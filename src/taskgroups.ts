/**
 * Structured concurrency (asyncio's TaskGroup). `taskGroup(body)` runs `body(tg)` in a parent
 * task; tasks started with `tg.createTask` belong to the group. The first failure cancels the
 * others and the body; once every task has finished the failures are thrown together as an
 * ExceptionGroup. The exit logic follows asyncio's `TaskGroup._aexit` step by step.
 */
import { CancelledError, ExceptionGroup } from './errors.js';
import type { Future } from './futures.js';
import { type AbstractEventLoop, type TaskOptions, getRunningLoop, describe } from './events.js';
import { type Coro, type CoroLike, Task, currentTask } from './tasks.js';
import { futureAddToAwaitedBy, futureDiscardFromAwaitedBy } from './introspect/edges.js';
import { nameGenerator } from './introspect/names.js';

export class TaskGroup {
  #loop: AbstractEventLoop;
  #parent: Task<unknown> | null = null;
  #tasks = new Set<Task<unknown>>();
  #errors: unknown[] = [];
  #entered = false;
  #exiting = false;
  #aborting = false;
  #parentCancelRequested = false;
  #onCompleted: Future<void> | null = null;

  /** @internal Made by `taskGroup()`. */
  constructor(loop: AbstractEventLoop) {
    this.#loop = loop;
  }

  /** Starts `coro` as a task of this group. */
  createTask<T>(coro: CoroLike<T>, options?: TaskOptions): Task<T> {
    if (!this.#entered) throw new Error(`TaskGroup ${this} has not been entered`);
    if (this.#exiting && this.#tasks.size === 0) throw new Error(`TaskGroup ${this} is finished`);
    if (this.#aborting) throw new Error(`TaskGroup ${this} is shutting down`);
    const task = this.#loop.createTask(coro, options);
    if (task.done()) this.#onTaskDone(task);
    else {
      this.#tasks.add(task);
      task.addDoneCallback(this.#onTaskDone);
      // The call graph: the group's parent waits for it (asyncio's TaskGroup says so too).
      futureAddToAwaitedBy(task, this.#parent);
    }
    return task;
  }

  toString(): string {
    const info: string[] = [];
    if (this.#tasks.size) info.push(`tasks=${this.#tasks.size}`);
    if (this.#errors.length) info.push(`errors=${this.#errors.length}`);
    if (this.#aborting) info.push('cancelling');
    else if (this.#entered) info.push('entered');
    return `<TaskGroup ${info.join(' ')}>`;
  }

  /** @internal */
  _enter(parent: Task<unknown>): void {
    this.#entered = true;
    this.#parent = parent;
  }

  #abort(): void {
    this.#aborting = true;
    for (const t of this.#tasks) if (!t.done()) t.cancel();
  }

  readonly #onTaskDone = (task: Future<unknown>): void => {
    this.#tasks.delete(task as Task<unknown>);
    futureDiscardFromAwaitedBy(task, this.#parent);
    if (this.#onCompleted !== null && this.#tasks.size === 0 && !this.#onCompleted.done()) this.#onCompleted.setResult();
    if (task.cancelled()) return;
    const exc = task.exception();
    if (exc === undefined) return;
    this.#errors.push(exc);
    const parent = this.#parent!;
    if (parent.done()) {
      this.#loop.callExceptionHandler({
        message: `Task ${task} has errored out but its parent task ${parent} is already completed`,
        exception: exc,
        task: task as Task<unknown>,
      });
      return;
    }
    if (!this.#aborting && !this.#parentCancelRequested) {
      // Cancel the parent (the body) so it stops, and every other task.
      this.#abort();
      this.#parentCancelRequested = true;
      parent.cancel();
    }
  };

  /** @internal The body ended with `exc` (undefined if it returned): asyncio's `_aexit`. */
  *_exit(exc: unknown): Coro<void> {
    this.#exiting = true;
    let propagateCancellation: CancelledError | null = null;
    if (exc instanceof CancelledError) propagateCancellation = exc;
    if (exc !== undefined && !this.#aborting) {
      // The body failed or our parent is being cancelled: cancel the tasks.
      this.#abort();
    }
    // A loop, since the wait can be cancelled several times if the parent is cancelled repeatedly.
    while (this.#tasks.size > 0) {
      this.#onCompleted ??= this.#loop.createFuture<void>();
      try {
        yield* this.#onCompleted;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        if (!this.#aborting) {
          propagateCancellation = e;
          this.#abort();
        }
      }
      this.#onCompleted = null;
    }
    const parent = this.#parent!;
    if (this.#parentCancelRequested) {
      // We cancelled the parent ourselves: take that back; if nothing else cancelled it, the
      // CancelledError is ours and does not propagate.
      if (parent.uncancel() === 0) propagateCancellation = null;
    }
    if (propagateCancellation !== null && this.#errors.length === 0) throw propagateCancellation;
    if (exc !== undefined && !(exc instanceof CancelledError)) this.#errors.push(exc);
    if (this.#errors.length > 0) {
      // Cancelled from outside as well: un-cancel and re-cancel to keep the count stable.
      if (parent.cancelling()) {
        parent.uncancel();
        parent.cancel();
      }
      const errors = this.#errors;
      this.#errors = [];
      throw new ExceptionGroup('unhandled errors in a TaskGroup', errors);
    }
  }
}

/**
 * Runs `body(tg)` with a new TaskGroup; resolves to the body's result once every task of the
 * group has finished. Failures (the body's and the tasks') are thrown as one ExceptionGroup.
 */
export function taskGroup<T>(body: (tg: TaskGroup) => Coro<T> | PromiseLike<T>): Task<T> {
  if (typeof body !== 'function') throw new TypeError(`body must be a function taking the TaskGroup, not ${describe(body)}`);
  const loop = getRunningLoop();
  const tg = new TaskGroup(loop);
  return loop.createTask(groupMain(tg, body, loop));
}

function* groupMain<T>(tg: TaskGroup, body: (tg: TaskGroup) => Coro<T> | PromiseLike<T>, loop: AbstractEventLoop): Coro<T> {
  tg._enter(currentTask() as Task<unknown>);
  let result: T | undefined;
  let exc: unknown = undefined;
  try {
    // The body runs as its own task (so an async body is cancellable), awaited by the parent:
    // cancelling the parent cancels it.
    const b = body.constructor.name === 'GeneratorFunction' ? loop.createTask(body(tg) as Coro<T>) : loop.createTask(() => body(tg));
    result = yield* b;
  } catch (e) {
    exc = e;
  }
  yield* tg._exit(exc);
  if (exc !== undefined) throw exc;
  return result as T;
}
nameGenerator(groupMain, 'taskGroup');
