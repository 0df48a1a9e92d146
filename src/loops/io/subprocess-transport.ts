/**
 * The protocol-facing half of a child process's transport, shared by both loops (asyncio's
 * `base_subprocess.py`): the pure loop puts it over `node:child_process` (pure/subprocess.ts),
 * the native loop over the addon's uv_spawn (native/process.ts). A subclass spawns the child,
 * hands over its pipes as stream transports (`_connectPipes`) and reports the exit
 * (`_processExited`); it sends signals (`_ioKill`).
 *
 * Order, as asyncio's: the pipes are connected first, then `connectionMade` runs; what the pipes
 * deliver before that waits and follows it. `processExited` comes when the child exits,
 * `pipeConnectionLost` once per pipe, and `connectionLost(null)` last, once both the child has
 * exited and every pipe is closed. `wait()` is done when the child exits (it does not wait for
 * pipes a grandchild may hold open). Closing the transport closes the pipes and kills a child
 * still running (SIGKILL), which is still reaped. While the child runs it holds a virtual
 * clock (aloop/testing): a child ends by itself, as an executor job does.
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { Coro } from '../../tasks.js';
import type { Protocol, SubprocessProtocol } from '../../protocols.js';
import type { SubprocessTransport, Transport } from '../../transports.js';
import { holdClock } from './hold.js';
import type { StreamTransport } from './stream-transport.js';
import { processLookupError, signalNumber } from './subprocess.js';

/** A pipe's protocol: hands its events to the subprocess transport (asyncio's `*SubprocessPipeProto`). */
class PipeProtocol implements Protocol {
  disconnected = false;
  constructor(
    readonly proc: BaseSubprocessTransport,
    readonly fd: number,
    readonly pipe: StreamTransport,
  ) {}
  dataReceived(data: Buffer): void {
    this.proc._pipeDataReceived(this.fd, data);
  }
  connectionLost(exc: Error | null): void {
    this.disconnected = true;
    this.proc._pipeConnectionLost(this.fd, exc);
  }
  pauseWriting(): void {
    this.proc._protocol?.pauseWriting?.();
  }
  resumeWriting(): void {
    this.proc._protocol?.resumeWriting?.();
  }
}

export abstract class BaseSubprocessTransport implements SubprocessTransport {
  protected readonly _loop: AbstractEventLoop;
  /** @internal Null once `connectionLost` has run. */
  _protocol: SubprocessProtocol | null;
  #pid = 0;
  #returncode: number | null = null;
  #exitWaiters: Future<number>[] = [];
  /** Calls to the protocol made before `connectionMade` ran; null after. */
  #pending: (() => void)[] | null = [];
  /** Calls scheduled by `#call` that have not run yet. */
  #queued = 0;
  readonly #pipes = new Map<number, PipeProtocol>();
  #closed = false;
  #finished = false;
  #lost = false;
  #releaseClock: (() => void) | null = null;

  constructor(loop: AbstractEventLoop, protocol: SubprocessProtocol) {
    this._loop = loop;
    this._protocol = protocol;
  }

  /** Sends signal number `sig` to the running child; throws the OS error (ESRCH) if any. */
  protected abstract _ioKill(sig: number): void;

