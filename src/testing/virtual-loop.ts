/**
 * What the pure and the native virtual-time loops share: a VirtualClock (clock.ts) hooked into a
 * real loop class. Each loop adds only what differs: how a jump queues the timers due
 * (`_jumpTimers`), and where an iteration that leaves nothing ready hands over to the clock.
 */
import type { Future } from '../futures.js';
import { BaseEventLoop } from '../loops/base.js';
import { VirtualClock, type VirtualTimeOptions, advanceClock } from './clock.js';

/** What `withVirtualClock` adds to a loop class. */
export interface VirtualClockMembers {
  /** Whether the clock jumps by itself (false: manual mode, it moves only with `advance`). */
  readonly autojump: boolean;
  /**
   * Lets `seconds` of virtual time pass: the timers due on the way run in order, each at its own
   * time, as if the program had run that long. Resolves once the clock is there. In manual mode
   * this is how the clock moves; in autojump mode it is a sleep.
   */
  advance(seconds: number): Future<void>;
  /** @internal */
  readonly _clock: VirtualClock;
  /** @internal What the clock asks of the loop on a jump (ClockHost.jump); each loop provides it. */
  _jumpTimers(limit: number): boolean;
}

// A mixin's base class must take `...args: any[]` (TS2545).
type LoopClass<L extends BaseEventLoop> = abstract new (...args: any[]) => L;

// A loop class as the mixin sees it: any constructor arguments, and its own `_closeResources`
// to call. A declaration only: nothing of it is emitted.
declare abstract class AnyLoop extends BaseEventLoop {
  constructor(...args: any[]);
  protected _closeResources(): void;
}

/**
 * `Loop` on a virtual clock: its constructor takes the checked options first, then `Loop`'s own
 * arguments. The return type is spelled out because declaration files cannot describe a class
 * expression with protected members (TS4094).
 */
export function withVirtualClock<L extends BaseEventLoop>(Loop: LoopClass<L>): LoopClass<L & VirtualClockMembers> {
  abstract class VirtualClockLoop extends (Loop as unknown as typeof AnyLoop) {
    readonly _clock: VirtualClock;

    constructor(...args: any[]) {
      super(...args.slice(1));
      this._clock = new VirtualClock(args[0] as Required<VirtualTimeOptions>, {
        jump: (limit) => this._jumpTimers(limit),
        isRunning: () => this.isRunning(),
        isClosed: () => this.isClosed(),
      });
    }

    abstract _jumpTimers(limit: number): boolean;

    /** The virtual clock, in seconds. */
    override time(): number {
      return this._clock.now;
    }

    get autojump(): boolean {
      return this._clock.autojump;
    }

    advance(seconds: number): Future<void> {
      return advanceClock(this, this._clock, seconds);
    }

    protected override _runOnce(): void {
      this._clock.iterationStarted();
      super._runOnce();
    }

    override _holdClock(foreignPromise: boolean): void {
      this._clock.hold(foreignPromise);
    }

    override _releaseClock(foreignPromise: boolean): void {
      this._clock.release(foreignPromise);
    }

    override _ioOpened(): void {
      this._clock.ioOpened();
    }

    override _ioClosed(): void {
      this._clock.ioClosed();
    }

    protected override _closeResources(): void {
      this._clock.close();
      super._closeResources();
    }
  }
  return VirtualClockLoop as unknown as LoopClass<L & VirtualClockMembers>;
}
