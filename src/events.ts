/**
 * The event loop contract: what every loop implements and what every primitive may use.
 * Nothing here knows which loop runs (asyncio's `events.py` is the model). Futures, tasks,
 * locks and queues call only `getRunningLoop()`, `createFuture()`, `callSoon()` and `callAt()`.
 */
import type { Future } from './futures.js';
import type { Socket, SocketAddress } from './socket.js';
import type { Task, CoroLike } from './tasks.js';
import type { Executor, ExecutorFunction } from './executors.js';
import type { DatagramProtocol, StreamProtocol, SubprocessProtocol } from './protocols.js';
import type {
  AddrInfo,
  CreateConnectionOptions,
  CreateDatagramEndpointOptions,
  CreateServerOptions,
  CreateUnixServerOptions,
  DatagramTransport,
  GetaddrinfoOptions,
  Server,
  SubprocessOptions,
  SubprocessTransport,
  Transport,
} from './transports.js';

// ---------------------------------------------------------------------------------------------
// Callback handles. All scheduling methods return one.

/**
 * What the ready queue holds (internal): a Handle, or an object that is its own entry (a Task
 * schedules its next step by queueing itself, so a step allocates no Handle).
 */
export interface Runnable {
  /** @internal */ readonly _cancelled: boolean;
  /** @internal */ _run(): void;
  /** @internal
   * The async task whose code this entry resumes, if any (a Reaction): consecutive entries of one
   * task share one microtask drain (see `_yieldToMicrotasks`).
   */
  readonly _task?: object | null;
}

/**
 * What the loops' timer structures hold (internal): a TimerHandle, or an object that is its own
 * timer (the Future of `sleep(delay)`: one object instead of a Future, a TimerHandle and its
 * argument array).
 */
export interface TimerEntry extends Runnable {
  /** @internal Loop time it is due at. */
  readonly _when: number;
  /** @internal Scheduling order, the tie-break between equal `when`s (set by the pure loop). */
  _seq: number;
  /** @internal Still held by the loop's timer structure. */
  _scheduled: boolean;
  /** @internal Slot in the native loop's timer table. */
  _id: number;
  /** @internal The loop closed with it pending: forget it (it will never run). */
  _dropped(): void;
}

/** A scheduled callback; `cancel()` keeps it from running. */
export class Handle {
  /** @internal */ _callback: ((...args: any[]) => unknown) | null;
  /** @internal */ _args: unknown[] | null;
  /** @internal */ _loop: AbstractEventLoop;
  /** @internal */ _cancelled = false;

  constructor(callback: (...args: any[]) => unknown, args: unknown[] | null, loop: AbstractEventLoop) {
    this._callback = callback;
    this._args = args;
    this._loop = loop;
  }

  cancel(): void {
    if (!this._cancelled) {
      this._cancelled = true;
      // Drop references so a cancelled handle that lingers in a queue keeps nothing alive.
      this._callback = null;
      this._args = null;
    }
  }

  cancelled(): boolean {
    return this._cancelled;
  }

  /** @internal Runs the callback; an exception goes to the loop's exception handler. */
  _run(): void {
    const cb = this._callback!;
    const args = this._args;
    try {
      if (args === null) cb();
      else cb(...args);
    } catch (exception) {
      this._loop.callExceptionHandler({
        message: `Exception in callback ${callbackName(cb)}`,
        exception,
        handle: this,
      });
    }
  }

  toString(): string {
    const state = this._cancelled ? ' cancelled' : '';
    return `<${this.constructor.name}${state} ${this._callback ? callbackName(this._callback) : ''}>`;
  }
}

/** A callback scheduled for a loop time; `when()` tells which. */
export class TimerHandle extends Handle implements TimerEntry {
  /** @internal */ _when: number;
  /** @internal Scheduling order, the tie-break between equal `when`s. */ _seq = 0;
  /** @internal Still held by the loop's timer structure. */ _scheduled = true;
  /** @internal Slot used by the native loop's timer table. */ _id = -1;

  constructor(when: number, callback: (...args: any[]) => unknown, args: unknown[] | null, loop: AbstractEventLoop) {
    super(callback, args, loop);
    this._when = when;
  }

  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (!this._cancelled) {
      if (this._scheduled) this._loop._timerHandleCancelled(this);
      super.cancel();
    }
  }

  /** @internal */
  _dropped(): void {
    this._scheduled = false;
    this.cancel();
  }
}

export function callbackName(cb: unknown): string {
  if (typeof cb === 'function') return cb.name ? `${cb.name}()` : '<anonymous>()';
  return String(cb);
}

