/**
 * The async call graph of a task (Python 3.14's `asyncio.graph`): what its code is doing, what it
 * waits on, and who waits on it, up to the task nobody awaits.
 *
 * - `callStack`: for the task running now, its real stack (the frames of its code, up to the task
 *   driver: generator frames across `yield*`, V8's async frames across `await`s of async
 *   functions). For a suspended task: in debug mode, a generator task's frames as they were when it
 *   yielded (sites.ts); otherwise the coroutine's function, by name.
 * - `awaiting` (aloop's addition): the loop Futures it waits on now.
 * - `awaitedBy`: the tasks waiting on it (through gather, TaskGroup, waitFor, timeout, shield,
 *   wait), each with its own graph.
 *
 * Nothing is recorded on the await paths for this (awaits.ts reads the waits off the live tasks),
 * so a graph costs O(live tasks) to take and nothing when nobody takes one.
 */
import { Future } from './futures.js';
import { _getRunningLoop, describe } from './events.js';
import { Task, currentTask, liveTasks } from './task.js';
import { AwaitGraph, coroForm, coroName, directAwaits, describeAwait } from './introspect/awaits.js';
import { type FrameCallGraphEntry, formatFrame, parseStack, quote, taskFrames } from './introspect/frames.js';
import { awaitSiteOf, stackAbove } from './introspect/sites.js';
import { idOf } from './introspect/ids.js';

export type { FrameCallGraphEntry } from './introspect/frames.js';
export { futureAddToAwaitedBy, futureDiscardFromAwaitedBy } from './introspect/edges.js';

/** The call graph of one Future or Task (asyncio's FutureCallGraph). */
export interface FutureCallGraph {
  readonly future: Future<unknown>;
  /** Its frames, innermost first (empty for a plain Future). */
  readonly callStack: readonly FrameCallGraphEntry[];
  /** The loop Futures it waits on now (aloop's addition; empty for a plain Future). */
  readonly awaiting: readonly Future<unknown>[];
  /** The graphs of the tasks and Futures waiting on it. */
  readonly awaitedBy: readonly FutureCallGraph[];
}

export interface CallGraphOptions {
  /**
   * For the current task: how many frames to leave out from the top, counting the caller of
   * `captureCallGraph` as 1 (asyncio's `depth`). @default 1
   */
  depth?: number;
  /**
   * Keep at most |limit| frames of each call stack: the outermost ones (nearest where the task
   * began) if positive, the innermost if negative; 0 keeps none. @default null (all)
   */
  limit?: number | null;
}

export interface PrintCallGraphOptions extends CallGraphOptions {
  /** Where to write. @default process.stdout */
  file?: { write(s: string): unknown };
}

/**
 * The call graph of `future` (default: the current task). Returns null when no future is given
 * and no task is running; throws when no future is given and no loop is running.
 */
export function captureCallGraph(future?: Future<unknown> | null, options?: CallGraphOptions): FutureCallGraph | null {
  return capture(future, options, captureCallGraph);
}

/** The call graph as text (asyncio's `format_call_graph`); '' when there is nothing to show. */
export function formatCallGraph(future?: Future<unknown> | null, options?: CallGraphOptions): string {
  const graph = capture(future, options, formatCallGraph);
  return graph === null ? '' : renderCallGraph(graph);
}

/** Writes the call graph, then a newline (asyncio's `print_call_graph`). */
export function printCallGraph(future?: Future<unknown> | null, options?: PrintCallGraphOptions): void {
  const graph = capture(future, options, printCallGraph);
  const file = options?.file ?? process.stdout;
  if (typeof file?.write !== 'function') throw new TypeError(`file must have a write method, not ${describe(file)}`);
  file.write(`${graph === null ? '' : renderCallGraph(graph)}\n`);
}

