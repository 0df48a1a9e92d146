/**
 * The native loop on a virtual clock (clock.ts): timers stay in the C++ timer wheel, which then
 * counts virtual microseconds and never arms a libuv timer (native/loop.h); the clock asks the
 * wheel to jump. The wheel's resolution is one microsecond: timers due within the same
 * microsecond fire together, and the clock then reads the latest of their `when`s.
 */
import { NotImplementedError } from '../errors.js';
import { getBinding } from '../loops/native/binding.js';
import { NativeEventLoop } from '../loops/native/loop.js';
import { type VirtualTimeOptions, checkVirtualTimeOptions } from './clock.js';
import { withVirtualClock } from './virtual-loop.js';

/** The native event loop with a virtual clock (see `newVirtualTimeLoop`). */
export class NativeVirtualTimeLoop extends withVirtualClock(NativeEventLoop) {
  /** Throws the loader's error when the addon is not available. */
  constructor(options?: VirtualTimeOptions) {
    const o = checkVirtualTimeOptions(options);
    if (typeof (getBinding().Loop.prototype as { jump?: unknown }).jump !== 'function') {
      throw new NotImplementedError(
        'the native addon loaded here was built without virtual time (no Loop.jump): rebuild it (npm rebuild aloop), ' +
          'or use the pure loop (newVirtualTimeLoop({ native: false }))',
      );
    }
    super(o, o.start);
  }

  protected override _collectReady(): void {
    super._collectReady();
    const last = this._lastDue;
    if (last === null) return;
    this._lastDue = null;
    // Timers fire by whole microseconds: keep time() >= the `when` of every timer that fired.
    if (last._when > this._clock.now) this._clock.now = last._when;
  }

  protected override _scheduleNext(): void {
    super._scheduleNext();
    if (this._ready.length > 0) return;
    // Due already (callLater(0) made this iteration): no time has to pass.
    if (!this._jumpTimers(this._clock.now)) this._clock.idle();
  }

  /** @internal */
  override _jumpTimers(limit: number): boolean {
    if (!this._jump(limit)) return false;
    this._scheduled = true;
    this._wake();
    return true;
  }
}
