/**
 * The virtual clock of aloop/testing's loops, and when it may jump.
 *
 * A virtual-time loop is a real loop (pure or native) whose `time()` reads `now` here and whose
 * timers fire only when this clock reaches them. At the end of every iteration that leaves
 * nothing ready, the loop calls `idle()`, and the clock decides, in this order:
 *
 *   1. work that ends by itself is in flight (an executor job, a connect, a name lookup):
 *      wait for it, however long it takes — its end wakes the loop, and `release` looks again;
 *   2. let Node's loop turn twice (two `setImmediate` hops: at least one poll for I/O in
 *      between), so what a socket of this process already sent arrives first;
 *   3. a foreign Promise is pending (awaited by a task, or wrapped in a Future): wait until
 *      nothing has happened for `promiseThreshold` real seconds — such a Promise may itself be
 *      waiting on this loop (`events.once` on an emitter a task fires after a sleep), which
 *      would otherwise hold the clock forever; jumping then warns once;
 *      a socket, listening socket or datagram endpoint is open: wait until no I/O event has come
 *      for `ioThreshold` real seconds (Trio's `autojump_threshold`), time for a peer in
 *      another process or host to answer;
 *   4. jump: `now` becomes the `when` of the earliest timer (in manual mode, only up to the
 *      limit `advance()` set), and the loop runs the timers due then, exactly as a real loop
 *      would once that much time had passed.
 * Anything that happens meanwhile (an iteration, a hold or a release) starts the decision over.
 */
import { type AbstractEventLoop, describe } from '../events.js';
import type { Future } from '../futures.js';
import { logger } from '../log.js';

/** Options of a virtual-time loop (`newVirtualTimeLoop`, `runVirtual`). */
export interface VirtualTimeOptions {
  /** Where `loop.time()` starts, in seconds. @default 0 */
  start?: number;
  /**
   * `true`: when nothing is ready and nothing foreign is in flight, the clock jumps to the next
   * timer at once. `false` (manual mode): the clock moves only with `loop.advance(seconds)`.
   * @default true
   */
  autojump?: boolean;
  /**
   * Real seconds with no I/O event the clock waits, while a socket, listening socket or datagram
   * endpoint of the loop is open, before it jumps: time for a peer outside this process to answer
   * (what this process's own sockets send arrives before any jump). `Infinity`: open sockets
   * hold the clock until they close.
   * @default 0.01
   */
  ioThreshold?: number;
  /**
   * Real seconds with nothing happening the clock waits for pending foreign Promises (awaited by
   * a task, or wrapped in a Future: `createTask(promise)`, `gather(f(1))`) before it jumps
   * anyway. `Infinity`: they hold the clock until they settle, even one that waits on the loop
   * itself (then the program hangs). Executor jobs, connects and name lookups always hold the
   * clock until they end.
   * @default 0.1
   */
  promiseThreshold?: number;
}

/** What the clock asks of its loop. */
export interface ClockHost {
  /**
   * Queues the timers due first, if they are due by `limit`: moves `now` to their `when` and
   * makes the loop iterate. False (nothing moves) if no timer is due by `limit`.
   */
  jump(limit: number): boolean;
  isRunning(): boolean;
  isClosed(): boolean;
}

