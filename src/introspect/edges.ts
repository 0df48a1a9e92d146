/**
 * "Awaited by" edges that no await shows (asyncio 3.14's `future_add_to_awaited_by` and
 * `future_discard_from_awaited_by`).
 *
 * Most edges of the call graph are read off the tasks when it is asked for (awaits.ts): a task
 * waits on the Futures it yields or awaits, and through a gather or a timeout on what they wait
 * for. Some waits go through done callbacks instead: a TaskGroup's parent waits for the group's
 * tasks, `shield()`'s caller for the shielded work, `wait()` for every future it watches. Those
 * say so here. The table is a WeakMap, so nothing is kept alive by it, and a Future pays for it
 * only when something records an edge to it.
 */
import { Future } from '../futures.js';

const waitersOf = new WeakMap<Future<unknown>, Future<unknown> | Set<Future<unknown>>>();

/**
 * Records that `fut` is awaited by `waiter` (both Futures or Tasks; anything else is ignored, as in
 * asyncio). Pair it with {@link futureDiscardFromAwaitedBy} once the wait is over.
 */
export function futureAddToAwaitedBy(fut: unknown, waiter: unknown): void {
  if (!(fut instanceof Future) || !(waiter instanceof Future)) return;
  const w = waitersOf.get(fut);
  if (w === undefined) waitersOf.set(fut, waiter);
  else if (w instanceof Set) w.add(waiter);
  else if (w !== waiter) waitersOf.set(fut, new Set([w, waiter]));
}

/** Records that `fut` is no longer awaited by `waiter`. */
export function futureDiscardFromAwaitedBy(fut: unknown, waiter: unknown): void {
  if (!(fut instanceof Future)) return;
  const w = waitersOf.get(fut);
  if (w === undefined) return;
  if (w instanceof Set) {
    w.delete(waiter as Future<unknown>);
    if (w.size === 0) waitersOf.delete(fut);
  } else if (w === waiter) waitersOf.delete(fut);
}

/** The waiters recorded for `fut`. */
export function recordedWaiters(fut: Future<unknown>): Future<unknown>[] {
  const w = waitersOf.get(fut);
  if (w === undefined) return [];
  return w instanceof Set ? [...w] : [w];
}
