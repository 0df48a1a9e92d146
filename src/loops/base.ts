/**
 * What every loop shares: the ready queue, the one place callbacks run (`_runOnce`), running
 * and stopping, the exception handler and debug checks. A concrete loop adds a clock, timers,
 * I/O, and how it gets Node to call `_iterate` (the pure loop: setImmediate/setTimeout; the
 * native loop: its own libuv handles).
 */
import {
  type AbstractEventLoop,
  type ExceptionContext,
  type ExceptionHandler,
  type TaskFactory,
  type TaskOptions,
  Handle,
  TimerHandle,
  type TimerEntry,
  type Runnable,
  _getRunningLoop,
  _setRunningLoop,
  callbackName,
  describe,
} from '../events.js';
import { Future, RESOLVED, wrapPromise } from '../futures.js';
import { type CoroLike, type Task, newTask, ensureFuture } from '../tasks.js';
import { Deque } from '../util/deque.js';
import { endDrain, runOutsideTasks, setInCallbacks } from '../context.js';
import { logger } from '../log.js';
import { noteSlowCallback } from '../introspect/slow.js';
import { trackSites } from '../introspect/sites.js';
import { type Executor, type ExecutorFunction, ThreadPoolExecutor } from '../executors.js';

import { SignalHandlers } from './signals.js';
import type { DatagramProtocol, StreamProtocol, SubprocessProtocol } from '../protocols.js';
import { checkSubprocessExecArgs, checkSubprocessShellArgs } from './io/subprocess.js';
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
} from '../transports.js';
import type { IoBackend } from './io/backend.js';
import { checkConnectionArgs, checkServerArgs, checkUnixConnectionArgs, checkUnixServerArgs } from './io/args.js';
import { checkEndpointArgs } from './io/datagram-transport.js';
import { getaddrinfo, getnameinfo } from './io/dns.js';
import { checkAddress, checkHandoff, checkNbytes, intoBytes, sendBytes } from './io/sock-args.js';
import { Socket, type SocketAddress, type SocketImpl } from '../socket.js';
import { SOCK_STREAM } from '../transports.js';

export function checkCallback(cb: unknown, name = 'callback'): void {
  if (typeof cb !== 'function') throw new TypeError(`${name} must be a function, not ${describe(cb)}`);
}

/** A file descriptor: a non-negative integer (asyncio takes objects with fileno() too; we take numbers). */
export function checkFd(fd: unknown, name = 'fd'): number {
  if (typeof fd !== 'number') throw new TypeError(`${name} must be a number (a file descriptor), not ${describe(fd)}`);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`${name} must be a non-negative integer, not ${fd}`);
  return fd;
}

export function checkTime(t: unknown, name: string): void {
  if (typeof t !== 'number') throw new TypeError(`${name} must be a number (seconds), not ${describe(t)}`);
  if (Number.isNaN(t)) throw new RangeError(`${name} must not be NaN`);
}

export abstract class BaseEventLoop implements AbstractEventLoop {
  /** @internal Callbacks ready to run, in order. */
  protected readonly _ready = new Deque<Runnable>(1024);
  /** @internal Callbacks of the current batch not yet run (asyncio's `ntodo`). */
  #ntodo = 0;
  /** @internal True while an iteration is running or certain to run soon: no wake-up needed. */
  protected _scheduled = false;
  #split = false;
  #splitOwner: object | null = null;
  #closed = false;
  #running = false;
  #stopping = false;
  #runResolve: (() => void) | null = null;
  #debug = debugFromEnv();
  #exceptionHandler: ExceptionHandler | null = null;
  #taskFactory: TaskFactory | null = null;
  slowCallbackDuration = 0.1;
  /** @internal Iterations run so far (the monitor's iterations per second). */
  _iterations = 0;

  /** @internal Debug mode: the async-function step being timed across a batch split. */
  #timedStep: Runnable | null = null;
  #timedStepStart = 0;

