/**
 * The pure-TypeScript loop: timers in a binary heap, iterations scheduled on Node's own loop
 * with `setImmediate` (work is ready) or one `setTimeout` (the earliest timer), nothing when
 * idle, so it keeps the process alive exactly as pending Node timers would.
 */
import type { TimerEntry } from '../../events.js';
import { KeyedHeap } from '../../util/keyed-heap.js';
import { BaseEventLoop } from '../base.js';
import { RESOLVED } from '../../futures.js';
import { NodeBackend } from './backend.js';

/**
 * When work is ready after an iteration, the next one runs from `process.nextTick` (once the
 * microtask queue is empty: ~0.3 µs) instead of `setImmediate` (a whole Node loop turn: ~1-2 µs),
 * at most this many times in a row and for at most CHAIN_MS, then Node's loop gets its turn so
 * I/O and other Node callbacks are never held back longer than that.
 */
const MAX_CHAINED_ITERATIONS = 64;
const CHAIN_MS = 2;

/** Below this many timers, cancelled ones are only dropped when they reach the top. */
const MIN_SCHEDULED_TIMER_HANDLES = 100;
/** Above this fraction of cancelled timers, the heap is rebuilt without them (asyncio's). */
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;

export class PureEventLoop extends BaseEventLoop {
  /** Keyed by (when, seq): equal `when`s keep scheduling order. */
  readonly #timers = new KeyedHeap<TimerEntry>();
  #seq = 0;
  #cancelledCount = 0;
  #immediate: NodeJS.Immediate | null = null;
  #timeout: NodeJS.Timeout | null = null;
  #timeoutAt = Infinity;
  #chained = 0;
  #turnStart = 0;
  #closed = false;
  readonly #onImmediate = () => {
    this.#immediate = null;
    this.#chained = 0;
    this.#turnStart = performance.now();
    this._iterate();
  };
  readonly #onTick = () => {
    if (!this.#closed) this._iterate();
  };
  // Queued as a microtask so that the tick is queued only after the microtasks already there.
  readonly #tickAfterMicrotasks = () => process.nextTick(this.#onTick);
  readonly #onTimeout = () => {
    this.#timeout = null;
    this.#timeoutAt = Infinity;
    this.#chained = 0;
    this.#turnStart = performance.now();
    // A timer armed before an outside stop() may fire after it: a stopped loop runs nothing
    // (the next runForever collects what is due).
    if (!this._scheduled && this.isRunning()) this._iterate();
  };

  time(): number {
    return performance.now() / 1000;
  }

  /** @internal */
  protected _addTimer(h: TimerEntry): void {
    h._seq = this.#seq++;
    this.#timers.push(h, h._when, h._seq);
  }

  /** @internal */
  _timerHandleCancelled(h: TimerEntry): void {
    if (h._scheduled) this.#cancelledCount++;
  }

  /** @internal */
  protected _collectReady(): void {
    const heap = this.#timers;
    if (heap.length > MIN_SCHEDULED_TIMER_HANDLES && this.#cancelledCount / heap.length > MIN_CANCELLED_TIMER_HANDLES_FRACTION) {
      heap.filter((h) => {
        if (!h._cancelled) return true;
        h._scheduled = false;
        return false;
      });
      this.#cancelledCount = 0;
    }
    if (heap.length === 0) return;
    const now = this.time();
    const ready = this._ready;
    while (heap.peekKey() <= now) {
      const h = heap.pop()!;
      h._scheduled = false;
      if (h._cancelled) this.#cancelledCount--;
      else ready.push(h);
    }
  }

  /** @internal */
  protected _scheduleNext(): void {
    if (this._ready.length > 0) {
      this._scheduled = true;
      if (++this.#chained < MAX_CHAINED_ITERATIONS && performance.now() - this.#turnStart < CHAIN_MS) {
        RESOLVED.then(this.#tickAfterMicrotasks);
      } else {
        this.#immediate = setImmediate(this.#onImmediate);
      }
      return;
    }
    const next = this._nextTimer();
    if (next !== null) this._waitForTimer(next._when);
  }

  /** The earliest pending timer, or null; drops the cancelled ones on top. */
  protected _nextTimer(): TimerEntry | null {
    const heap = this.#timers;
    while (heap.length > 0 && heap.peek()!._cancelled) {
      heap.pop()!._scheduled = false;
      this.#cancelledCount--;
    }
    return heap.peek() ?? null;
  }

  /**
   * Nothing is ready and the earliest timer is due at `when`: iterate again then, or earlier if
   * I/O or a wake-up comes first. A virtual clock (aloop/testing) decides here instead.
   */
  protected _waitForTimer(when: number): void {
    if (this.#timeout !== null) {
      if (this.#timeoutAt <= when) return;
      clearTimeout(this.#timeout);
    }
    // Node's timers have 1 ms granularity and may fire up to 1 ms early by our clock; an
    // early wake-up finds nothing due and re-arms.
    const ms = Math.max(1, Math.ceil((when - this.time()) * 1000));
    this.#timeoutAt = when;
    this.#timeout = setTimeout(this.#onTimeout, Math.min(ms, 0x7fffffff));
  }

  /** @internal */
  override _timerCount(): number {
    return this.#timers.length - this.#cancelledCount;
  }

  /** @internal */
  protected _wake(): void {
    if (this.#immediate === null) this.#immediate = setImmediate(this.#onImmediate);
  }

  /** @internal */
  protected _newBackend(): NodeBackend {
    return new NodeBackend(this);
  }

  /** @internal */
  protected _closeResources(): void {
    this.#closed = true;
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    if (this.#timeout !== null) clearTimeout(this.#timeout);
    this.#immediate = this.#timeout = null;
    for (const h of this.#timers) h._dropped();
    this.#timers.filter(() => false);
  }
}