  /**
   * @internal The child runs as `pid`; `pipes` are its stdio pipes (fd → an unstarted stream
   * transport). Starts them, then `connectionMade`; returns once that has run. Cancelled
   * meanwhile, it kills the child and reaps it before it lets the cancellation through (asyncio's
   * `_make_subprocess_transport`).
   */
  *_connect(pid: number, pipes: Map<number, StreamTransport>): Coro<void> {
    this.#pid = pid;
    if (this.#returncode === null) this.#releaseClock = holdClock(this._loop);
    for (const [fd, t] of pipes) {
      const proto = new PipeProtocol(this, fd, t);
      this.#pipes.set(fd, proto);
      t._start(proto);
    }
    const connected = this._loop.createFuture<void>();
    this._loop.callSoon(() => {
      const pending = this.#pending ?? [];
      this.#pending = null;
      try {
        if (!this.#lost) this._protocol?.connectionMade?.(this);
      } finally {
        for (const call of pending) this._loop.callSoon(call);
        this._loop.callSoon(() => {
          if (!connected.done()) connected.setResult(undefined);
        });
      }
    });
    try {
      yield* connected;
    } catch (e) {
      this.close();
      yield* this._wait();
      throw e;
    }
  }

  /** Calls the protocol on the loop, after `connectionMade`, in order. */
  #call(fn: () => void): void {
    if (this.#pending !== null) {
      this.#pending.push(fn);
      return;
    }
    this.#queued++;
    this._loop.callSoon(() => {
      this.#queued--;
      fn();
    });
  }

  /**
   * @internal From a pipe's protocol, so inside a loop callback already: the data goes to the
   * protocol at once unless calls queued before it have yet to run (one loop iteration less per
   * chunk than asyncio's call_soon, the same order).
   */
  _pipeDataReceived(fd: number, data: Buffer): void {
    if (this.#pending === null && this.#queued === 0) this._protocol?.pipeDataReceived?.(fd, data);
    else this.#call(() => this._protocol?.pipeDataReceived?.(fd, data));
  }

  /** @internal */
  _pipeConnectionLost(fd: number, exc: Error | null): void {
    this.#call(() => this._protocol?.pipeConnectionLost?.(fd, exc));
    this.#tryFinish();
  }

  /** @internal The child exited: `returncode` is its status, or minus the signal that ended it. */
  _processExited(returncode: number): void {
    if (this.#returncode !== null) return;
    this.#returncode = returncode;
    this.#releaseClock?.();
    this.#releaseClock = null;
    // The loop closed under a running child (the pure loop's Node still reaps it): nobody is
    // left to tell.
    if (this._loop.isClosed()) return;
    this.#call(() => this._protocol?.processExited?.());
    // Nobody reads the child's stdin any more (asyncio notices the reader closing it; Node
    // destroys it on exit): what is still queued there cannot be delivered.
    const stdin = this.#pipes.get(0);
    if (stdin !== undefined && !stdin.disconnected) stdin.pipe.abort();
    this.#tryFinish();
    const waiters = this.#exitWaiters;
    this.#exitWaiters = [];
    for (const w of waiters) if (!w.done()) w.setResult(returncode);
  }

  #tryFinish(): void {
    if (this.#finished || this.#returncode === null) return;
    for (const p of this.#pipes.values()) if (!p.disconnected) return;
    this.#finished = true;
    this.#call(() => {
      this.#lost = true;
      const protocol = this._protocol;
      this._protocol = null;
      protocol?.connectionLost?.(null);
    });
  }

  /** @internal Done with the return code once the child has exited. */
  _wait(): Future<number> {
    const fut = this._loop.createFuture<number>();
    if (this.#returncode !== null) fut.setResult(this.#returncode);
    else this.#exitWaiters.push(fut);
    return fut;
  }

  getPid(): number {
    return this.#pid;
  }

  getReturncode(): number | null {
    return this.#returncode;
  }

  getPipeTransport(fd: number): Transport | null {
    return this.#pipes.get(fd)?.pipe ?? null;
  }

  sendSignal(sig: string | number): void {
    const n = signalNumber(sig);
    if (this.#lost) throw processLookupError();
    // Exited but not yet finished: nothing to signal (Popen.send_signal does nothing then).
    if (this.#returncode !== null) return;
    this._ioKill(n);
  }

  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  kill(): void {
    this.sendSignal('SIGKILL');
  }

  isClosing(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pipes.values()) p.pipe.close();
    if (this.#returncode === null && this.#pid !== 0) {
      try {
        this._ioKill(signalNumber('SIGKILL'));
      } catch {
        // Exited meanwhile (the exit is on its way) or not ours to kill.
      }
    }
  }

  getExtraInfo(_name: string, defaultValue?: unknown): unknown {
    return defaultValue;
  }

  setProtocol(protocol: SubprocessProtocol): void {
    if (typeof protocol !== 'object' || protocol === null) throw new TypeError('protocol must be an object');
    this._protocol = protocol;
  }

  getProtocol(): SubprocessProtocol {
    return this._protocol!;
  }

  toString(): string {
    const state = this.#closed ? ' closed' : '';
    const rc = this.#returncode === null ? 'running' : `returncode=${this.#returncode}`;
    return `<${this.constructor.name} pid=${this.#pid}${state} ${rc}>`;
  }
}
