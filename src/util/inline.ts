/**
 * Running a generator coroutine the way `await coro()` does in asyncio: inline, in the caller's
 * step, up to its first real suspension; only then does a Task take over the rest.
 *
 * Why not simply `loop.createTask(gen)`: a new Task's first step runs on the next iteration, so
 * `cond.wait()` would release the lock one iteration late, and a Task cancelled before its first
 * step throws into an unstarted generator, which skips its `finally` blocks (Condition.wait's
 * re-acquire among them). Priming the generator here avoids both.
 *
 *   startInline(gen)   gen.next() ──done──> a done Future
 *                            │ yields y (pending)
 *                            v
 *                      Task(drive(gen, y)), drive primed to `yield y`
 */
import { CancelledError } from '../errors.js';
import type { Future } from '../futures.js';
import type { AbstractEventLoop } from '../events.js';
import type { Coro } from '../tasks.js';
import { abortReason, doneFuture, failedFuture } from './waiter.js';

type Yielded = Future<unknown> | null | undefined;

/**
 * Drives `gen`, which is suspended waiting on `y`. Primed once by hand (to the first `yield y`),
 * so a cancellation before the Task's first step is thrown into `gen`, not into a fresh
 * generator. The Task's first step may come before `y` is done: then it waits properly.
 */
function* drive<T>(gen: Coro<T>, y: Yielded): Coro<T> {
  for (;;) {
    try {
      do yield y;
      while (y != null && !y.done());
    } catch (e) {
      const r = gen.throw(e);
      if (r.done) return r.value;
      y = r.value;
      continue;
    }
    return yield* gen;
  }
}

/** An abort turned into a cancellation of the task: rethrown as the signal's reason. */
function* translateAbort<T>(inner: Coro<T>, state: { aborted: boolean; signal: AbortSignal }): Coro<T> {
  try {
    return yield* inner;
  } catch (e) {
    if (state.aborted && e instanceof CancelledError) throw abortReason(state.signal);
    throw e;
  }
}

/** @internal Runs `gen` now up to its first suspension; the Future of its outcome. */
export function startInline<T>(loop: AbstractEventLoop, gen: Coro<T>, signal?: AbortSignal): Future<T> {
  if (signal?.aborted) {
    gen.return(undefined as T);
    return failedFuture(loop, abortReason(signal));
  }
  let r: IteratorResult<Yielded, T>;
  try {
    r = gen.next();
  } catch (e) {
    if (e instanceof CancelledError) {
      const f = loop.createFuture<T>();
      f.cancel(e.message);
      return f;
    }
    return failedFuture(loop, e);
  }
  if (r.done) return doneFuture(loop, r.value);
  if (signal === undefined) {
    const body = drive(gen, r.value);
    body.next();
    return loop.createTask(body);
  }
  const state = { aborted: false, signal };
  const body = translateAbort(drive(gen, r.value), state);
  body.next(); // primes both generators: translateAbort's try, then drive's `yield y`
  const task = loop.createTask(body);
  const onAbort = () => {
    state.aborted = true;
    task.cancel();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  task.addDoneCallback(() => signal.removeEventListener('abort', onAbort));
  return task;
}
