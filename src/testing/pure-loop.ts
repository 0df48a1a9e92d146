/**
 * The pure loop on a virtual clock (clock.ts): timers stay in the pure loop's heap, `time()` reads
 * the virtual clock, and where the real loop would arm a Node timer for the earliest one, the
 * clock decides when to jump to it.
 */
import type { Future } from '../futures.js';
import { PureEventLoop } from '../loops/pure/loop.js';
import { VirtualClock, type VirtualTimeOptions, advanceClock, checkVirtualTimeOptions } from './clock.js';

/** A pure-TypeScript event loop whose clock is virtual (see `newVirtualTimeLoop`). */
export class VirtualTimeLoop extends PureEventLoop {
  readonly #clock: VirtualClock;

  constructor(options?: VirtualTimeOptions) {
    const o = checkVirtualTimeOptions(options);
    super();
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

  /**
   * Lets `seconds` of virtual time pass: the timers due on the way run in order, each at its own
   * time, as if the program had run that long. Resolves once the clock is there. In manual mode
   * this is how the clock moves; in autojump mode it is a sleep.
   */
  advance(seconds: number): Future<void> {
    return advanceClock(this, this.#clock, seconds);
  }

  protected override _runOnce(): void {
    this.#clock.iterationStarted();
    super._runOnce();
  }

  protected override _waitForTimer(when: number): void {
    // Due already (callLater(0) made this iteration): no time has to pass.
    if (when <= this.#clock.now) this.#iterateSoon();
    else this.#clock.idle();
  }

  #jump(limit: number): boolean {
    const next = this._nextTimer();
    if (next === null) return false;
    const when = next._when;
    // A timer at Infinity never fires, as on a real clock.
    if (!(when <= limit) || when === Infinity) return false;
    if (when > this.#clock.now) this.#clock.now = when;
    this.#iterateSoon();
    return true;
  }

  #iterateSoon(): void {
    this._scheduled = true;
    this._wake();
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
