/**
 * `run(main)` and `Runner` (asyncio's runners.py): make a loop, run one coroutine to its end,
 * then cancel what is left, shut down, close the loop.
 */
import {
  type AbstractEventLoop,
  _HOW_TO_START,
  _getRunningLoop,
  newEventLoop,
  setEventLoop,
  describe,
} from './events.js';
import { Future } from './futures.js';
import { type CoroLike, type Task, allTasks, gather } from './tasks.js';

export interface RunOptions {
  /** Run the loop in debug mode. @default undefined (the loop's own default) */
  debug?: boolean;
  /** Makes the loop; defaults to the current policy's `newEventLoop()`. */
  loopFactory?: (() => AbstractEventLoop) | null;
}

/** Runs several coroutines on one loop, then closes it: `await using r = new Runner()`. */
export class Runner {
  #state: 'initialized' | 'closed' | 'created' = 'created';
  #debug: boolean | undefined;
  #loopFactory: (() => AbstractEventLoop) | null;
  #loop: AbstractEventLoop | null = null;
  #setLoop = false;
  /** A run stalled: its tasks wait on what can never happen, so close() does not wait for them. */
  #stalled = false;

  constructor(options: RunOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, not ${describe(options)}`);
    if (options.loopFactory != null && typeof options.loopFactory !== 'function') {
      throw new TypeError(`loopFactory must be a function, not ${describe(options.loopFactory)}`);
    }
    this.#debug = options.debug;
    this.#loopFactory = options.loopFactory ?? null;
  }

  /** Runs `coro` to its end on this runner's loop; resolves to its result. */
  async run<T>(coro: CoroLike<T>): Promise<T> {
    if (_getRunningLoop() !== null) throw new Error('Runner.run() cannot be called from a running event loop');
    if (coro === null || (typeof coro !== 'object' && typeof coro !== 'function')) {
      throw new TypeError(`coro must be a coroutine, a function, a Future or a Promise, not ${describe(coro)}`);
    }
    this.#lazyInit();
    const loop = this.#loop!;
    if (coro instanceof Future && coro._loop !== loop) {
      // asyncio says only 'The future belongs to a different loop than the one specified'.
      throw new Error(
        `run() was given ${String(coro)} of another loop: run() makes a new loop, so that Future would never be done ` +
          'there. Pass a function that makes it instead: aio.run(() => aio.gather(a(), b())), not aio.run(aio.gather(a(), b()))',
      );
    }
    const task = loop.createTask(coro);
    try {
      return await runUnlessStalled(loop, task);
    } catch (e) {
      if (stallErrors.has(e as Error)) this.#stalled = true;
      throw e;
    }
  }

  /** Shuts down and closes the loop; remaining tasks are cancelled first. */
  async close(): Promise<void> {
    if (this.#state !== 'initialized') return;
    const loop = this.#loop!;
    try {
      if (this.#stalled) for (const t of allTasks(loop)) t.cancel();
      else await cancelAllTasks(loop);
      await loop.runUntilComplete(loop.shutdownAsyncgens());
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    } finally {
      if (this.#setLoop) setEventLoop(null);
      loop.close();
      this.#loop = null;
      this.#state = 'closed';
    }
  }

  /** The runner's loop (made on first use). */
  getLoop(): AbstractEventLoop {
    this.#lazyInit();
    return this.#loop!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #lazyInit(): void {
    if (this.#state === 'closed') throw new Error('Runner is closed');
    if (this.#state === 'initialized') return;
    if (this.#loopFactory === null) {
      this.#loop = newEventLoop();
      setEventLoop(this.#loop);
      this.#setLoop = true;
    } else {
      this.#loop = this.#loopFactory();
    }
    if (this.#debug !== undefined) this.#loop.setDebug(this.#debug);
    this.#state = 'initialized';
  }
}

async function cancelAllTasks(loop: AbstractEventLoop): Promise<void> {
  const toCancel = allTasks(loop);
  if (toCancel.size === 0) return;
  for (const t of toCancel) t.cancel();
  await runUnlessStalled(loop, gather([...toCancel], { returnExceptions: true }), toCancel);
  for (const t of toCancel) {
    if (t.cancelled()) continue;
    const exc = t.exception();
    if (exc !== undefined) {
      loop.callExceptionHandler({ message: 'unhandled exception during run() shutdown', exception: exc, task: t });
    }
  }
}

/** The errors `runUnlessStalled` made (plain Errors, as asyncio's RuntimeError). */
const stallErrors = new WeakSet<Error>();

/**
 * `loop.runUntilComplete(fut)`, except that it cannot end in Node's silent exit. When Node runs
 * out of work ('beforeExit': no timer, socket, worker or child process left) while the loop is
 * still waiting for `fut`, nothing can ever wake the loop again: the process would exit with code
 * 13 (an unsettled top-level await) or 0, with no message. Then the loop is stopped and this
 * rejects with an error that says why. The usual cause is a Future bound to a loop that never
 * runs, awaited outside any task (a Task awaiting one fails at once: 'attached to a different
 * loop'). `tasks` are the tasks being cancelled, when this is run()'s shutdown.
 */
async function runUnlessStalled<T>(loop: AbstractEventLoop, fut: Future<T>, tasks?: Set<Task<unknown>>): Promise<T> {
  let stalled = false;
  const onBeforeExit = () => {
    if (!loop.isRunning() || fut.done()) return;
    stalled = true;
    loop.stop();
  };
  process.on('beforeExit', onBeforeExit);
  try {
    return await loop.runUntilComplete(fut);
  } catch (e) {
    if (!stalled || fut.done()) throw e;
    const pending = tasks === undefined ? '' : [...tasks].filter((t) => !t.done()).map(String).join(', ');
    const why = 'the loop has nothing scheduled, and Node has no timer, socket, worker or child process left that could wake it';
    const err = new Error(
      tasks === undefined
        ? `run() cannot finish: main waits for something that can never happen (${why}). It may await a Promise ` +
            'that nothing will settle, or, outside any task, a Future of a loop that is not running (one made before ' +
            `run() made its loop, or by aio.newEventLoop()). ${_HOW_TO_START}`
        : `run() cannot finish its shutdown: the cancelled tasks ${pending} wait for something that can never happen (${why})`,
    );
    stallErrors.add(err);
    throw err;
  } finally {
    process.off('beforeExit', onBeforeExit);
  }
}

/** Runs `main` on a new loop and closes it (asyncio.run). */
export async function run<T>(main: CoroLike<T>, options: RunOptions = {}): Promise<T> {
  if (_getRunningLoop() !== null) throw new Error('run() cannot be called from a running event loop');
  if (main === null || (typeof main !== 'object' && typeof main !== 'function')) {
    throw new TypeError(`main must be a coroutine, a function, a Future or a Promise, not ${describe(main)}`);
  }
  const runner = new Runner(options);
  try {
    return await runner.run(main);
  } finally {
    await runner.close();
  }
}
