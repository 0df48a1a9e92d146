/**
 * shield(aw): protect an awaitable from the cancellation of whoever awaits it.
 */
import { Future } from './futures.js';
import { type CoroLike, checkCoroLike } from './coro.js';
import { currentTask, ensureFuture } from './task.js';
import { futureAddToAwaitedBy, futureDiscardFromAwaitedBy } from './introspect/edges.js';

/**
 * Protects `aw` from cancellation: cancelling the returned Future does not cancel `aw`
 * (which keeps running); the awaiter gets CancelledError.
 */
export function shield<T>(aw: CoroLike<T>): Future<T> {
  checkCoroLike(aw, 'aw');
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const loop = inner._loop;
  const outer = loop.createFuture<T>();
  // The call graph: the caller waits for the shielded work (asyncio's shield says so too).
  const waiter = currentTask(loop);
  if (waiter !== null) futureAddToAwaitedBy(inner, waiter);
  const innerDone = (f: Future<T>) => {
    if (waiter !== null) futureDiscardFromAwaitedBy(inner, waiter);
    if (outer.cancelled()) {
      if (!f.cancelled()) f.exception(); // retrieved: nobody else will look
      return;
    }
    if (f.cancelled()) outer.cancel();
    else {
      const e = f.exception();
      if (e !== undefined) outer.setException(e);
      else outer.setResult(f._result as T);
    }
  };
  inner.addDoneCallback(innerDone);
  outer.addDoneCallback(() => {
    if (waiter !== null) futureDiscardFromAwaitedBy(inner, waiter);
    if (!inner.done()) inner.removeDoneCallback(innerDone);
  });
  return outer;
}

