/**
 * `aloop/testing`: virtual time for tests (Trio's `MockClock` with autojump, tokio's
 * `time::pause()`). A virtual-time loop is a real loop — same callbacks, tasks, I/O, order — whose
 * clock starts at 0 and moves only when the loop says so:
 *
 * ```ts
 * import * as aio from 'aloop';
 * import { runVirtual } from 'aloop/testing';
 * // An hour of sleeps, in milliseconds of real time; loop.time() is 3600 at the end.
 * await runVirtual(async () => { await aio.sleep(3600); });
 * ```
 *
 * - autojump (the default): when nothing is ready and no foreign work is in flight, the clock
 *   jumps to the next timer at once. Executor jobs, connects and name lookups hold it until they
 *   end; pending foreign Promises and open sockets hold it until nothing has happened for a
 *   moment of real time (the options `promiseThreshold`, `ioThreshold`; see clock.ts);
 * - manual (`autojump: false`): the clock moves only with `await loop.advance(seconds)`, which
 *   runs the timers due on the way in order, each at its own time.
 *
 * Both loops support it: the pure loop (timers in its heap) and the native loop (its C++ timer
 * wheel on a virtual clock, resolution one microsecond).
 */
import { type AbstractEventLoop, BaseDefaultEventLoopPolicy, getEventLoopPolicy } from './events.js';
import type { Future } from './futures.js';
import { NativeEventLoopPolicy } from './native.js';
import { run } from './runners.js';
import type { CoroLike } from './tasks.js';
import { type VirtualTimeOptions, checkVirtualTimeOptions } from './testing/clock.js';
import { NativeVirtualTimeLoop } from './testing/native-loop.js';
import { VirtualTimeLoop } from './testing/pure-loop.js';

export { VirtualTimeLoop, NativeVirtualTimeLoop, type VirtualTimeOptions };

/** What a virtual-time loop adds to an event loop. */
export interface VirtualTimeEventLoop extends AbstractEventLoop {
  /** Whether the clock jumps by itself (false: manual mode). */
  readonly autojump: boolean;
  /**
   * Lets `seconds` of virtual time pass: the timers due on the way run in order, each at its own
   * time, as if the program had run that long; the Future is done once the clock is there. In
   * manual mode this is how the clock moves; in autojump mode it is a sleep.
   */
  advance(seconds: number): Future<void>;
}

/** Options of {@link newVirtualTimeLoop}. */
export interface NewVirtualTimeLoopOptions extends VirtualTimeOptions {
  /**
   * The native loop (true) or the pure one (false).
   * @default true when the current policy makes native loops (`aloop/native`'s `install()`)
   */
  native?: boolean;
}

/** Options of {@link runVirtual}. */
export interface RunVirtualOptions extends NewVirtualTimeLoopOptions {
  /** Run the loop in debug mode. @default undefined (the loop's own default) */
  debug?: boolean;
}

/**
 * A new event loop whose clock is virtual, of the kind the current policy makes unless `native`
 * says otherwise.
 * @example
 * const loop = newVirtualTimeLoop({ autojump: false });
 * loop.callLater(5, () => console.log('five'));
 * await loop.runUntilComplete(loop.advance(10)); // prints 'five'; loop.time() is 10
 * loop.close();
 */
export function newVirtualTimeLoop(options?: NewVirtualTimeLoopOptions): VirtualTimeEventLoop {
  checkVirtualTimeOptions(options);
  return wantsNative(options) ? new NativeVirtualTimeLoop(options) : new VirtualTimeLoop(options);
}

function wantsNative(options: NewVirtualTimeLoopOptions | undefined): boolean {
  const native = options?.native;
  if (native !== undefined && typeof native !== 'boolean') throw new TypeError(`native must be a boolean, not ${typeof native}`);
  return native ?? getEventLoopPolicy() instanceof NativeEventLoopPolicy;
}

/**
 * A policy whose loops have virtual clocks: a whole program, unchanged, runs on virtual time
 * (`aio.run(main)` makes its loop from the policy). Native loops if the policy current when this
 * one is made makes native loops (or if `native` says so).
 * @example
 * // preload.mjs, then: node --import ./preload.mjs program.mjs
 * aio.setEventLoopPolicy(new VirtualTimeEventLoopPolicy());
 */
export class VirtualTimeEventLoopPolicy extends BaseDefaultEventLoopPolicy {
  readonly #options: NewVirtualTimeLoopOptions;

  constructor(options?: NewVirtualTimeLoopOptions) {
    super();
    checkVirtualTimeOptions(options);
    this.#options = { ...options, native: wantsNative(options) };
  }

  protected _loopFactory(): VirtualTimeEventLoop {
    return newVirtualTimeLoop(this.#options);
  }
}

/**
 * Runs `main` as `run()` does, on a new loop whose clock is virtual (see {@link newVirtualTimeLoop}).
 * @example
 * // vitest or node:test:
 * test('retries with backoff', () => runVirtual(async () => { ... }));
 */
export function runVirtual<T>(main: CoroLike<T>, options: RunVirtualOptions = {}): Promise<T> {
  let loopOptions: NewVirtualTimeLoopOptions;
  try {
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${typeof options}`);
    const { debug: _debug, ...rest } = options;
    loopOptions = rest;
    // Check now, so that a bad option fails the call instead of the loop factory.
    checkVirtualTimeOptions(loopOptions);
  } catch (e) {
    return Promise.reject(e);
  }
  return run(main, { debug: options.debug, loopFactory: () => newVirtualTimeLoop(loopOptions) });
}
