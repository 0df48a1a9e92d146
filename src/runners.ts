/**
 * `run(main)` and `Runner` (asyncio's runners.py): make a loop, run one coroutine to its end,
 * then cancel what is left, shut down, close the loop.
 */
import {
  type AbstractEventLoop,
  _getRunningLoop,
  newEventLoop,
  setEventLoop,
  describe,
} from './events.js';
import { type CoroLike, allTasks, gather } from './tasks.js';

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
    const task = loop.createTask(coro);
    return loop.runUntilComplete(task);
  }

  /** Shuts down and closes the loop; remaining tasks are cancelled first. */
  async close(): Promise<void> {
    if (this.#state !== 'initialized') return;
    const loop = this.#loop!;
    try {
      await cancelAllTasks(loop);
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
  await loop.runUntilComplete(gather([...toCancel], { returnExceptions: true }));
  for (const t of toCancel) {
    if (t.cancelled()) continue;
    const exc = t.exception();
    if (exc !== undefined) {
      loop.callExceptionHandler({ message: 'unhandled exception during run() shutdown', exception: exc, task: t });
    }
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