  readonly #continueBatch = () => {
    endDrain();
    if (this.#timedStep !== null) {
      const h = this.#timedStep;
      this.#timedStep = null;
      this.#warnIfSlow(h, this.#timedStepStart);
    }
    runOutsideTasks(this.#runBatch);
  };
  readonly #afterMicrotasks = () => process.nextTick(this.#continueBatch);
  readonly #runBatch = () => this._runBatch();

  // --- what a concrete loop provides ------------------------------------------------------------

  abstract time(): number;
  /** @internal Append I/O callbacks and due timers to the ready queue (phase 1 of an iteration). */
  protected abstract _collectReady(): void;
  /** @internal Arrange for `_iterate` to be called: soon if `ready` holds work, else when a timer is due. */
  protected abstract _scheduleNext(): void;
  /** @internal Arrange for `_iterate` to be called as soon as possible (work arrived while idle). */
  protected abstract _wake(): void;
  /** @internal */
  protected abstract _addTimer(handle: TimerEntry): void;
  /** @internal */
  abstract _timerHandleCancelled(handle: TimerEntry): void;
  /** @internal Free timers and native resources (the loop is not running). */
  protected abstract _closeResources(): void;

  // --- running and stopping ---------------------------------------------------------------------

  runForever(): Promise<void> {
    try {
      this.#checkRunnable();
    } catch (e) {
      return Promise.reject(e);
    }
    this.#running = true;
    // A stop() made before running is kept: the loop then runs one iteration and stops
    // (asyncio's "pre-stopped" idiom). #endIteration clears the flag.
    _setRunningLoop(this);
    return new Promise<void>((resolve) => {
      this.#runResolve = resolve;
      this._scheduled = true;
      this._wake();
    });
  }

  runUntilComplete<T>(future: CoroLike<T>): Promise<T> {
    let fut: Future<T>;
    try {
      this.#checkRunnable();
      fut = ensureFuture(future, this);
    } catch (e) {
      return Promise.reject(e);
    }
    const newTask = !(future instanceof Future);
    const onDone = () => this.stop();
    fut.addDoneCallback(onDone);
    return this.runForever().then(
      () => {
        fut.removeDoneCallback(onDone);
        if (!fut.done()) throw new Error('Event loop stopped before Future completed.');
        return fut.result();
      },
      (e) => {
        // The future is done but nobody will look at its exception: do not report it later.
        if (newTask && fut.done() && !fut.cancelled()) fut.exception();
        throw e;
      },
    );
  }

