/**
 * Where tasks were made and where they wait, recorded in debug mode only (asyncio keeps a
 * `_source_traceback` on every Future and Handle in debug mode, for the same reason).
 *
 * A suspended generator has no stack left to read: the only moment its frames (and those of every
 * generator delegating to it with `yield*`) can be seen is while it yields. So the iterators that
 * `yield*` runs (a Future's and sleep(0)'s) call `noteAwaitSite` when `tracking` is on, and the
 * stack taken there is kept beside the task, with the Future it was taken for. An async function's
 * await cannot be seen that way: V8 calls `Future.then` from a microtask of its own, with no
 * frame of the awaiting function on the stack; for those tasks the call graph names the function.
 *
 * `tracking` becomes true the first time any loop is put in debug mode and stays so: outside debug
 * mode, the cost on the hot paths is one read of this flag.
 */
import { runningTask } from '../context.js';

/** What this module needs of a task. */
interface SiteTask {
  _loop: { getDebug(): boolean };
}

/** True once any loop has been in debug mode (a live binding read by futures.ts and sleep.ts). */
export let tracking = false;

/** A loop entered debug mode: record creation and await sites from now on. */
export function trackSites(): void {
  tracking = true;
}

/** The stack of one suspension: taken when the task yielded `fut` (null: a bare yield). */
interface AwaitSite {
  readonly fut: object | null;
  readonly stack: string;
}

const awaitSites = new WeakMap<object, AwaitSite>();
const creationSites = new WeakMap<object, string>();

/** How many frames a recorded site keeps (V8's default of 10 often stops inside the loop). */
const SITE_FRAMES = 64;

/** The stack above `above` (which is left out, with everything it called), as a string. */
export function stackAbove(above: Function, frames = SITE_FRAMES): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = frames;
  try {
    Error.captureStackTrace(holder, above);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // Read now: an unread stack keeps its frames' receivers (tasks, futures) alive.
  return holder.stack ?? '';
}

/**
 * The generator task stepping now yields `fut` from inside `above` (the iterator's `next`): keep
 * the stack of its coroutines, in debug mode.
 */
export function noteAwaitSite(fut: object | null, above: Function): void {
  const t = runningTask() as (SiteTask & object) | null;
  if (t === null || !t._loop.getDebug()) return;
  awaitSites.set(t, { fut, stack: stackAbove(above) });
}

/** The stack `task` was suspended with, if it was taken for the wait it is in (`fut`). */
export function awaitSiteOf(task: object, fut: object | null): string | null {
  const s = awaitSites.get(task);
  return s !== undefined && s.fut === fut ? s.stack : null;
}

/** A task is made in debug mode: keep where (`createTask`'s caller and up). */
export function noteCreation(task: SiteTask & object, above: Function): void {
  if (task._loop.getDebug()) creationSites.set(task, stackAbove(above));
}

/** Where `task` was made, if it was made in debug mode. */
export function creationSiteOf(task: object): string | null {
  return creationSites.get(task) ?? null;
}