// ---------------------------------------------------------------------------------------------
// The loop interface.

/** What the exception handler receives (asyncio's context dict). */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  future?: Future<unknown>;
  task?: Task<unknown>;
  handle?: Handle;
  [key: string]: unknown;
}

export type ExceptionHandler = (loop: AbstractEventLoop, context: ExceptionContext) => void;

export interface TaskOptions {
  /** The task's name; defaults to `Task-<n>`. */
  name?: string;
}

export type TaskFactory = (loop: AbstractEventLoop, coro: CoroLike<unknown>, options?: TaskOptions) => Task<unknown>;

export interface AbstractEventLoop {
  // Running and stopping the loop. Node cannot block its thread, so these return Promises.
  runUntilComplete<T>(future: CoroLike<T>): Promise<T>;
  runForever(): Promise<void>;
  /** Stops after the current batch of callbacks. */
  stop(): void;
  isRunning(): boolean;
  isClosed(): boolean;
  /** Closes the loop; it must not be running. Pending callbacks are dropped. */
  close(): void;
  shutdownAsyncgens(): Promise<void>;
  shutdownDefaultExecutor(timeout?: number | null): Promise<void>;

  // Methods scheduling callbacks. All these return Handles.
  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle;
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle;
  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => unknown, ...args: A): TimerHandle;
  callAt<A extends unknown[]>(when: number, callback: (...args: A) => unknown, ...args: A): TimerHandle;
  /** The loop's monotonic clock, in seconds. */
  time(): number;

  // Futures and tasks.
  createFuture<T = unknown>(): Future<T>;
  createTask<T>(coro: CoroLike<T>, options?: TaskOptions): Task<T>;
  setTaskFactory(factory: TaskFactory | null): void;
  getTaskFactory(): TaskFactory | null;

  // Network connections and servers. Each returns a Future (await it or `yield*` it); OS
  // errors reject it with Node's error (`code`, `errno`, `syscall`). Protocol callbacks run
  // on the loop, in asyncio's order.
  /** Connects over TCP; resolves to `[transport, protocol]` once `connectionMade` has run. */
  createConnection<P extends StreamProtocol>(
    protocolFactory: () => P,
    host: string,
    port: number,
    options?: CreateConnectionOptions,
  ): Future<[Transport, P]>;
  /**
   * Listens on `host` (every address it resolves to; all interfaces when null) and `port`
   * (0 picks a free port); `protocolFactory` makes one protocol per connection.
   */
  createServer(
    protocolFactory: () => StreamProtocol,
    host?: string | string[] | null,
    port?: number | null,
    options?: CreateServerOptions,
  ): Future<Server>;
  /** Connects to the Unix socket at `path`. */
  createUnixConnection<P extends StreamProtocol>(protocolFactory: () => P, path: string, options?: object): Future<[Transport, P]>;
  /** Listens on the Unix socket at `path` (a stale socket file there is removed first). */
  createUnixServer(protocolFactory: () => StreamProtocol, path: string, options?: CreateUnixServerOptions): Future<Server>;
  /** A UDP endpoint bound to `localAddr` and/or connected to `remoteAddr`. */
  createDatagramEndpoint<P extends DatagramProtocol>(
    protocolFactory: () => P,
    options: CreateDatagramEndpointOptions,
  ): Future<[DatagramTransport, P]>;
  /** Resolves `host` (asyncio's 5-tuples: `[family, type, proto, canonname, [host, port]]`). */
  getaddrinfo(host: string | null, port: number | string | null, options?: GetaddrinfoOptions): Future<AddrInfo[]>;
  /** Reverse-resolves `[host, port]` to `[hostname, service]` (`NI_NUMERICHOST`, `NI_NUMERICSERV`). */
  getnameinfo(sockaddr: [host: string, port: number], flags?: number): Future<[host: string, service: string]>;

  // Child processes. Each returns a Future of `[transport, protocol]`, done once the child runs,
  // its pipes are connected and `connectionMade` has run; spawn errors reject it with Node's
  // error (`code` 'ENOENT', `errno`, `syscall` 'spawn <program>', `path`).
  /** Runs `program` with `args` (no shell). */
  subprocessExec<P extends SubprocessProtocol>(
    protocolFactory: () => P,
    program: string,
    args?: readonly string[],
    options?: SubprocessOptions,
  ): Future<[SubprocessTransport, P]>;
  /** Runs `cmd` with `/bin/sh -c`. */
  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, cmd: string, options?: SubprocessOptions): Future<[SubprocessTransport, P]>;

  // File descriptors (the native loop; the pure loop throws NotImplementedError).
  addReader<A extends unknown[]>(fd: number, callback: (...args: A) => unknown, ...args: A): void;
  removeReader(fd: number): boolean;
  addWriter<A extends unknown[]>(fd: number, callback: (...args: A) => unknown, ...args: A): void;
  removeWriter(fd: number): boolean;

  // Low-level sockets (asyncio's sock_*): sockets from `socket()` (src/socket.ts).
  sockAccept(sock: Socket): Future<[Socket, SocketAddress]>;
  sockConnect(sock: Socket, address: SocketAddress): Future<void>;
  sockRecv(sock: Socket, n: number): Future<Buffer>;
  sockRecvInto(sock: Socket, buf: Uint8Array): Future<number>;
  sockSendall(sock: Socket, data: Uint8Array | string): Future<void>;
  sockRecvfrom(sock: Socket, n: number): Future<[Buffer, SocketAddress]>;
  sockSendto(sock: Socket, data: Uint8Array | string, address: SocketAddress): Future<number>;

  // Signals (named as Node names them, 'SIGUSR1'; numbers accepted).
  addSignalHandler<A extends unknown[]>(sig: string | number, callback: (...args: A) => unknown, ...args: A): void;
  removeSignalHandler(sig: string | number): boolean;

  // Executors: functions run on worker threads (self-contained, structured-clonable in and out).
  runInExecutor<R>(executor: Executor | null, fn: ExecutorFunction & ((...args: any[]) => R | PromiseLike<R>), ...args: unknown[]): Future<R>;
  runInExecutor(executor: Executor | null, fn: ExecutorFunction, ...args: unknown[]): Future<unknown>;
  setDefaultExecutor(executor: Executor): void;

  // Error handling.
  setExceptionHandler(handler: ExceptionHandler | null): void;
  getExceptionHandler(): ExceptionHandler | null;
  defaultExceptionHandler(context: ExceptionContext): void;
  callExceptionHandler(context: ExceptionContext): void;

  // Debug mode.
  getDebug(): boolean;
  setDebug(enabled: boolean): void;
  /** Callbacks that run longer than this (seconds) are logged in debug mode. */
  slowCallbackDuration: number;

  /** @internal Queue `r` like `callSoon` does a Handle (no Handle is made). */
  _callSoonRunnable(r: Runnable): void;
  /** @internal A timer entry was cancelled (called by `TimerHandle.cancel`, a sleep's `cancel`). */
  _timerHandleCancelled(handle: TimerEntry): void;
  /** @internal Schedules a timer entry that is its own callback (see TimerEntry). */
  _callAtEntry(entry: TimerEntry): void;
  /**
   * @internal End the current batch of callbacks here and carry on once V8's microtask queue is
   * empty. An async-function task's step runs in microtasks; this keeps asyncio's order (a step
   * runs to its real suspension before the next ready callback). `owner` is the task resumed:
   * when the next ready entry resumes the same task (Promise.all children, helpers inside one
   * task) it runs in the same drain, since both are that task's code.
   */
  _yieldToMicrotasks(owner: object): void;
  /**
   * @internal Work the loop does not run started outside it. A virtual clock (aloop/testing) holds
   * still until every hold is released; real clocks ignore both calls. Each hold is released
   * exactly once, with the same `foreignPromise`: false for work that surely ends without the
   * loop (an executor job, a connect, a name lookup), true for a foreign Promise awaited by a
   * task or wrapped in a Future, which might itself wait on the loop (so a virtual clock holds
   * for it only while something still happens).
   */
  _holdClock(foreignPromise: boolean): void;
  /** @internal See `_holdClock`. */
  _releaseClock(foreignPromise: boolean): void;
  /**
   * @internal A socket, listening socket or datagram endpoint of this loop opened (closed): while
   * any is open a virtual clock lets real I/O settle before it jumps. Real clocks ignore both.
   */
  _ioOpened(): void;
  /** @internal See `_ioOpened`. */
  _ioClosed(): void;
}

