/**
 * One test body, every loop (uvloop's `_testbase.py` idea): `eachLoop` declares a describe block
 * per loop factory, and `lc.run(main)` runs `main` on a fresh loop of that kind exactly as
 * `aio.run` does, failing the test if the loop's exception handler was called unexpectedly.
 * `lc.runVirtual(main)` does the same on a loop of that kind with a virtual clock: for tests
 * whose timers matter but real time does not (sleeps of a test take no real time there).
 *
 * Teardown, as uvloop's: after every test on the native loop, each libuv handle the test opened
 * (the loop's own, sockets, listeners) must be closed, so a loop left open or a transport that
 * outlives its loop fails the test that leaked it.
 */
import { afterEach, beforeEach, describe, test } from 'vitest';
import * as aio from '../src/index.js';
import * as native from '../src/native.js';
import * as testing from '../src/testing.js';
import { getBinding } from '../src/loops/native/binding.js';

export interface LoopCase {
  /** 'pure' or 'native'. */
  readonly name: string;
  newLoop(): aio.AbstractEventLoop;
  /**
   * Runs `main` on a new loop (like `aio.run`). Exception-handler calls are collected into
   * `errors`; unless `allowErrors`, any call fails the run.
   */
  run<T>(main: aio.CoroLike<T>, options?: RunCaseOptions): Promise<T>;
  /** A loop of this kind with a virtual clock (aloop/testing). */
  newVirtualLoop(options?: testing.VirtualTimeOptions): testing.VirtualTimeEventLoop;
  /** `run` on a virtual-time loop of this kind: for tests of timing logic, not of real time. */
  runVirtual<T>(main: aio.CoroLike<T>, options?: RunCaseOptions & testing.VirtualTimeOptions): Promise<T>;
}

type RunCaseOptions = { allowErrors?: boolean; debug?: boolean; errors?: aio.ExceptionContext[] };

function makeCase(name: string, newLoop: () => aio.AbstractEventLoop): LoopCase {
  const newVirtualLoop = (o?: testing.VirtualTimeOptions) => testing.newVirtualTimeLoop({ ...o, native: name === 'native' });
  return {
    name,
    newLoop,
    newVirtualLoop,
    run(main, options) {
      return runOn(newLoop, main, options);
    },
    runVirtual(main, options = {}) {
      const { allowErrors, debug, errors, ...virtual } = options;
      return runOn(() => newVirtualLoop(virtual), main, { allowErrors, debug, errors });
    },
  };
}

async function runOn<T>(newLoop: () => aio.AbstractEventLoop, main: aio.CoroLike<T>, options: RunCaseOptions = {}): Promise<T> {
  const errors = options.errors ?? [];
  const factory = () => {
    const loop = newLoop();
    loop.setExceptionHandler((_l, ctx) => void errors.push(ctx));
    return loop;
  };
  const result = await aio.run(main, { loopFactory: factory, debug: options.debug });
  if (!options.allowErrors && errors.length > 0) {
    const e = errors[0]!;
    throw new Error(`unexpected exception handler call: ${e.message}${e.exception ? `: ${String(e.exception)}` : ''}`);
  }
  return result;
}

export const LOOPS: LoopCase[] = [makeCase('pure', () => new aio.PureEventLoop())];
if (native.isAvailable()) LOOPS.push(makeCase('native', () => new native.NativeEventLoop()));

/**
 * The native loop must be tested whenever it is not turned off on purpose: if the addon did not
 * load and ALOOP_FORCE_PURE is not 1, every suite gets one failing test saying why, so CI never
 * passes on the pure loop alone.
 */
const nativeMissing = !native.isAvailable() && process.env.ALOOP_FORCE_PURE !== '1' ? native.unavailableReason() : null;

/**
 * Fails the test if native libuv handles it opened are still open once their close callbacks had
 * time to run (they run on later turns of Node's loop: wait, boundedly).
 */
function checkNativeHandles(): void {
  const binding = getBinding();
  let before = 0;
  beforeEach(() => {
    before = binding.openHandles();
  });
  afterEach(async () => {
    // Close callbacks need a turn or two of Node's loop; a loaded machine may take longer.
    for (const end = Date.now() + 5000; binding.openHandles() > before && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const left = binding.openHandles() - before;
    if (left > 0) {
      throw new Error(`${left} libuv handle(s) of the native loop left open by this test: close the loop, its transports and servers`);
    }
  });
}

/** Declares `body(lc)` once per loop, each in its own describe block named after the loop. */
export function eachLoop(body: (lc: LoopCase) => void): void {
  for (const lc of LOOPS) {
    describe(`[${lc.name} loop]`, () => {
      if (lc.name === 'native') checkNativeHandles();
      body(lc);
    });
  }
  if (nativeMissing !== null) {
    describe('[native loop]', () => {
      test('the native addon loaded', () => {
        throw new Error(`${nativeMissing}\n(set ALOOP_FORCE_PURE=1 to test the pure loop alone)`);
      });
    });
  }
}
