/**
 * Waiter: the Future a blocked `acquire()`/`get()`/`put()` returns, which knows its owner.
 *
 *   pending ──grant──> granted ──result()/exception()──> consumed
 *      │                  │
 *   cancel/abort       cancel (before anyone read the grant)
 *      v                  v
 *   owner._dropWaiter  owner._revokeWaiter: the grant goes back (the lock to the next waiter,
 *                      the item back to the queue), and cancel() still returns false
 *
 * Why: an owner grants by resolving the Future (the lock is handed over, the item given). The
 * awaiting task is then only queued; if it is cancelled before it runs, `Task.cancel()` calls
 * `cancel()` on the Future it waits on, which is already done, and the task wakes with
 * CancelledError. Without the revoke step the grant would be lost with it (asyncio's
 * `test_locks` "cancelled while being woken" cases). The awaiter reads the outcome with
 * `result()` or `exception()` (both coroutine drivers, gather, shield, waitFor do), which marks
 * the grant consumed, so a later `cancel()` on a used grant does nothing.
 */
import { Future } from '../futures.js';
import type { AbstractEventLoop } from '../events.js';

export interface WaiterOwner {
  /** @internal A pending waiter was cancelled or aborted: forget it. */
  _dropWaiter(w: Waiter<any>): void;
  /** @internal A granted waiter was cancelled before its awaiter read the grant: take the grant back. */
  _revokeWaiter(w: Waiter<any>): void;
  /** @internal The awaiter read the grant. */
  _consumeWaiter(w: Waiter<any>): void;
}

const GRANTED = 1;
const CONSUMED = 2;

/** What waiting APIs accept besides their own arguments. */
export interface SignalOptions {
  /**
   * Aborting it while waiting rejects the wait with `signal.reason` (an `AbortError` unless the
   * aborter gave one) and removes the waiter. A wait that already succeeded is not undone.
   */
  signal?: AbortSignal;
}

/** The reason an aborted signal gives (an AbortError if it has none). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export function checkWaitOptions(options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, not ${options === null ? 'null' : typeof options}`);
  }
  const signal = (options as SignalOptions).signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  return signal;
}

export class Waiter<T> extends Future<T> {
  /** @internal */ _owner: WaiterOwner;
  /** @internal What the owner needs to remember per waiter: the item of a put, a grant's value. */
  _payload: unknown;
  /** @internal */ _flags = 0;
  /** @internal */ _signal: AbortSignal | null = null;
  /** @internal */ _onAbort: (() => void) | null = null;

  constructor(loop: AbstractEventLoop, owner: WaiterOwner, payload: unknown, signal: AbortSignal | undefined) {
    super({ loop });
    this._owner = owner;
    this._payload = payload;
    if (signal !== undefined) {
      this._signal = signal;
      this._onAbort = () => {
        if (this._state !== 0) return;
        this.#unwatch();
        this.setException(abortReason(signal));
        this._owner._dropWaiter(this);
      };
      signal.addEventListener('abort', this._onAbort, { once: true });
    }
  }

  /** @internal Resolves with `value`: the owner handed over what was waited for. */
  _grant(value: T): void {
    this.#unwatch();
    this._flags |= GRANTED;
    this.setResult(value);
  }

  /** @internal */
  _fail(e: unknown): void {
    this.#unwatch();
    this.setException(e);
  }

  /** @internal Granted and not read yet. */
  get _unconsumedGrant(): boolean {
    return (this._flags & (GRANTED | CONSUMED)) === GRANTED;
  }

  override cancel(msg?: string): boolean {
    if (this._state === 0) {
      this.#unwatch();
      super.cancel(msg);
      this._owner._dropWaiter(this);
      return true;
    }
    if (this._unconsumedGrant) {
      this._flags |= CONSUMED;
      this._owner._revokeWaiter(this);
    }
    return false;
  }

  override result(): T {
    this.#consume();
    return super.result();
  }

  override exception(): unknown {
    this.#consume();
    return super.exception();
  }

  #consume(): void {
    if ((this._flags & (GRANTED | CONSUMED)) === GRANTED) {
      this._flags |= CONSUMED;
      this._owner._consumeWaiter(this);
    }
  }

  #unwatch(): void {
    if (this._signal !== null) {
      this._signal.removeEventListener('abort', this._onAbort!);
      this._signal = null;
      this._onAbort = null;
    }
  }
}

/** A Future of `loop` already resolved with `value`. */
export function doneFuture<T>(loop: AbstractEventLoop, value: T): Future<T> {
  const f = loop.createFuture<T>();
  f.setResult(value);
  return f;
}

/** A Future of `loop` already failed with `e`. */
export function failedFuture<T>(loop: AbstractEventLoop, e: unknown): Future<T> {
  const f = loop.createFuture<T>();
  f.setException(e);
  return f;
}