function checkThreshold(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number of seconds, not ${describe(v)}`);
  if (!(v >= 0)) throw new RangeError(`${name} must be >= 0 (seconds), not ${v}`);
  return v;
}

/** The options, checked, with their defaults. */
export function checkVirtualTimeOptions(options: unknown): Required<VirtualTimeOptions> {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw new TypeError(`options must be an object, not ${describe(options)}`);
  const o = options as VirtualTimeOptions;
  let start = 0;
  if (o.start !== undefined) {
    if (typeof o.start !== 'number') throw new TypeError(`start must be a number of seconds, not ${describe(o.start)}`);
    // The native wheel counts microseconds in 62 bits; far below that, doubles still hold them.
    if (!(o.start >= 0 && o.start <= 1e12)) throw new RangeError(`start must be from 0 to 1e12 seconds, not ${o.start}`);
    start = o.start;
  }
  if (o.autojump !== undefined && typeof o.autojump !== 'boolean') {
    throw new TypeError(`autojump must be a boolean, not ${describe(o.autojump)}`);
  }
  return {
    start,
    autojump: o.autojump ?? true,
    ioThreshold: checkThreshold(o.ioThreshold, 'ioThreshold', 0.01),
    promiseThreshold: checkThreshold(o.promiseThreshold, 'promiseThreshold', 0.1),
  };
}

/** Node's timers take at most this many ms; longer thresholds wait in steps. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export class VirtualClock {
  /** The loop's time, in seconds. */
  now: number;
  readonly autojump: boolean;
  /** How far a jump may go: Infinity in autojump mode, else up to where `advance()` asked. */
  limit: number;
  readonly #ioThreshold: number;
  readonly #promiseThreshold: number;
  readonly #host: ClockHost;
  /** Work in flight that ends by itself. */
  #holds = 0;
  /** Foreign Promises pending. */
  #promiseHolds = 0;
  #openIo = 0;
  /** The loop ended an iteration with nothing ready and has not iterated since. */
  #idle = false;
  #immediate: NodeJS.Immediate | null = null;
  #timeout: NodeJS.Timeout | null = null;
  /** Real ms still to wait after the current timeout (thresholds above Node's maximum). */
  #waitLeft = 0;
  #warned = false;

  constructor(options: Required<VirtualTimeOptions>, host: ClockHost) {
    this.now = options.start;
    this.autojump = options.autojump;
    this.limit = options.autojump ? Infinity : options.start;
    this.#ioThreshold = options.ioThreshold;
    this.#promiseThreshold = options.promiseThreshold;
    this.#host = host;
  }

  /** An iteration starts: whatever the clock was about to decide no longer holds. */
  iterationStarted(): void {
    this.#idle = false;
    this.#cancel();
  }

  /** The loop ended an iteration with nothing ready and a timer still to come. */
  idle(): void {
    this.#idle = true;
    this.#restart();
  }

  hold(foreignPromise: boolean): void {
    if (foreignPromise) this.#promiseHolds++;
    else this.#holds++;
    if (this.#idle) this.#restart();
  }

  release(foreignPromise: boolean): void {
    if (foreignPromise) this.#promiseHolds = Math.max(0, this.#promiseHolds - 1);
    else this.#holds = Math.max(0, this.#holds - 1);
    if (this.#idle) this.#restart();
  }

  ioOpened(): void {
    this.#openIo++;
  }

  ioClosed(): void {
    this.#openIo = Math.max(0, this.#openIo - 1);
    if (this.#idle && this.#openIo === 0) this.#restart();
  }

  /** What holds the clock now, for messages. */
  describeHolds(): string {
    return `${this.#holds} executor job(s), connect(s) or lookup(s), ${this.#promiseHolds} foreign Promise(s), ${this.#openIo} open socket(s)`;
  }

  close(): void {
    this.#idle = false;
    this.#cancel();
  }

  #cancel(): void {
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    if (this.#timeout !== null) clearTimeout(this.#timeout);
    this.#immediate = null;
    this.#timeout = null;
  }

  #restart(): void {
    this.#cancel();
    if (!this.#idle || this.#holds > 0) return;
    this.#immediate = setImmediate(this.#hop);
  }

  // The first hop may run in the same turn of Node's loop (before its poll phase); the second
  // is queued from the check phase, so it runs in the next turn, after a poll.
  readonly #hop = (): void => {
    this.#immediate = setImmediate(this.#decide);
  };

  readonly #decide = (): void => {
    this.#immediate = null;
    if (!this.#mayJump()) return;
    let wait = 0;
    if (this.#promiseHolds > 0) wait = this.#promiseThreshold;
    if (this.#openIo > 0) wait = Math.max(wait, this.#ioThreshold);
    if (wait === Infinity) return; // held until something changes (a release, a close)
    if (wait > 0) {
      this.#waitLeft = wait * 1000;
      this.#waitMore();
      return;
    }
    this.#jump();
  };

  #waitMore(): void {
    const ms = Math.min(this.#waitLeft, MAX_TIMEOUT_MS);
    this.#waitLeft -= ms;
    this.#timeout = setTimeout(this.#waited, ms);
  }

  readonly #waited = (): void => {
    this.#timeout = null;
    if (!this.#mayJump()) return;
    if (this.#waitLeft > 0) {
      this.#waitMore();
      return;
    }
    if (this.#promiseHolds > 0 && !this.#warned) {
      this.#warned = true;
      logger.warning(
        `Virtual clock at ${this.now}: ${this.#promiseHolds} foreign Promise(s) still pending after ` +
          `${this.#promiseThreshold} s of real time with nothing happening; jumping to the next timer anyway. ` +
          'A Promise that itself waits on the loop (events.once() on an emitter a task fires, gather(f(1)) where ' +
          'f awaits sleep()) would hold the clock forever: pass a function instead (gather(() => f(1))) or use loop ' +
          'Futures. If it is real work that takes longer, raise promiseThreshold.',
      );
    }
    this.#jump();
  };

  #mayJump(): boolean {
    return this.#idle && this.#holds === 0 && this.#host.isRunning() && !this.#host.isClosed();
  }

  #jump(): void {
    // Without a timer due by the limit nothing moves: in manual mode the loop waits for advance().
    if (this.#host.jump(this.limit)) this.#idle = false;
  }
}

/** `loop.advance(seconds)` of both virtual loops. */
export function advanceClock(loop: AbstractEventLoop, clock: VirtualClock, seconds: unknown): Future<void> {
  if (typeof seconds !== 'number') throw new TypeError(`seconds must be a number, not ${describe(seconds)}`);
  if (!(seconds >= 0) || seconds === Infinity) throw new RangeError(`seconds must be a finite number >= 0, not ${seconds}`);
  if (loop.isClosed()) throw new Error('Event loop is closed');
  const target = clock.now + seconds;
  if (target > clock.limit) clock.limit = target;
  // A timer at the target: the clock stops there (after the timers due at the same time that
  // were scheduled before), and the Future is done once it has.
  const fut = loop.createFuture<void>();
  const timer = loop.callAt(target, finish, fut);
  fut.addDoneCallback(() => timer.cancel());
  return fut;
}

function finish(fut: Future<void>): void {
  if (!fut.done()) fut.setResult(undefined);
}
