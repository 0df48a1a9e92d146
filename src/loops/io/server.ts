/**
 * What the listening servers of both loops share (asyncio's `Server`): serving, the connections
 * accepted before `startServing()`, `serveForever`, closing and the bookkeeping `waitClosed`
 * waits on, the accept path that makes each connection's protocol, and what an accept failure
 * does.
 *
 * A loop's server adds how it listens, how it starts and stops taking connections off a listening
 * socket (`_setAccepting`) and how it closes one (`_closeSocket`), and hands each connection it
 * accepts, already wrapped in a transport, to `_accepted`: pure/server.ts over node:net,
 * native/server.ts over the addon's listeners.
 *
 * Until `startServing()` a listening socket is bound and listening but takes nothing off its
 * backlog where the loop can hold back (the native loop's own accept loop); node:net accepts
 * regardless, so there the connections wait unread until then. Either way nothing is read and no
 * protocol is made before serving starts.
 *
 * Out of descriptors or memory on accept (EMFILE, ENFILE, ENOBUFS, ENOMEM), a listening socket
 * does what asyncio's does: the exception handler gets "socket.accept() out of system resource",
 * the socket takes nothing for ACCEPT_RETRY_DELAY, then accepts again; the connections wait in
 * the kernel's backlog meanwhile.
 */
import type { AbstractEventLoop, TimerHandle } from '../../events.js';
import type { Future } from '../../futures.js';
import { CancelledError } from '../../errors.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Server, ServerSocket } from '../../transports.js';
import { soon } from './args.js';
import type { StreamTransport, TransportOwner } from './stream-transport.js';

/** asyncio's ACCEPT_RETRY_DELAY: seconds a listening socket rests after running out of resources. */
export const ACCEPT_RETRY_DELAY = 1;

/** accept() errors that mean "out of system resource" (asyncio's list). */
const RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

export abstract class BaseServer<T extends StreamTransport, S extends ServerSocket> implements Server, TransportOwner {
  readonly #loop: AbstractEventLoop;
  readonly #factory: () => StreamProtocol;
  #sockets: S[] = [];
  #serving = false;
  #closed = false;
  readonly #transports = new Set<T>();
  /** Accepted before `startServing()`. */
  #pending: T[] = [];
  #waiters: Future<void>[] | null = [];
  #serveForeverFut: Future<void> | null = null;
  /** Listening sockets resting after a resource error, with the timer that resumes each. */
  readonly #resting = new Map<S, TimerHandle | null>();

  constructor(loop: AbstractEventLoop, factory: () => StreamProtocol) {
    this.#loop = loop;
    this.#factory = factory;
  }

  /** Stops listening on `socket` (`close()` calls it for each). */
  protected abstract _closeSocket(socket: S): void;

  /** Starts or stops taking connections off `socket`'s backlog (where the loop can). */
  protected abstract _setAccepting(socket: S, on: boolean): void;

  /** @internal `socket` is listening. */
  protected _addSocket(socket: S): void {
    this.#sockets.push(socket);
    this.#loop._ioOpened();
  }

  /** @internal True once `close()` was called. */
  protected _isClosed(): boolean {
    return this.#closed;
  }

  /**
   * @internal A connection arrived (while open: see `_isClosed`): it is served on the loop now, or
   * waits for `startServing()`.
   */
  protected _accepted(t: T): void {
    if (this.#serving) soon(this.#loop, () => this.#accept(t), () => t._discard());
    else this.#pending.push(t);
  }

  /**
   * @internal An accept on `socket` failed (reported outside the loop's callbacks). Resource
   * errors rest the socket for ACCEPT_RETRY_DELAY (reported once per rest); others are reported,
   * as asyncio's loop logs them.
   */
  protected _acceptFailed(exception: unknown, socket: S): void {
    const loop = this.#loop;
    if (!RESOURCE_ERRORS.has((exception as NodeJS.ErrnoException | null)?.code ?? '')) {
      soon(loop, () => loop.callExceptionHandler({ message: 'socket.accept() failed', exception, socket, server: this }));
      return;
    }
    if (this.#resting.has(socket) || this.#closed) return;
    this.#resting.set(socket, null);
    this._setAccepting(socket, false);
    soon(loop, () => {
      loop.callExceptionHandler({ message: 'socket.accept() out of system resource', exception, socket, server: this });
      if (this.#closed) return;
      this.#resting.set(socket, loop.callLater(ACCEPT_RETRY_DELAY, () => {
        this.#resting.delete(socket);
        if (this.isServing()) this._setAccepting(socket, true);
      }));
    });
  }

