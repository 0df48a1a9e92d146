/**
 * Who waits on what, read off the live tasks when somebody asks (captureCallGraph, the monitor,
 * `aloop ps`) instead of being kept up to date on every await: the step paths stay as they are.
 *
 * A task waits on (`directAwaits`):
 * - a generator task: the Future its coroutine yielded (`_futWaiter`, asyncio's `_fut_waiter`);
 * - an async-function task: every loop Future its code awaits now (the Reactions in `_waits`: its
 *   own await, and those of Promise.all children and helpers running inside it).
 * Awaiting some Futures is awaiting others (`through`): a gather's children, a timeout's body.
 * And some waits are recorded explicitly (edges.ts): a TaskGroup's parent, shield, wait.
 *
 * `AwaitGraph` turns that around once per question, in one pass over the live tasks: for each
 * Future, the tasks (or Futures) that wait on it, asyncio's `_asyncio_awaited_by`.
 */
import { Future, PromiseFuture } from '../futures.js';
import type { AbstractEventLoop } from '../events.js';
import { Task } from '../task.js';
import { GatheringFuture } from '../gather.js';
import { LinkedFuture } from '../timeouts.js';
import { Sleep0, SleepFuture } from '../sleep.js';
import { recordedWaiters } from './edges.js';
import { generatorName } from './names.js';
import { idOf } from './ids.js';
import { quote } from './frames.js';

/** The pending loop Futures `t` waits on now, as its code awaits them. */
export function directAwaits(t: Task<unknown>): Future<unknown>[] {
  const out: Future<unknown>[] = [];
  const w = t._futWaiter;
  if (w !== null && w._state === 0) out.push(w);
  for (let r = t._waits; r !== null; r = r._nextWait) {
    const f = r.fut as Future<unknown>;
    if (f._state === 0 && !out.includes(f)) out.push(f);
  }
  return out;
}

/** The Futures that awaiting `f` also waits for. */
export function through(f: Future<unknown>): readonly Future<unknown>[] {
  if (f instanceof GatheringFuture) return f._children;
  if (f instanceof LinkedFuture && f._inner !== null) return [f._inner];
  return [];
}

export class AwaitGraph {
  readonly #by = new Map<Future<unknown>, Future<unknown>[]>();

  /** Indexes the waits of `tasks` (the live tasks of one loop, or of all). */
  constructor(tasks: Iterable<Task<unknown>>) {
    for (const t of tasks) {
      if (t._state !== 0) continue;
      for (const f of directAwaits(t)) this.#link(f, t, new Set());
    }
  }

  #link(f: Future<unknown>, waiter: Future<unknown>, seen: Set<Future<unknown>>): void {
    if (seen.has(f)) return;
    seen.add(f);
    const list = this.#by.get(f);
    if (list === undefined) this.#by.set(f, [waiter]);
    else if (!list.includes(waiter)) list.push(waiter);
    for (const c of through(f)) if (c._state === 0) this.#link(c, waiter, seen);
  }

  /** The tasks and Futures that wait on `f` now. */
  awaitedBy(f: Future<unknown>): Future<unknown>[] {
    const out = [...(this.#by.get(f) ?? [])];
    for (const w of recordedWaiters(f)) if (w._state === 0 && !out.includes(w)) out.push(w);
    return out;
  }
}

/** What a task or Future waited on is, for people (the monitor, `aloop ps`). */
export interface AwaitInfo {
  /** Its id (as in the call graph's `id=0x..`). */
  readonly id: number;
  /** `task`, `sleep`, `gather`, `timeout`, `promise` (a foreign Promise) or `future`. */
  readonly kind: 'task' | 'sleep' | 'gather' | 'timeout' | 'promise' | 'future';
  /** The task's name, for a task. */
  readonly name: string | null;
  /** One line: `Task 'worker'`, `sleep(2), due in 1.2 s`, `gather of 3 (1 done)`, ... */
  readonly detail: string;
}

/** Describes `f` (waited on by a task of `loop`). */
export function describeAwait(f: Future<unknown>, loop: AbstractEventLoop): AwaitInfo {
  const id = idOf(f);
  if (f instanceof Task) return { id, kind: 'task', name: f.getName(), detail: `Task ${quote(f.getName())}` };
  if (f instanceof SleepFuture) {
    const left = Math.max(0, f._when - loop.time());
    return { id, kind: 'sleep', name: null, detail: `sleep, due in ${left.toFixed(3)} s` };
  }
  if (f instanceof Sleep0) return { id, kind: 'sleep', name: null, detail: 'sleep(0)' };
  if (f instanceof GatheringFuture) {
    const n = f._children.length;
    const done = f._children.filter((c) => c._state !== 0).length;
    return { id, kind: 'gather', name: null, detail: `gather of ${n} (${done} done)` };
  }
  if (f instanceof LinkedFuture) {
    const inner = f._inner;
    const body = inner instanceof Task ? ` of Task ${quote(inner.getName())}` : '';
    return { id, kind: 'timeout', name: null, detail: `timeout${body}` };
  }
  if (f instanceof PromiseFuture) return { id, kind: 'promise', name: null, detail: 'a foreign Promise' };
  const cls = f.constructor.name;
  return { id, kind: 'future', name: null, detail: cls === 'Future' ? 'Future' : `Future (${cls})` };
}

/** The name of the coroutine `t` runs: its function's, a registered helper's, or `<generator>`. */
export function coroName(t: Task<unknown>): string {
  if (t._fn !== null) return t._fn.name || '<anonymous>';
  if (t._coro !== null) return generatorName(t._coro) ?? '<generator>';
  return '<unknown>';
}

/** Which form of coroutine `t` runs. */
export function coroForm(t: Task<unknown>): 'async' | 'generator' {
  return t._coro !== null ? 'generator' : 'async';
}
