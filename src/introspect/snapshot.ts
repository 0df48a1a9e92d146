/**
 * The live tasks as plain data (JSON): what the monitor's `/tasks` serves and what `aloop ps`
 * reads from another process, through the global hook installed here:
 *
 *     globalThis[Symbol.for('aloop.introspect')]()   // → a JSON string: ProcessSnapshot
 *
 * The hook is a function with a list of providers, one per copy of aloop loaded in the process
 * (two versions side by side each add theirs), so whoever evaluates it (the Node inspector's
 * Runtime.evaluate, a debugger console) sees every loop's tasks of this thread.
 */
import type { AbstractEventLoop } from '../events.js';
import { Task, currentTask, liveTasks } from '../task.js';
import { Reaction } from '../reaction.js';
import { AwaitGraph, type AwaitInfo, coroForm, coroName, describeAwait, directAwaits } from './awaits.js';
import { type FrameCallGraphEntry, parseStack, taskFrames } from './frames.js';
import { creationSiteOf, stackAbove } from './sites.js';
import { idOf } from './ids.js';
import { type LoopProbe, type LoopStats, loopStats } from './stats.js';
import { suspendedStack } from '../graph.js';
import { isHidden } from './hidden.js';

export { hideTask, isHidden } from './hidden.js';

/** One live task, as the monitor and `aloop ps` show it. */
export interface TaskInfo {
  /** Its id (the call graph's `id=0x..`, in decimal). */
  readonly id: number;
  readonly name: string;
  /** The id of its loop. */
  readonly loop: number;
  /**
   * `running`: its code runs now; `ready`: in the ready queue, to run this or the next iteration;
   * `waiting`: waits on loop Futures (`awaits`); `suspended`: none of these (an async function
   * awaiting a foreign Promise).
   */
  readonly state: 'running' | 'ready' | 'waiting' | 'suspended';
  /** Cancellation requests pending (`task.cancelling()`). */
  readonly cancelling: number;
  /** Seconds since it was made. */
  readonly age: number;
  /** The coroutine's form. */
  readonly form: 'async' | 'generator';
  /** The coroutine's function name (`<generator>` when a generator object was passed). */
  readonly coro: string;
  /** The loop Futures it waits on. */
  readonly awaits: readonly AwaitInfo[];
  /** Ids of the tasks (and Futures) waiting on it: its parents in the task tree. */
  readonly awaitedBy: readonly number[];
  /** Its call stack, innermost first (see captureCallGraph). */
  readonly callStack: readonly FrameCallGraphEntry[];
  /** Where it was made (createTask's caller first), in debug mode; else null. */
  readonly createdAt: readonly FrameCallGraphEntry[] | null;
}

/** What the global hook returns (as JSON). */
export interface ProcessSnapshot {
  readonly pid: number;
  readonly node: string;
  readonly argv: readonly string[];
  /** The URLs of the monitors running in this process. */
  readonly monitors: readonly string[];
  readonly loops: readonly LoopStats[];
  readonly tasks: readonly TaskInfo[];
}

/** The live tasks of `loops` (default: of every loop), as data. */
export function taskInfos(loops?: readonly AbstractEventLoop[]): TaskInfo[] {
  const tasks: Task<unknown>[] = [];
  for (const t of liveTasks()) {
    if (t._state !== 0 || isHidden(t)) continue;
    if (loops !== undefined && !loops.includes(t._loop)) continue;
    tasks.push(t);
  }
  const graph = new AwaitGraph(liveTasks());
  const ready = readyTasks(new Set(tasks.map((t) => t._loop)));
  const now = Math.floor(performance.now());
  return tasks.map((t) => {
    const awaits = directAwaits(t);
    const current = currentTask(t._loop) === t;
    const state = current ? 'running' : ready.has(t) ? 'ready' : awaits.length > 0 ? 'waiting' : 'suspended';
    const site = creationSiteOf(t);
    return {
      id: idOf(t),
      name: t.getName(),
      loop: idOf(t._loop),
      state,
      cancelling: t.cancelling(),
      age: Math.max(0, now - t._born) / 1000,
      form: coroForm(t),
      coro: coroName(t),
      awaits: awaits.map((f) => describeAwait(f, t._loop)),
      awaitedBy: graph.awaitedBy(t).filter((w) => !isHidden(w)).map(idOf),
      callStack: current ? (runningStack() ?? suspendedStack(t)) : suspendedStack(t),
      createdAt: site === null ? null : taskFrames(parseStack(site)),
    };
  });
}

