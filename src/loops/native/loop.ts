/**
 * The native loop: BaseEventLoop's ready queue and callbacks in JS, with timers in a C++
 * hierarchical wheel and iterations driven by the addon's libuv handles on Node's own loop
 * (native/loop.h). One crossing per iteration: C++ fires due timers into a shared array and
 * calls JS once (MakeCallback, so microtasks and nextTicks drain when it returns); timer inserts
 * and cancels go the other way through a shared op buffer that C++ applies at each iteration.
 *
 * Measured on this machine (Node 20, bench `timers-1m`: 1M callLater with random delays 0-50 ms,
 * scheduled and fired; medians of 5 fresh processes, two sessions): native 490-650 ns/timer, pure
 * 850-980. Of the native figure about 210 ns is V8's scavenger copying the million live
 * TimerHandles and ~40 ns the clock read in callLater, both paid by the pure loop too; the wheel
 * costs ~30 ns per insert and ~40 ns per fire (native/timer_wheel.h), the heap O(log n) pops.
 */
import type { TimerEntry } from '../../events.js';
import { BaseEventLoop } from '../base.js';
import { type NativeBinding, type NativeLoopHandle, getBinding } from './binding.js';
import { DUE_CAPACITY, MAX_TIMERS, Next, OP_CAPACITY, S } from './shared.js';
import { NativeBackend } from './backend.js';

/** An asyncio event loop whose timers and scheduling run in the native addon. */
export class NativeEventLoop extends BaseEventLoop {
  readonly #binding: NativeBinding;
  /** The I/O backend once the first I/O made it (BaseEventLoop._io). */
  #backend: NativeBackend | null = null;
  readonly #tick: () => void;
  readonly #clock: Float64Array;
  readonly #native: NativeLoopHandle;
  // C++'s memory (shared.ts), read from the handle once.
  readonly #state: Int32Array;
  readonly #opIds: Int32Array;
  readonly #opWhen: Float64Array;
  readonly #due: Int32Array;
  /** Timer id (slot) → its handle, null when free. */
  #timers: (TimerEntry | null)[] = [];
  /** Free timer ids, reused last-freed first (they stay small, so C++'s table stays small). */
  #free: number[] = [];
  /** @internal The last timer the latest iteration collected (the latest `when`: a virtual clock reads it). */
  protected _lastDue: TimerEntry | null = null;

  /**
   * Throws the loader's error (what was tried, how to fix it) when the addon is not available.
   * `_virtualStart` (internal, aloop/testing): the timer wheel runs on a virtual clock from there.
   */
  constructor(_virtualStart?: number) {
    super();
    const binding: NativeBinding = getBinding();
    this.#binding = binding;
    this.#tick = binding.tick;
    this.#clock = binding.clock;
    const native =
      _virtualStart === undefined
        ? new binding.Loop(this.#onIterate, OP_CAPACITY, DUE_CAPACITY)
        : new binding.Loop(this.#onIterate, OP_CAPACITY, DUE_CAPACITY, _virtualStart);
    this.#native = native;
    this.#state = native.state;
    this.#opIds = native.opIds;
    this.#opWhen = native.opWhen;
    this.#due = native.due;
  }

  /** Seconds of the monotonic clock the timer wheel also reads (libuv's `uv_hrtime`). */
  time(): number {
    this.#tick();
    return this.#clock[0]!;
  }

  /** Called by C++ once per loop iteration. */
  readonly #onIterate = (): void => {
    if (this.isRunning()) {
      this._iterate();
    } else {
      // Timers that fell due while the loop was stopping: keep them for the next run.
      this._collectReady();
    }
  };

  /** @internal */
  protected _collectReady(): void {
    // I/O first, then due timers (asyncio's order).
    if (this.#backend !== null) this.#backend.collect();
    const state = this.#state;
    let n = state[S.dueCount]!;
    if (n === 0) return;
    const due = this.#due;
    const timers = this.#timers;
    const free = this.#free;
    const ready = this._ready;
    for (;;) {
      // The handles are not touched here (each is a cache miss in a big batch; running it is
      // another): a fired handle keeps its stale `_id`, and `timers[id] !== h` tells.
      for (let i = 0; i < n; i++) {
        const id = due[i]!;
        ready.push(timers[id]!);
        timers[id] = null;
        free.push(id);
      }
      if (state[S.dueMore] === 0) break;
      n = this.#native.more();
    }
    state[S.dueCount] = 0;
    this._lastDue = ready.peekLast() as TimerEntry;
  }

  /**
   * @internal Virtual time only: moves the wheel's clock to the first timers due by `limit`
   * seconds and queues them for the next iteration; false if none is (native/loop.h `Jump`).
   */
  protected _jump(limit: number): boolean {
    return this.#native.jump(limit);
  }

  /** @internal */
  protected _scheduleNext(): void {
    const next = this._ready.length > 0 ? Next.ready : Next.wait;
    if (next === Next.ready) this._scheduled = true;
    // Inside an iteration C++ started, C++ reads `next` when JS returns: no call needed.
    if (this.#state[S.inDispatch] === 1) this.#state[S.next] = next;
    else this.#native.schedule(next);
  }

  /** @internal */
  override _timerCount(): number {
    return this.#timers.length - this.#free.length;
  }

  /** @internal The addon's libuv handles on this thread not yet closed (introspection). */
  _handleCount(): number {
    return this.#binding.openHandles();
  }

  /** @internal */
  protected _wake(): void {
    this.#native.wake();
  }

  /** @internal */
  protected _addTimer(h: TimerEntry): void {
    const timers = this.#timers;
    let id: number;
    if (this.#free.length > 0) {
      id = this.#free.pop()!;
      timers[id] = h;
    } else {
      id = timers.length;
      // The wheel's table is indexed by id (native/timer_wheel.h): 16M live timers at most.
      if (id >= MAX_TIMERS) throw new RangeError(`the native loop holds at most ${MAX_TIMERS} pending timers`);
      timers.push(h);
    }
    h._id = id;
    this.#op(id, h._when);
  }

  /** @internal */
  _timerHandleCancelled(h: TimerEntry): void {
    const id = h._id;
    if (id < 0 || this.#timers[id] !== h) return; // already fired (its id may be reused)
    this.#timers[id] = null;
    this.#free.push(id);
    h._id = -1;
    h._scheduled = false;
    this.#op(~id, 0);
  }

  #op(id: number, when: number): void {
    const state = this.#state;
    const n = state[S.nops]!;
    this.#opIds[n] = id;
    this.#opWhen[n] = when;
    state[S.nops] = n + 1;
    if (n + 1 === OP_CAPACITY) this.#native.flush();
  }

  /** @internal */
  protected _newBackend(): NativeBackend {
    return (this.#backend = new NativeBackend(this, this.#binding, this.#native));
  }

  /** @internal */
  protected _closeResources(): void {
    this.#native.close();
    const timers = this.#timers;
    this.#timers = [];
    this.#free = [];
    for (const h of timers) {
      if (h === null) continue;
      h._id = -1;
      h._dropped();
    }
  }
}
