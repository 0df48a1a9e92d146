/**
 * gather(...aws): run awaitables concurrently and collect their results in order (asyncio's
 * `gather`, with its duplicate and cancellation rules).
 */
import { Future } from './futures.js';
import { type AbstractEventLoop, type Runnable, getEventLoop } from './events.js';
import { type CoroLike, checkCoroLike, isCoroutine, isThenable } from './coro.js';
import { ensureFuture } from './task.js';

/** @internal The Future `gather` returns (the call graph looks through it to the children). */
export class GatheringFuture<T> extends Future<T> {
  /** @internal */ _children: Future<unknown>[];
  /** @internal */ _cancelRequested = false;

  constructor(children: Future<unknown>[], loop: AbstractEventLoop) {
    super({ loop });
    this._children = children;
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    let ret = false;
    for (const child of this._children) if (child.cancel(msg)) ret = true;
    // If any child was cancelled, the outcome is decided when it reports back: cancellation
    // is propagated then (regardless of returnExceptions).
    if (ret) this._cancelRequested = true;
    return ret;
  }
}

export interface GatherOptions {
  /** Failures become results instead of failing the gather. @default false */
  returnExceptions?: boolean;
}

/**
 * Runs awaitables concurrently; resolves to their results in order. Either
 * `gather(a, b, c)` or `gather([a, b, c], { returnExceptions })`.
 */
export function gather<T extends readonly unknown[]>(...aws: { [K in keyof T]: CoroLike<T[K]> }): Future<T>;
export function gather<T>(aws: Iterable<CoroLike<T>>, options?: GatherOptions): Future<T[]>;
export function gather(...args: unknown[]): Future<unknown[]> {
  let aws: unknown[];
  let returnExceptions = false;
  if (
    args.length >= 1 &&
    args.length <= 2 &&
    Array.isArray(args[0]) &&
    (args.length === 1 || args[1] === undefined || (typeof args[1] === 'object' && !isCoroutine(args[1]) && !(args[1] instanceof Future) && !isThenable(args[1])))
  ) {
    aws = args[0] as unknown[];
    const opts = args[1] as GatherOptions | undefined;
    returnExceptions = !!opts?.returnExceptions;
  } else {
    aws = args;
  }
  if (aws.length === 0) {
    // asyncio: the running loop, else the current one (getEventLoop throws, with the way out,
    // when there is neither: never a loop that nobody will run).
    const f = getEventLoop().createFuture<unknown[]>();
    f.setResult([]);
    return f;
  }
  for (let i = 0; i < aws.length; i++) {
    const a = aws[i];
    // The name is only made when the check fails (no string per child on the happy path).
    if (!(a instanceof Future || typeof a === 'function' || isCoroutine(a) || isThenable(a))) checkCoroLike(a, `aws[${i}]`);
  }
  const seen = new Map<unknown, Future<unknown>>();
  const children: Future<unknown>[] = new Array(aws.length);
  let factories = 0;
  let loop: AbstractEventLoop | null = null;
  for (let i = 0; i < aws.length; i++) {
    const a = aws[i];
    // The same coroutine object or Future twice is one child (asyncio); a function is a
    // factory, so each occurrence starts its own task.
    let f = typeof a === 'function' ? undefined : seen.get(a);
    if (f === undefined) {
      f = ensureFuture(a as CoroLike<unknown>, loop ?? undefined);
      loop ??= f._loop;
      if (typeof a !== 'function') seen.set(a, f);
      else factories++;
    }
    children[i] = f;
  }
  const outer = new GatheringFuture<unknown[]>(children, loop!);
  const nfuts = children.length;
  let nfinished = 0;
  const onDone = (fut: Future<unknown>) => {
    nfinished++;
    if (outer.done()) {
      if (!fut.cancelled()) fut.exception(); // mark retrieved: the outer already failed
      return;
    }
    if (!returnExceptions) {
      if (fut.cancelled()) {
        outer.setException(fut._makeCancelledError());
        return;
      }
      const exc = fut.exception();
      if (exc !== undefined) {
        outer.setException(exc);
        return;
      }
    }
    if (nfinished === nfuts) {
      const results: unknown[] = new Array(nfuts);
      for (let i = 0; i < nfuts; i++) {
        const c = children[i]!;
        if (c.cancelled()) results[i] = c._makeCancelledError();
        else {
          const e = c.exception();
          results[i] = e !== undefined ? e : c._result;
        }
      }
      if (outer._cancelRequested) outer.setException(fut._makeCancelledError());
      else outer.setResult(results);
    }
  };
  // Distinct arguments give distinct children, so the children are all distinct unless an
  // argument repeated; then a child awaited twice counts twice.
  if (seen.size + factories === nfuts) {
    for (const c of children) c._addWaiter(new GatherWaiter(c, onDone));
  } else {
    for (const c of children) c.addDoneCallback(onDone);
  }
  return outer;
}

/** One child of a gather, queued when the child is done: one object instead of a Handle and its
 * argument array per child. */
class GatherWaiter implements Runnable {
  readonly _cancelled = false;
  constructor(
    readonly fut: Future<unknown>,
    readonly onDone: (f: Future<unknown>) => void,
  ) {}

  _run(): void {
    this.onDone(this.fut);
  }
}