/**
 * The frames of the task running now, when the snapshot is taken in the middle of its step: the
 * inspector evaluates the hook by interrupting the main thread, so a task stuck in a long
 * synchronous stretch (a blocked loop) shows where it is.
 */
function runningStack(): FrameCallGraphEntry[] | null {
  const frames = taskFrames(parseStack(stackAbove(runningStack, 200)));
  // Above the task's frames: the code the inspector evaluated (no file) and the builtins this
  // module called (Array.map): none of them the task's.
  const first = frames.findIndex((f) => f.fileName !== null && f.fileName !== '<anonymous>');
  return first < 0 ? null : frames.slice(first);
}

/** The tasks that have an entry in their loop's ready queue: a step, or a resumption. */
function readyTasks(loops: Set<AbstractEventLoop>): Set<unknown> {
  const out = new Set<unknown>();
  for (const loop of loops) {
    const entries = (loop as { _readyEntries?(): unknown[] })._readyEntries?.() ?? [];
    for (const e of entries) {
      if (e instanceof Task) out.add(e);
      else if (e instanceof Reaction && e._task !== null) out.add(e._task);
    }
  }
  return out;
}

// --- monitors and probes of this process --------------------------------------------------------

const monitors = new Map<string, { loop: AbstractEventLoop; probe: LoopProbe }>();

/** A monitor serves `url` for `loop`, sampling it with `probe` (until `unregisterMonitor`). */
export function registerMonitor(url: string, loop: AbstractEventLoop, probe: LoopProbe): void {
  monitors.set(url, { loop, probe });
}

export function unregisterMonitor(url: string): void {
  monitors.delete(url);
}

/** The probe sampling `loop`, if a monitor runs for it. */
export function probeOf(loop: AbstractEventLoop): LoopProbe | null {
  for (const m of monitors.values()) if (m.loop === loop) return m.probe;
  return null;
}

/** Everything this copy of aloop knows about the process. */
export function processSnapshot(): ProcessSnapshot {
  const loops = new Set<AbstractEventLoop>();
  for (const t of liveTasks()) if (t._state === 0 && !isHidden(t)) loops.add(t._loop);
  for (const m of monitors.values()) loops.add(m.loop);
  return {
    pid: process.pid,
    node: process.version,
    argv: process.argv,
    monitors: [...monitors.keys()],
    loops: [...loops].map((l) => loopStats(l, probeOf(l))),
    tasks: taskInfos(),
  };
}

// --- the global hook ------------------------------------------------------------------------------

/** The key of the hook on `globalThis`. */
export const HOOK = Symbol.for('aloop.introspect');

interface Hook {
  (): string;
  providers: (() => ProcessSnapshot)[];
}

function installHook(): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  let hook = g[HOOK] as Hook | undefined;
  if (typeof hook !== 'function' || !Array.isArray(hook.providers)) {
    const providers: (() => ProcessSnapshot)[] = [];
    hook = Object.assign(() => JSON.stringify(merge(providers.map((p) => p()))), { providers });
    Object.defineProperty(g, HOOK, { value: hook, configurable: true, writable: true, enumerable: false });
  }
  hook.providers.push(processSnapshot);
}

function merge(parts: ProcessSnapshot[]): ProcessSnapshot {
  return {
    pid: process.pid,
    node: process.version,
    argv: process.argv,
    monitors: parts.flatMap((p) => p.monitors),
    loops: parts.flatMap((p) => p.loops),
    tasks: parts.flatMap((p) => p.tasks),
  };
}

installHook();