  #accept(t: T): void {
    if (this.#closed) {
      t._discard();
      return;
    }
    let protocol: StreamProtocol;
    try {
      protocol = this.#factory();
    } catch (exception) {
      t._discard();
      this.#loop.callExceptionHandler({ message: 'Error on transport creation for incoming connection', exception, server: this });
      return;
    }
    this.#transports.add(t);
    t._start(protocol);
  }

  /** @internal A connection of this server is gone. */
  _detach(t: T): void {
    this.#transports.delete(t);
    this.#maybeWakeup();
  }

  #maybeWakeup(): void {
    if (!this.#closed || this.#transports.size > 0 || this.#waiters === null) return;
    const waiters = this.#waiters;
    this.#waiters = null;
    for (const w of waiters) if (!w.done()) w.setResult(undefined);
  }

  getLoop(): AbstractEventLoop {
    return this.#loop;
  }

  isServing(): boolean {
    return this.#serving && !this.#closed;
  }

  get sockets(): readonly ServerSocket[] {
    return this.#closed ? [] : this.#sockets.slice();
  }

  /** @internal */
  _startServing(): void {
    if (this.#serving || this.#closed) return;
    this.#serving = true;
    for (const socket of this.#sockets) if (!this.#resting.has(socket)) this._setAccepting(socket, true);
    const pending = this.#pending;
    this.#pending = [];
    for (const t of pending) this.#loop.callSoon(() => this.#accept(t));
  }

  startServing(): Future<void> {
    if (this.#closed) throw new Error(`server ${this} is closed`);
    this._startServing();
    const fut = this.#loop.createFuture<void>();
    fut.setResult(undefined);
    return fut;
  }

  serveForever(): Future<void> {
    if (this.#serveForeverFut !== null) throw new Error(`server ${this} is already being awaited on serveForever()`);
    if (this.#closed) throw new Error(`server ${this} is closed`);
    this._startServing();
    const inner = (this.#serveForeverFut = this.#loop.createFuture<void>());
    const self = this;
    return this.#loop.createTask(function* () {
      try {
        yield* inner;
      } catch (e) {
        if (e instanceof CancelledError) {
          try {
            self.close();
            yield* self.waitClosed();
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw e;
          }
        }
        throw e;
      } finally {
        self.#serveForeverFut = null;
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#serving = false;
    for (const s of this.#sockets) {
      this._closeSocket(s);
      this.#loop._ioClosed();
    }
    for (const timer of this.#resting.values()) timer?.cancel();
    this.#resting.clear();
    for (const t of this.#pending) t._discard();
    this.#pending = [];
    const sff = this.#serveForeverFut;
    if (sff !== null && !sff.done()) sff.cancel();
    this.#maybeWakeup();
  }

  closeClients(): void {
    for (const t of [...this.#transports]) t.close();
  }

  abortClients(): void {
    for (const t of [...this.#transports]) t.abort();
  }

  waitClosed(): Future<void> {
    const fut = this.#loop.createFuture<void>();
    if (this.#waiters === null) fut.setResult(undefined);
    else this.#waiters.push(fut);
    return fut;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  toString(): string {
    const names = this.#sockets.map((s) => JSON.stringify(s.getsockname())).join(', ');
    return `<Server sockets=(${names})>`;
  }
}
