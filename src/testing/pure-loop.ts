/**
 * The pure loop on a virtual clock (clock.ts): timers stay in the pure loop's heap, `time()` reads
 * the virtual clock, and where the real loop would arm a Node timer for the earliest one, the
 * clock decides when to jump to it.
 */
import { PureEventLoop } from '../loops/pure/loop.js';
import { type VirtualTimeOptions, checkVirtualTimeOptions } from './clock.js';
import { withVirtualClock } from './virtual-loop.js';

/** A pure-TypeScript event loop whose clock is virtual (see `newVirtualTimeLoop`). */
export class VirtualTimeLoop extends withVirtualClock(PureEventLoop) {
  constructor(options?: VirtualTimeOptions) {
    super(checkVirtualTimeOptions(options));
  }

  protected override _waitForTimer(when: number): void {
    // Due already (callLater(0) made this iteration): no time has to pass.
    if (when <= this._clock.now) this.#iterateSoon();
    else this._clock.idle();
  }

  /** @internal */
  override _jumpTimers(limit: number): boolean {
    const next = this._nextTimer();
    if (next === null) return false;
    const when = next._when;
    // A timer at Infinity never fires, as on a real clock.
    if (!(when <= limit) || when === Infinity) return false;
    if (when > this._clock.now) this._clock.now = when;
    this.#iterateSoon();
    return true;
  }

  #iterateSoon(): void {
    this._scheduled = true;
    this._wake();
  }
}