// ---------------------------------------------------------------------------------------------
// The running loop and the policy.

let runningLoop: AbstractEventLoop | null = null;

/**
 * What to write instead, for the errors below. The usual way to get here is asyncio's
 * `asyncio.run(main(x))` written in JavaScript: an async function runs as soon as it is called,
 * so `main(x)` reaches its first aloop call before `run()` has made the loop. @internal
 */
export const _HOW_TO_START =
  'Start your program with aio.run(main) or aio.run(() => main(x)) — not aio.run(main(x)), which calls main before the loop exists';

/** What getRunningLoop() throws outside a running loop (asyncio's RuntimeError), with the way out. */
const NO_RUNNING_LOOP = `no running event loop: aloop functions such as sleep() must run inside a task. ${_HOW_TO_START}`;

/** The loop running now; throws when none is. */
export function getRunningLoop(): AbstractEventLoop {
  if (runningLoop === null) throw new Error(NO_RUNNING_LOOP);
  return runningLoop;
}

/** @internal The running loop or null. */
export function _getRunningLoop(): AbstractEventLoop | null {
  return runningLoop;
}

/** @internal Called by loops when they start and stop running. */
export function _setRunningLoop(loop: AbstractEventLoop | null): void {
  runningLoop = loop;
}

export interface AbstractEventLoopPolicy {
  getEventLoop(): AbstractEventLoop;
  setEventLoop(loop: AbstractEventLoop | null): void;
  newEventLoop(): AbstractEventLoop;
}

