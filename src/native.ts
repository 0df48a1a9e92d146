/**
 * `aloop/native`: the native loop (a C++ N-API addon over Node's own libuv loop), a drop-in for
 * the pure-TypeScript loop, as uvloop is for asyncio:
 *
 * ```ts
 * import * as aio from 'aloop';
 * import { install, run } from 'aloop/native';
 * install();                      // every new loop is native from here on
 * await aio.run(main);            // or, without install(): await run(main); pass main, not main()
 * ```
 *
 * Importing this module never throws; when the addon is not built (or `ALOOP_FORCE_PURE=1`),
 * `isAvailable()` is false and everything else throws one error saying what was tried and how
 * to fix it.
 * @module aloop/native
 */
import { BaseDefaultEventLoopPolicy, setEventLoopPolicy } from './events.js';
import './policy.js';
import { run as runWith, type RunOptions } from './runners.js';
import type { CoroLike } from './tasks.js';
import { NativeEventLoop } from './loops/native/loop.js';
import { getBinding, isAvailable, NativeUnavailableError, unavailableReason } from './loops/native/binding.js';
// Installs globalThis[Symbol.for('aloop.introspect')], which `aloop ps` reads through the inspector.
import './introspect/snapshot.js';

export { NativeEventLoop, isAvailable, unavailableReason, NativeUnavailableError };

/** The policy whose loops are native (uvloop's `EventLoopPolicy`); only the factory differs. */
export class NativeEventLoopPolicy extends BaseDefaultEventLoopPolicy {
  protected _loopFactory(): NativeEventLoop {
    return new NativeEventLoop();
  }
}

/** Makes every new loop native: sets a {@link NativeEventLoopPolicy} (like `uvloop.install()`). */
export function install(): void {
  getBinding();
  setEventLoopPolicy(new NativeEventLoopPolicy());
}

/** A new native loop. */
export function newEventLoop(): NativeEventLoop {
  return new NativeEventLoop();
}

/** Runs `main` on a new native loop and closes it (like `uvloop.run()`); see `aloop`'s `run`. */
export function run<T>(main: CoroLike<T>, options: Omit<RunOptions, 'loopFactory'> = {}): Promise<T> {
  try {
    getBinding();
  } catch (e) {
    return Promise.reject(e);
  }
  return runWith(main, { ...options, loopFactory: newEventLoop });
}
