/**
 * `timeout(delay, body)` / `timeoutAt(when, body)`: asyncio's `async with asyncio.timeout()`
 * as a function. The body runs as a Task; at the deadline it is cancelled and, if it ends
 * cancelled, the awaiter gets `TimeoutError`. Cancelling the returned Future cancels the body.
 */
import { TimeoutError } from './errors.js';
import { Future } from './futures.js';
import { type AbstractEventLoop, type Handle, getRunningLoop, describe } from './events.js';
import { type Coro, type CoroLike, checkCoroLike, ensureFuture } from './tasks.js';

type State = 'created' | 'entered' | 'expiring' | 'expired' | 'exited';

/** The deadline of one `timeout()` body; the body receives it to read or move it. */
export class Timeout {
  #when: number | null;
  #state: State = 'created';
  #handle: Handle | null = null;
  #loop: AbstractEventLoop;
  #task: Future<unknown> | null = null;

  /** @internal */
  constructor(when: number | null, loop: AbstractEventLoop) {
    this.#when = when;
    this.#loop = loop;
  }

  /** The deadline in loop time, or null for none. */
  when(): number | null {
    return this.#when;
  }

  /** Moves the deadline (null removes it). */
  reschedule(when: number | null): void {
    if (when !== null) checkWhen(when, 'when');
    if (this.#state === 'exited' || this.#state === 'expired' || this.#state === 'expiring') {
      throw new Error(`Cannot reschedule a timeout that is ${this.#state}`);
    }
    this.#when = when;
    this.#handle?.cancel();
    this.#handle = null;
    if (when === null || this.#state !== 'entered') return;
    if (when <= this.#loop.time()) this.#handle = this.#loop.callSoon(this.#onTimeout);
    else this.#handle = this.#loop.callAt(when, this.#onTimeout);
  }

  /** Whether the deadline passed and the body was cancelled for it. */
  expired(): boolean {
    return this.#state === 'expiring' || this.#state === 'expired';
  }

  /** @internal */
  _enter(task: Future<unknown>): void {
    this.#task = task;
    this.#state = 'entered';
    this.reschedule(this.#when);
  }

  /** @internal The body ended; true if it ended because of this deadline. */
  _exit(bodyCancelled: boolean): boolean {
    this.#handle?.cancel();
    this.#handle = null;
    if (this.#state === 'expiring') {
      this.#state = 'expired';
      return bodyCancelled;
    }
    this.#state = 'exited';
    return false;
  }

  readonly #onTimeout = (): void => {
    this.#handle = null;
    // A body already done has left the block: asyncio's __aexit__ would have run, in the same
    // step, and cancelled this handle (a body that never suspends, under an expired deadline).
    if (this.#state !== 'entered' || this.#task!.done()) return;
    this.#state = 'expiring';
    this.#task!.cancel();
  };

  toString(): string {
    return `<Timeout [${this.#state}] when=${this.#when}>`;
  }
}

function checkWhen(v: unknown, name: string): void {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number (seconds) or null, not ${describe(v)}`);
  if (Number.isNaN(v)) throw new RangeError(`${name} must not be NaN`);
}

/** The body of a timeout: a CoroLike, or a function given the Timeout that returns one. */
export type TimeoutBody<T> = CoroLike<T> | ((t: Timeout) => Coro<T> | PromiseLike<T>);

/**
 * @internal A Future that cancels `inner` when cancelled and settles as `map(inner)` decides (the
 * call graph looks through it to `inner`).
 */
export class LinkedFuture<T> extends Future<T> {
  /** @internal */ _inner: Future<unknown> | null = null;
  /** @internal Cancelled by its awaiter: then a cancelled body is not a timeout. */
  _cancelRequested = false;

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    if (!this._inner!.cancel(msg)) return false;
    this._cancelRequested = true;
    return true;
  }
}

/** Runs `body` with a deadline `delay` seconds from now (null: no deadline). */
export function timeout<T>(delay: number | null, body: TimeoutBody<T>): Future<T> {
  if (delay !== null) checkWhen(delay, 'delay');
  const loop = getRunningLoop();
  return timeoutAt(delay === null ? null : loop.time() + delay, body);
}

/** Runs `body` with a deadline at loop time `when` (null: no deadline). */
export function timeoutAt<T>(when: number | null, body: TimeoutBody<T>): Future<T> {
  if (when !== null) checkWhen(when, 'when');
  const loop = getRunningLoop();
  const cm = new Timeout(when, loop);
  let inner: Future<T>;
  if (typeof body === 'function') {
    const fn = body as (t: Timeout) => Coro<T> | PromiseLike<T>;
    // A generator function is called now (no task context needed); others inside their task.
    inner = fn.constructor.name === 'GeneratorFunction' ? loop.createTask(fn(cm) as Coro<T>) : loop.createTask(() => fn(cm));
  } else {
    checkCoroLike(body, 'body');
    inner = ensureFuture(body, loop);
  }
  const outer = new LinkedFuture<T>({ loop });
  outer._inner = inner;
  cm._enter(inner);
  inner.addDoneCallback((f) => {
    const expired = cm._exit(f.cancelled());
    if (outer.done()) {
      if (!f.cancelled()) f.exception();
      return;
    }
    // Expired, unless the awaiter cancelled too (asyncio: `uncancel() > cancelling`): then the
    // cancellation is the caller's and propagates.
    if (expired && !outer._cancelRequested) outer.setException(new TimeoutError('', { cause: f._makeCancelledError() }));
    else if (f.cancelled()) Future.prototype.cancel.call(outer, f._cancelMessage);
    else {
      const e = f.exception();
      if (e !== undefined) outer.setException(e);
      else outer.setResult(f.result());
    }
  });
  return outer;
}
