/**
 * Loop statistics for the monitor and `aloop ps`: what the loop holds now (ready callbacks,
 * timers, tasks, handles), how much it has run (iterations), the slow callbacks of debug mode,
 * and, when a probe runs (the monitor starts one), iterations per second and callback lag.
 *
 * Nothing here runs on the loop's hot paths: the loop keeps one counter (`_iterations`) and
 * debug mode's slow-callback log (slow.ts); the rest is read when asked. The probe is a timer
 * every `interval` seconds that measures how late it fires (timer lag) and how long a callSoon
 * waits in the ready queue (callback lag), the two ways a busy or blocked loop shows.
 */
import type { AbstractEventLoop } from '../events.js';
import { liveTasks } from '../task.js';
import { idOf } from './ids.js';
import { isHidden } from './hidden.js';
import { type SlowCallback, slowCallbacks } from './slow.js';

/** What the loop classes provide beyond AbstractEventLoop (BaseEventLoop does). */
interface CountingLoop {
  _iterations?: number;
  _readyEntries?(): unknown[];
  _timerCount?(): number;
  _handleCount?(): number;
  slowCallbackDuration?: number;
}

/** One probe sample. */
export interface LagSample {
  /** When, in milliseconds since the epoch. */
  readonly at: number;
  /** How late the probe's timer ran, in milliseconds. */
  readonly timerMs: number;
  /** How long a callSoon callback waited in the ready queue, in milliseconds (null until it ran). */
  callSoonMs: number | null;
  /** Loop iterations per second since the previous sample. */
  readonly iterationsPerSecond: number;
}

export interface LoopStats {
  /** The loop's id (as in `aloop ps`). */
  readonly id: number;
  /** Its class: `PureEventLoop`, `NativeEventLoop`, ... */
  readonly type: string;
  readonly running: boolean;
  readonly closed: boolean;
  readonly debug: boolean;
  /** `loop.time()`, seconds. */
  readonly time: number;
  /** Iterations run so far. */
  readonly iterations: number;
  /** Per second, over the probe's last interval (null without a probe). */
  readonly iterationsPerSecond: number | null;
  /** The probe's latest lag figures and their history, oldest first (null without a probe). */
  readonly lag: { readonly timerMs: number | null; readonly callSoonMs: number | null; readonly history: readonly LagSample[] } | null;
  /** Callbacks in the ready queue. */
  readonly ready: number;
  /** Timers scheduled (sleeps included). */
  readonly timers: number;
  /** Tasks not done. */
  readonly tasks: number;
  /**
   * Handles: the native loop's libuv handles on this thread (null on the pure loop), and Node's
   * active resources by kind (sockets, servers, timers, ...), for the whole process.
   */
  readonly handles: { readonly native: number | null; readonly node: Readonly<Record<string, number>> };
  /** Debug mode's slow callbacks: the threshold (seconds), how many so far, the latest. */
  readonly slowCallbacks: { readonly threshold: number; readonly count: number; readonly recent: readonly SlowCallback[] };
}

/** How many probe samples are kept (a minute at the monitor's default half second). */
const HISTORY = 120;

/** Samples the loop's lag and rate every `interval` seconds until stopped. */
export class LoopProbe {
  readonly #loop: AbstractEventLoop;
  readonly #interval: number;
  readonly history: LagSample[] = [];
  #timer: { cancel(): void } | null = null;
  #lastIterations = 0;
  #lastAt = 0;
  #stopped = false;

  constructor(loop: AbstractEventLoop, interval: number) {
    this.#loop = loop;
    this.#interval = interval;
    this.#lastIterations = iterationsOf(loop);
    this.#lastAt = performance.now();
    this.#arm();
  }

  #arm(): void {
    const when = this.#loop.time() + this.#interval;
    this.#timer = this.#loop.callAt(when, this.#tick, when);
  }

  readonly #tick = (when: number): void => {
    if (this.#stopped) return;
    const loop = this.#loop;
    const timerMs = Math.max(0, (loop.time() - when) * 1000);
    const now = performance.now();
    const iterations = iterationsOf(loop);
    const rate = ((iterations - this.#lastIterations) * 1000) / Math.max(1e-3, now - this.#lastAt);
    this.#lastIterations = iterations;
    this.#lastAt = now;
    const sample: LagSample = { at: Date.now(), timerMs, callSoonMs: null, iterationsPerSecond: rate };
    this.history.push(sample);
    if (this.history.length > HISTORY) this.history.shift();
    const queued = performance.now();
    loop.callSoon(() => {
      sample.callSoonMs = performance.now() - queued;
    });
    this.#arm();
  };

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }
}

function iterationsOf(loop: AbstractEventLoop): number {
  return (loop as CountingLoop)._iterations ?? 0;
}

/** The statistics of `loop`; rates and lag from `probe` when one runs. */
export function loopStats(loop: AbstractEventLoop, probe: LoopProbe | null = null): LoopStats {
  const l = loop as AbstractEventLoop & CountingLoop;
  let tasks = 0;
  for (const t of liveTasks()) if (t._loop === loop && t._state === 0 && !isHidden(t)) tasks++;
  const node: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) node[kind] = (node[kind] ?? 0) + 1;
  const history = probe?.history ?? [];
  const last = history[history.length - 1];
  // The latest sample's callSoon may not have run yet: the latest measured one.
  let soon: number | null = null;
  for (let i = history.length - 1; i >= 0 && soon === null; i--) soon = history[i]!.callSoonMs;
  const closed = loop.isClosed();
  return {
    id: idOf(loop),
    type: loop.constructor.name,
    running: loop.isRunning(),
    closed,
    debug: loop.getDebug(),
    time: loop.time(),
    iterations: iterationsOf(loop),
    iterationsPerSecond: last?.iterationsPerSecond ?? null,
    lag: probe === null ? null : { timerMs: last?.timerMs ?? null, callSoonMs: soon, history: [...history] },
    ready: l._readyEntries?.().length ?? 0,
    timers: l._timerCount?.() ?? 0,
    tasks,
    handles: { native: closed ? null : (l._handleCount?.() ?? null), node },
    slowCallbacks: { threshold: l.slowCallbackDuration ?? 0.1, ...slowCallbacks(loop) },
  };
}