  #checkRunnable(): void {
    if (this.#closed) throw new Error('Event loop is closed');
    if (this.#running) throw new Error('This event loop is already running');
    if (_getRunningLoop() !== null) throw new Error('Cannot run the event loop while another loop is running');
  }

  /** Stops the loop after the current batch of callbacks. */
  stop(): void {
    this.#stopping = true;
    if (this.#running && !this._scheduled) {
      this._scheduled = true;
      this._wake();
    }
  }

  isRunning(): boolean {
    return this.#running;
  }

  isClosed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#running) throw new Error('Cannot close a running event loop');
    if (this.#closed) return;
    if (this.#debug) logger.warning(`Close ${this}`);
    this.#closed = true;
    this._ready.clear();
    this.#signals.clear();
    this._closeResources();
    const io = this.#io;
    this.#io = null;
    if (io !== null) io.close();
    const ex = this.#defaultExecutor;
    this.#defaultExecutor = null;
    if (ex !== null) void ex.shutdown(false);
  }

  async shutdownAsyncgens(): Promise<void> {
    // JavaScript has no hook to track async generators (asyncio uses sys.set_asyncgen_hooks);
    // an async generator is finalized by its own `return()`, so there is nothing to close here.
  }

  /** Waits for the default executor's running calls (at most `timeout` seconds), then stops it. */
  async shutdownDefaultExecutor(timeout: number | null = null): Promise<void> {
    if (timeout !== null) checkTime(timeout, 'timeout');
    // From here on the default executor is refused, as asyncio does, rather than silently remade.
    this.#executorShutdownCalled = true;
    const ex = this.#defaultExecutor;
    this.#defaultExecutor = null;
    if (ex === null) return;
    let timer: NodeJS.Timeout | undefined;
    const done = ex.shutdown(true);
    if (timeout === null) return done;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout * 1000)));
    await Promise.race([done, expired]);
    clearTimeout(timer);
    await ex.shutdown(false);
  }

  // --- signals and executors --------------------------------------------------------------------

  #signals = new SignalHandlers();
  #defaultExecutor: Executor | null = null;
  #executorShutdownCalled = false;

  addSignalHandler<A extends unknown[]>(sig: string | number, callback: (...args: A) => unknown, ...args: A): void {
    if (this.#closed) throw new Error('Event loop is closed');
    this.#signals.add(this, sig, callback as (...a: unknown[]) => unknown, args);
  }

  removeSignalHandler(sig: string | number): boolean {
    return this.#signals.remove(sig);
  }

  runInExecutor(executor: Executor | null, fn: ExecutorFunction, ...args: unknown[]): Future<any> {
    if (this.#closed) throw new Error('Event loop is closed');
    if (executor !== null && (typeof executor !== 'object' || typeof executor.submit !== 'function')) {
      throw new TypeError(`executor must be an Executor or null, not ${describe(executor)}`);
    }
    if (typeof fn !== 'function' && (fn === null || typeof fn !== 'object')) {
      throw new TypeError(`fn must be a function or { module, name }, not ${describe(fn)}`);
    }
    if (executor === null && this.#executorShutdownCalled) throw new Error('Executor shutdown has been called');
    const ex = executor ?? (this.#defaultExecutor ??= new ThreadPoolExecutor());
    // Our pool completes a Future of this loop directly (one loop iteration less per call).
    if (ex instanceof ThreadPoolExecutor) return ex._submitFuture(this, fn, args);
    return wrapPromise(ex.submit(fn, args), this, false);
  }

  setDefaultExecutor(executor: Executor): void {
    if (executor === null || typeof executor !== 'object' || typeof executor.submit !== 'function') {
      throw new TypeError(`executor must be an Executor (with submit and shutdown), not ${describe(executor)}`);
    }
    this.#defaultExecutor = executor;
  }

  // --- the iteration ----------------------------------------------------------------------------

  /** @internal Called by the concrete loop's Node/libuv hook: one loop iteration. */
  protected _iterate(): void {
    runOutsideTasks(this.#runOnceBound);
  }

  readonly #runOnceBound = () => this._runOnce();

  /**
   * One iteration (asyncio's `_run_once`). This is the only place callbacks are called:
   * 1. append I/O callbacks and due timers after what is already ready;
   * 2. run exactly the callbacks ready now; what they schedule runs next iteration.
   */
  /** @internal */
  protected _runOnce(): void {
    this._scheduled = true;
    this._iterations++;
    this._collectReady();
    this.#ntodo = this._ready.length;
    this._runBatch();
  }

  /** @internal Runs the rest of the current batch; ends the iteration when it is done. */
  protected _runBatch(): void {
    const ready = this._ready;
    const debug = this.#debug;
    setInCallbacks(true);
    while (this.#ntodo > 0) {
      this.#ntodo--;
      const h = ready.shift()!;
      if (h._cancelled) continue;
      if (debug) this.#runTimed(h);
      else h._run();
      if (this.#split) {
        // An async-function task resumed: let its microtasks run, then carry on (see
        // DESIGN.md "Step order with async functions"), unless the next entry resumes the
        // same task.
        if (this.#ntodo > 0 && ready.peekFirst()!._task === this.#splitOwner) continue;
        this.#split = false;
        this.#splitOwner = null;
        setInCallbacks(false);
        RESOLVED.then(this.#afterMicrotasks);
        return;
      }
    }
    setInCallbacks(false);
    this.#endIteration();
  }

  /** @internal */
  _yieldToMicrotasks(owner: object): void {
    this.#split = true;
    this.#splitOwner = owner;
  }

  // A real clock moves by itself: what foreign work or open sockets there are does not matter to
  // it. A virtual clock (aloop/testing) overrides these four.
  /** @internal */
  _holdClock(_foreignPromise: boolean): void {}
  /** @internal */
  _releaseClock(_foreignPromise: boolean): void {}
  /** @internal */
  _ioOpened(): void {}
  /** @internal */
  _ioClosed(): void {}

  #runTimed(h: Runnable): void {
    const t0 = performance.now();
    h._run();
    if (this.#split) {
      // An async-function step goes on in microtasks: time it up to when the batch resumes.
      this.#timedStep = h;
      this.#timedStepStart = t0;
      return;
    }
    this.#warnIfSlow(h, t0);
  }

  #warnIfSlow(h: Runnable, t0: number): void {
    const dt = (performance.now() - t0) / 1000;
    if (dt >= this.slowCallbackDuration) {
      const what = String(h);
      logger.warning(`Executing ${what} took ${dt.toFixed(3)} seconds`);
      noteSlowCallback(this, what, dt);
    }
  }

  #endIteration(): void {
    if (this.#stopping) {
      this.#stopping = false;
      this.#running = false;
      this._scheduled = false;
      _setRunningLoop(null);
      const resolve = this.#runResolve!;
      this.#runResolve = null;
      resolve();
      return;
    }
    this._scheduled = false;
    this._scheduleNext();
  }

  // --- scheduling callbacks ---------------------------------------------------------------------

  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle;
  callSoon(callback: (...args: unknown[]) => unknown): Handle {
    if (typeof callback !== 'function') checkCallback(callback);
    if (this.#closed) throw new Error('Event loop is closed');
    // `arguments` instead of a rest parameter: no array is made for the common no-args call.
    const h = new Handle(callback, arguments.length > 1 ? restArgs(arguments, 1) : null, this);
    this._ready.push(h);
    if (!this._scheduled && this.#running) {
      this._scheduled = true;
      this._wake();
    }
    return h;
  }

  /** @internal */
  _callSoonRunnable(r: Runnable): void {
    this._ready.push(r);
    if (!this._scheduled && this.#running) {
      this._scheduled = true;
      this._wake();
    }
  }

  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    // JavaScript code of one loop runs on one thread; other threads reach it by message.
    return this.callSoon(callback, ...args);
  }

  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => unknown, ...args: A): TimerHandle;
  callLater(delay: number, callback: (...args: unknown[]) => unknown): TimerHandle {
    if (typeof delay !== 'number' || delay !== delay) checkTime(delay, 'delay');
    return this.#newTimer(this.time() + delay, callback, arguments.length > 2 ? restArgs(arguments, 2) : null);
  }

  callAt<A extends unknown[]>(when: number, callback: (...args: A) => unknown, ...args: A): TimerHandle;
  callAt(when: number, callback: (...args: unknown[]) => unknown): TimerHandle {
    if (typeof when !== 'number' || when !== when) checkTime(when, 'when');
    return this.#newTimer(when, callback, arguments.length > 2 ? restArgs(arguments, 2) : null);
  }

  #newTimer(when: number, callback: (...args: unknown[]) => unknown, args: unknown[] | null): TimerHandle {
    if (typeof callback !== 'function') checkCallback(callback);
    const h = new TimerHandle(when, callback, args, this);
    this._callAtEntry(h); // checks that the loop is open
    return h;
  }

  /** @internal */
  _callAtEntry(entry: TimerEntry): void {
    if (this.#closed) throw new Error('Event loop is closed');
    this._addTimer(entry);
    if (!this._scheduled && this.#running) {
      this._scheduled = true;
      this._wake();
    }
  }

  // --- futures and tasks ------------------------------------------------------------------------

  createFuture<T = unknown>(): Future<T> {
    return new Future<T>({ loop: this });
  }

  createTask<T>(coro: CoroLike<T>, options?: TaskOptions): Task<T> {
    if (this.#closed) throw new Error('Event loop is closed');
    if (this.#taskFactory !== null) return this.#taskFactory(this, coro, options) as Task<T>;
    return newTask(this, coro, options);
  }

  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null) checkCallback(factory, 'factory');
    this.#taskFactory = factory;
  }

  getTaskFactory(): TaskFactory | null {
    return this.#taskFactory;
  }

  // --- I/O: checked here once for every loop, then done by the loop's backend (io/backend.ts) ---

  #io: IoBackend | null = null;

  /** @internal This loop's I/O backend, made at the first I/O. */
  protected abstract _newBackend(): IoBackend;

  /** @internal The backend, made on first use; throws once the loop is closed. */
  protected get _io(): IoBackend {
    if (this.#closed) throw new Error('Event loop is closed');
    return (this.#io ??= this._newBackend());
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('Event loop is closed');
  }

  createConnection<P extends StreamProtocol>(protocolFactory: () => P, host: string, port: number, options?: CreateConnectionOptions): Future<[Transport, P]> {
    this.#checkOpen();
    const h = this.#handoff('connection', 'createConnection', protocolFactory, options, host != null || port != null);
    if (h !== null) return this._io.connectionFromSock(protocolFactory, h.sock);
    return this._io.createConnection(protocolFactory, checkConnectionArgs(protocolFactory, host, port, options));
  }

  createServer(protocolFactory: () => StreamProtocol, host?: string | string[] | null, port?: number | null, options?: CreateServerOptions): Future<Server> {
    this.#checkOpen();
    const h = this.#handoff('server', 'createServer', protocolFactory, options, host != null || port != null);
    if (h !== null) return this._io.serverFromSock(protocolFactory, h.sock, h.backlog, h.startServing);
    return this._io.createServer(protocolFactory, checkServerArgs(protocolFactory, host, port, options));
  }

  createUnixConnection<P extends StreamProtocol>(protocolFactory: () => P, path: string, options?: object): Future<[Transport, P]> {
    this.#checkOpen();
    const h = this.#handoff('connection', 'createUnixConnection', protocolFactory, options, path != null);
    if (h !== null) return this._io.connectionFromSock(protocolFactory, h.sock);
    return this._io.createUnixConnection(protocolFactory, checkUnixConnectionArgs(protocolFactory, path, options));
  }

  createUnixServer(protocolFactory: () => StreamProtocol, path: string, options?: CreateUnixServerOptions): Future<Server> {
    this.#checkOpen();
    const h = this.#handoff('server', 'createUnixServer', protocolFactory, options, path != null);
    if (h !== null) return this._io.serverFromSock(protocolFactory, h.sock, h.backlog, h.startServing);
    return this._io.createUnixServer(protocolFactory, checkUnixServerArgs(protocolFactory, path, options));
  }

  createDatagramEndpoint<P extends DatagramProtocol>(protocolFactory: () => P, options: CreateDatagramEndpointOptions): Future<[DatagramTransport, P]> {
    this.#checkOpen();
    const h = this.#handoff('endpoint', 'createDatagramEndpoint', protocolFactory, options, false);
    if (h !== null) return this._io.endpointFromSock(protocolFactory, h.sock);
    return this._io.createDatagramEndpoint(protocolFactory, checkEndpointArgs(protocolFactory, options));
  }

  /** `{ sock }` given: the Socket, checked for this loop's kind (asyncio's create_* with sock=). */
  #handoff(what: 'connection' | 'server' | 'endpoint', name: string, protocolFactory: unknown, options: unknown, addressGiven: boolean) {
    const h = checkHandoff(what, name, protocolFactory, options, addressGiven);
    if (h !== null) h.sock._use(this._io.socketKind, name);
    return h;
  }

  // --- low-level sockets (SPEC "low-level sockets"; the work is the Socket's implementation) -----

  /** @internal The implementation of a new Socket of this loop's kind (`socket()`). */
  _socketImpl(family: number, type: number): SocketImpl {
    return this._io.socket(family, type);
  }

  #sock(sock: unknown, syscall: string): SocketImpl {
    if (!(sock instanceof Socket)) throw new TypeError(`sock must be a Socket (from socket() or sockAccept), not ${describe(sock)}`);
    this.#checkOpen();
    return sock._use(this._io.socketKind, syscall, this.#debug);
  }

  /** Accepts a connection on a listening socket: `[socket, peer address]`. */
  sockAccept(sock: Socket): Future<[Socket, SocketAddress]> {
    const impl = this.#sock(sock, 'accept');
    if (sock.type !== SOCK_STREAM) throw new TypeError('sockAccept needs a SOCK_STREAM socket');
    return impl.accept(this);
  }

  /** Connects `sock` to `address` (`[host, port]`, a name is resolved first; a path for AF_UNIX). */
  sockConnect(sock: Socket, address: SocketAddress): Future<void> {
    const impl = this.#sock(sock, 'connect');
    checkAddress(sock.family, address, 'address');
    return impl.connect(this, address);
  }

  /** Receives at most `n` bytes; an empty Buffer at EOF. */
  sockRecv(sock: Socket, n: number): Future<Buffer> {
    const impl = this.#sock(sock, 'recv');
    checkNbytes(n, 'n');
    return impl.recv(this, n);
  }

  /** Receives into `buf`; the number of bytes read (0 at EOF). */
  sockRecvInto(sock: Socket, buf: Uint8Array): Future<number> {
    const impl = this.#sock(sock, 'recv');
    return impl.recvInto(this, intoBytes(buf, 'buf'));
  }

  /** Sends all of `data` (a string as UTF-8), waiting for room as needed. */
  sockSendall(sock: Socket, data: Uint8Array | string): Future<void> {
    const impl = this.#sock(sock, 'send');
    return impl.sendall(this, sendBytes(data, 'data'));
  }

  /** Receives one datagram of at most `n` bytes (the rest of a longer one is lost): `[data, sender address]`. */
  sockRecvfrom(sock: Socket, n: number): Future<[Buffer, SocketAddress]> {
    const impl = this.#sock(sock, 'recvfrom');
    checkNbytes(n, 'n');
    return impl.recvfrom(this, n);
  }

  /** Sends one datagram to `address`; the bytes sent. */
  sockSendto(sock: Socket, data: Uint8Array | string, address: SocketAddress): Future<number> {
    const impl = this.#sock(sock, 'sendto');
    const bytes = sendBytes(data, 'data');
    checkAddress(sock.family, address, 'address');
    return impl.sendto(this, bytes, address);
  }

  // Name resolution is node:dns on both loops (io/dns.ts).

  getaddrinfo(host: string | null, port: number | string | null, options?: GetaddrinfoOptions): Future<AddrInfo[]> {
    this.#checkOpen();
    return getaddrinfo(this, host, port, options);
  }

  getnameinfo(sockaddr: [host: string, port: number], flags = 0): Future<[host: string, service: string]> {
    this.#checkOpen();
    return getnameinfo(this, sockaddr, flags);
  }

  // --- child processes ----------------------------------------------------------------------------

  subprocessExec<P extends SubprocessProtocol>(protocolFactory: () => P, program: string, args?: readonly string[], options?: SubprocessOptions): Future<[SubprocessTransport, P]> {
    const spec = checkSubprocessExecArgs(protocolFactory, program, args, options);
    this.#checkOpen();
    return this._io.spawnSubprocess(protocolFactory, spec);
  }

  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, cmd: string, options?: SubprocessOptions): Future<[SubprocessTransport, P]> {
    const spec = checkSubprocessShellArgs(protocolFactory, cmd, options);
    this.#checkOpen();
    return this._io.spawnSubprocess(protocolFactory, spec);
  }

  // --- file descriptors (the native loop, on uv_poll_t; the pure loop's backend refuses) ---------

  addReader<A extends unknown[]>(fd: number, callback: (...args: A) => unknown, ...args: A): void {
    checkFd(fd);
    checkCallback(callback);
    this.#checkOpen();
    this._io.addReader(fd, new Handle(callback as (...a: unknown[]) => unknown, args.length > 0 ? args : null, this));
  }

  removeReader(fd: number): boolean {
    checkFd(fd);
    if (this.#closed) return false;
    return this._io.removeReader(fd);
  }

  addWriter<A extends unknown[]>(fd: number, callback: (...args: A) => unknown, ...args: A): void {
    checkFd(fd);
    checkCallback(callback);
    this.#checkOpen();
    this._io.addWriter(fd, new Handle(callback as (...a: unknown[]) => unknown, args.length > 0 ? args : null, this));
  }

  removeWriter(fd: number): boolean {
    checkFd(fd);
    if (this.#closed) return false;
    return this._io.removeWriter(fd);
  }

  // --- error handling ---------------------------------------------------------------------------

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null) checkCallback(handler, 'handler');
    this.#exceptionHandler = handler;
  }

  getExceptionHandler(): ExceptionHandler | null {
    return this.#exceptionHandler;
  }

  defaultExceptionHandler(context: ExceptionContext): void {
    let message = context.message || 'Unhandled exception in event loop';
    for (const key of Object.keys(context).sort()) {
      if (key === 'message' || key === 'exception') continue;
      const v = context[key];
      message += `\n${key}: ${v instanceof Handle || v instanceof Future ? String(v) : describeValue(v)}`;
    }
    logger.error(message, context.exception);
  }

  callExceptionHandler(context: ExceptionContext): void {
    const handler = this.#exceptionHandler;
    if (handler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch (e) {
        // The logger itself failed: last resort, never let it break the loop.
        console.error('Exception in default exception handler', e);
      }
      return;
    }
    try {
      handler(this, context);
    } catch (exception) {
      try {
        this.defaultExceptionHandler({ message: 'Unhandled error in exception handler', exception, context });
      } catch (e) {
        console.error('Exception in default exception handler while handling an unexpected error in custom exception handler', e);
      }
    }
  }

  // --- debug ------------------------------------------------------------------------------------

  getDebug(): boolean {
    return this.#debug;
  }

  setDebug(enabled: boolean): void {
    this.#debug = !!enabled;
    if (this.#debug) trackSites();
  }

  // --- introspection (the monitor, `aloop ps`) --------------------------------------------------

  /** @internal The entries of the ready queue, in order (a copy). */
  _readyEntries(): Runnable[] {
    const ready = this._ready;
    const out = new Array<Runnable>(ready.length);
    for (let i = 0; i < out.length; i++) out[i] = ready.at(i)!;
    return out;
  }

  /** @internal Timers scheduled and not cancelled (the concrete loop knows). */
  _timerCount(): number {
    return 0;
  }

  toString(): string {
    return `<${this.constructor.name} running=${this.#running} closed=${this.#closed} debug=${this.#debug}>`;
  }
}

function debugFromEnv(): boolean {
  const on = process.env.ALOOP_DEBUG === '1';
  if (on) trackSites();
  return on;
}

function restArgs(a: IArguments, from: number): unknown[] {
  const out = new Array(a.length - from);
  for (let i = from; i < a.length; i++) out[i - from] = a[i];
  return out;
}

function describeValue(v: unknown): string {
  if (typeof v === 'function') return callbackName(v);
  if (typeof v === 'object' && v !== null && !(v instanceof Error)) {
    try {
      return JSON.stringify(v);
    } catch {
      return describe(v);
    }
  }
  return String(v);
}