function capture(future: Future<unknown> | null | undefined, options: CallGraphOptions | undefined, above: Function): FutureCallGraph | null {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`options must be an object, not ${describe(options)}`);
  }
  const depth = options?.depth ?? 1;
  if (typeof depth !== 'number') throw new TypeError(`depth must be a number, not ${describe(depth)}`);
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`depth must be an integer >= 1, not ${depth}`);
  const limit = options?.limit ?? null;
  if (limit !== null && typeof limit !== 'number') throw new TypeError(`limit must be a number or null, not ${describe(limit)}`);
  if (limit !== null && !Number.isInteger(limit)) throw new RangeError(`limit must be an integer, not ${limit}`);

  const loop = _getRunningLoop();
  let current = false;
  if (future !== undefined && future !== null) {
    if (!(future instanceof Future)) throw new TypeError(`future must be a Future or a Task, not ${describe(future)}`);
    current = loop !== null && future === currentTask(loop);
  } else {
    if (loop === null) {
      throw new Error('captureCallGraph() is called outside of a running event loop and no future to introspect was provided');
    }
    future = currentTask(loop);
    if (future === null) return null;
    current = true;
  }
  const owner = future._loop;
  const graph = new AwaitGraph(tasksOf(owner));
  let stack: FrameCallGraphEntry[];
  if (!current) stack = suspendedStack(future);
  else if (limit === 0) stack = [];
  else stack = taskFrames(parseStack(stackAbove(above, 200))).slice(depth - 1);
  return build(future, graph, trim(stack, limit), limit, new Set([future]));
}

function* tasksOf(loop: unknown): Generator<Task<unknown>> {
  for (const t of liveTasks()) if (t._loop === loop) yield t;
}

function build(
  fut: Future<unknown>,
  graph: AwaitGraph,
  callStack: FrameCallGraphEntry[],
  limit: number | null,
  path: Set<Future<unknown>>,
): FutureCallGraph {
  const awaitedBy: FutureCallGraph[] = [];
  for (const w of graph.awaitedBy(fut)) {
    // A cycle of waits (a deadlock) would recurse for ever: each path shows a waiter once.
    if (path.has(w)) continue;
    path.add(w);
    awaitedBy.push(build(w, graph, trim(suspendedStack(w), limit), limit, path));
    path.delete(w);
  }
  const awaiting = fut instanceof Task ? directAwaits(fut) : [];
  return { future: fut, callStack, awaiting, awaitedBy };
}

/** The frames of a task that is not running: its await site in debug mode, else its coroutine. */
export function suspendedStack(f: Future<unknown>): FrameCallGraphEntry[] {
  if (!(f instanceof Task)) return [];
  const site = awaitSiteOf(f, f._futWaiter);
  if (site !== null) {
    const frames = taskFrames(parseStack(site));
    if (frames.length > 0) return frames;
  }
  return [{ name: coroName(f), kind: coroForm(f), fileName: null, lineNumber: null, columnNumber: null }];
}

/** Keeps |limit| frames of `frames` (innermost first): outermost if limit > 0, innermost if < 0. */
function trim(frames: FrameCallGraphEntry[], limit: number | null): FrameCallGraphEntry[] {
  if (limit === null) return frames;
  if (limit === 0) return [];
  return limit > 0 ? frames.slice(-limit) : frames.slice(0, -limit);
}

/** asyncio's rendering, level by level, plus the Futures each task waits on. */
export function renderCallGraph(graph: FutureCallGraph): string {
  const buf: string[] = [];
  render(graph, buf, 0);
  return buf.join('\n');
}

function render(g: FutureCallGraph, buf: string[], level: number): void {
  const pad = '    '.repeat(level);
  const add = (line: string) => buf.push(pad + line);
  const f = g.future;
  const id = `0x${idOf(f).toString(16)}`;
  add(f instanceof Task ? `* Task(name=${quote(f.getName())}, id=${id})` : `* Future(id=${id})`);
  if (g.callStack.length > 0) {
    add('  + Call stack:');
    for (const frame of g.callStack) add(`  |   ${formatFrame(frame)}`);
  }
  if (g.awaiting.length > 0) {
    add('  + Waiting on:');
    for (const w of g.awaiting) {
      const d = describeAwait(w, f._loop);
      add(`  |   ${d.detail} (id=0x${d.id.toString(16)})`);
    }
  }
  if (g.awaitedBy.length > 0) {
    add('  + Awaited by:');
    for (const a of g.awaitedBy) render(a, buf, level + 1);
  }
}
