/** `toThread(fn, ...args)`: run a function on the running loop's default executor (asyncio's to_thread). */
import type { Future } from './futures.js';
import { getRunningLoop } from './events.js';
import type { ExecutorFunction } from './executors.js';

/**
 * Runs `fn(...args)` on a worker thread; resolves to its result. `fn` must be self-contained
 * (no captured variables), or `{ module, name }` naming an export.
 * @example await aio.toThread((n) => { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }, 1e8)
 */
export function toThread<R>(fn: ((...args: any[]) => R | PromiseLike<R>) | ExecutorFunction, ...args: unknown[]): Future<R> {
  return getRunningLoop().runInExecutor(null, fn as ExecutorFunction, ...args) as Future<R>;
}