/**
 * A policy with one current loop (asyncio's `BaseDefaultEventLoopPolicy`, as of Python 3.14): the
 * loop set with `setEventLoop` (a `Runner` sets its loop while it is open). It never makes one
 * implicitly: a loop made on a stray `getEventLoop()`, `gather()` or `new Future()` outside a
 * running loop would be one nobody runs, and whoever awaits on it would wait forever (in Node, an
 * unsettled top-level await: exit code 13 and no message). The pure and native policies differ
 * only in `_loopFactory`, which `newEventLoop` calls.
 */
export abstract class BaseDefaultEventLoopPolicy implements AbstractEventLoopPolicy {
  #loop: AbstractEventLoop | null = null;

  protected abstract _loopFactory(): AbstractEventLoop;

  /** The loop set with `setEventLoop`; throws when none is. */
  getEventLoop(): AbstractEventLoop {
    if (this.#loop === null) {
      throw new Error(
        'no running event loop and no current event loop (none was set with setEventLoop()): aloop functions ' +
          `such as sleep(), gather() and new Future() must run inside a task. ${_HOW_TO_START}; ` +
          'or, to drive a loop by hand, set one first: aio.setEventLoop(aio.newEventLoop())',
      );
    }
    return this.#loop;
  }

  setEventLoop(loop: AbstractEventLoop | null): void {
    if (loop !== null && (typeof loop !== 'object' || typeof loop.runUntilComplete !== 'function')) {
      throw new TypeError(`loop must be an event loop or null, not ${describe(loop)}`);
    }
    this.#loop = loop;
  }

  newEventLoop(): AbstractEventLoop {
    return this._loopFactory();
  }
}

let policy: AbstractEventLoopPolicy | null = null;
let defaultPolicyFactory: (() => AbstractEventLoopPolicy) | null = null;

/** @internal The package entry registers the default (pure-TS) policy here. */
export function _setDefaultPolicyFactory(factory: () => AbstractEventLoopPolicy): void {
  defaultPolicyFactory = factory;
}

export function getEventLoopPolicy(): AbstractEventLoopPolicy {
  if (policy === null) {
    if (defaultPolicyFactory === null) throw new Error('no default event loop policy is registered');
    policy = defaultPolicyFactory();
  }
  return policy;
}

/** Sets the policy; `null` restores the default. */
export function setEventLoopPolicy(p: AbstractEventLoopPolicy | null): void {
  if (p !== null && (typeof p !== 'object' || typeof p.newEventLoop !== 'function')) {
    throw new TypeError(`policy must be an event loop policy or null, not ${describe(p)}`);
  }
  policy = p;
}

/**
 * The running loop if any, else the policy's current loop: the one set with `setEventLoop` (or
 * by an open `Runner`). Throws when there is neither, as asyncio does since Python 3.14 — it no
 * longer makes a loop on first use. `new Future()`, `ensureFuture()`, `gather()` and `shield()`
 * outside a running loop bind to this loop, so they throw too instead of binding to a loop that
 * never runs.
 */
export function getEventLoop(): AbstractEventLoop {
  return runningLoop ?? getEventLoopPolicy().getEventLoop();
}

export function setEventLoop(loop: AbstractEventLoop | null): void {
  getEventLoopPolicy().setEventLoop(loop);
}

export function newEventLoop(): AbstractEventLoop {
  return getEventLoopPolicy().newEventLoop();
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'function') return `function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}
