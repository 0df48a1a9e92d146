/** `toThread(fn, ...args)`: run a function on the running loop's default executor (asyncio's to_thread). */
import type { Future } from './futures.js';
import { getRunningLoop } from './events.js';
import type { ExecutorFunction } from './executors.js';

/**
 * Runs `fn(...args)` on a worker thread of the loop's default executor; resolves to its result.
 * `fn` must be self-contained (no captured variables), or `{ module, name }` naming an export of
 * a built-in module, a package, a `file:` URL or a path (see {@link ExecutorFunction}).
 * @example await aio.toThread((n) => { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }, 1e8)
 * @example await aio.toThread({ module: 'node:os', name: 'cpus' })
 */
export function toThread<R>(fn: ((...args: any[]) => R | PromiseLike<R>) | ExecutorFunction, ...args: unknown[]): Future<R> {
  return getRunningLoop().runInExecutor(null, fn as ExecutorFunction, ...args) as Future<R>;
}
