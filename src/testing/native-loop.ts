/**
 * The native loop on a virtual clock (clock.ts): timers stay in the C++ timer wheel, which then
 * counts virtual microseconds and never arms a libuv timer (native/loop.h); the clock asks the
 * wheel to jump. The wheel's resolution is one microsecond: timers due within the same
 * microsecond fire together, and the clock then reads the latest of their `when`s.
 */
import { NotImplementedError } from '../errors.js';
import type { Future } from '../futures.js';
import { getBinding } from '../loops/native/binding.js';
import { NativeEventLoop } from '../loops/native/loop.js';
import { VirtualClock, type VirtualTimeOptions, advanceClock, checkVirtualTimeOptions } from './clock.js';

/** The native event loop with a virtual clock (see `newVirtualTimeLoop`). */
export class NativeVirtualTimeLoop extends NativeEventLoop {
  readonly #clock: VirtualClock;

  /** Throws the loader's error when the addon is not available. */
  constructor(options?: VirtualTimeOptions) {
    const o = checkVirtualTimeOptions(options);
    if (typeof (getBinding().Loop.prototype as { jump?: unknown }).jump !== 'function') {
      throw new NotImplementedError(
        'the native addon loaded here was built without virtual time (no Loop.jump): rebuild it (npm rebuild aloop), ' +
          'or use the pure loop (newVirtualTimeLoop({ native: false }))',
      );
    }
    super(o.start);
    this.#clock = new VirtualClock(o, {
      jump: (limit) => this.#jump(limit),
      isRunning: () => this.isRunning(),
      isClosed: () => this.isClosed(),
    });
  }

  /** The virtual clock, in seconds. */
  override time(): number {
    return this.#clock.now;
  }

  /** Whether the clock jumps by itself (false: manual mode, it moves only with `advance`). */
  get autojump(): boolean {
    return this.#clock.autojump;
  }

  /** As `VirtualTimeLoop.advance`. */
  advance(seconds: number): Future<void> {
    return advanceClock(this, this.#clock, seconds);
  }

  protected override _runOnce(): void {
    this.#clock.iterationStarted();
    super._runOnce();
  }

  protected override _collectReady(): void {
    super._collectReady();
    const last = this._lastDue;
    if (last === null) return;
    this._lastDue = null;
    // Timers fire by whole microseconds: keep time() >= the `when` of every timer that fired.
    if (last._when > this.#clock.now) this.#clock.now = last._when;
  }

  protected override _scheduleNext(): void {
    super._scheduleNext();
    if (this._ready.length > 0) return;
    // Due already (callLater(0) made this iteration): no time has to pass.
    if (!this.#jump(this.#clock.now)) this.#clock.idle();
  }

  #jump(limit: number): boolean {
    if (!this._jump(limit)) return false;
    this._scheduled = true;
    this._wake();
    return true;
  }

  override _holdClock(foreignPromise: boolean): void {
    this.#clock.hold(foreignPromise);
  }

  override _releaseClock(foreignPromise: boolean): void {
    this.#clock.release(foreignPromise);
  }

  override _ioOpened(): void {
    this.#clock.ioOpened();
  }

  override _ioClosed(): void {
    this.#clock.ioClosed();
  }

  protected override _closeResources(): void {
    this.#clock.close();
    super._closeResources();
  }
}
