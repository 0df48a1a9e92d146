/**
 * The native loop's low-level sockets: real OS sockets the addon owns (native/socket.cc), waited
 * on with the loop's fd watches (poll.ts). Each operation tries its syscall at once and only when
 * it would block (EAGAIN, EINPROGRESS) waits for readiness and tries again, as uvloop does: a
 * sockRecv on a socket with data waiting costs one recv and no poll.
 */
import { isIP } from 'node:net';
import { type AbstractEventLoop, Handle } from '../../events.js';
import type { Future } from '../../futures.js';
import { AF_INET6, AF_UNIX, Socket, type SocketAddress, type SocketImpl, closedSocketError } from '../../socket.js';
import { bindHost } from '../io/sock-args.js';
import type { NativeBinding } from './binding.js';
import { uvError } from './io.js';
import { type FdWatches, fdWatchesOf } from './poll.js';

/** Linux errno values, negated as the addon returns them. */
const EAGAIN = -11;
const EINPROGRESS = -115;

/** Reads of at most this much go through one shared buffer (JS runs on one thread). */
const SCRATCH_SIZE = 64 * 1024;
const scratch = Buffer.allocUnsafeSlow(SCRATCH_SIZE);

/** One operation waiting for readiness: how to stop it when the socket closes. */
interface Waiting {
  fut: Future<any>;
  watches: FdWatches;
  writer: boolean;
}

/** @internal A real OS socket: its fd is the addon's until close() or detach(). */
export class NativeSocket implements SocketImpl {
  readonly kind = 'native';
  readonly family: number;
  readonly type: number;
  readonly #b: NativeBinding;
  #fd: number;
  /** Operations waiting for readiness (one reader and one writer at most, per asyncio's rules). */
  readonly #waiting = new Set<Waiting>();
  /** The fd watches (of each loop that used this socket) that may hold an idle poll handle on it. */
  readonly #watched = new Set<FdWatches>();
  /**
   * The last read took less than it asked for: the socket's buffer is most likely empty, so the
   * next read waits for readiness without trying first (a recv that would only say EAGAIN: in
   * an echo, one syscall and one call into the addon per message). Epoll is level-triggered, so
   * data that is there after all is reported at once.
   */
  #drained = false;
  /** The latest operation of each direction (reading, writing): the next one starts after it. */
  readonly #last: [Future<any> | null, Future<any> | null] = [null, null];

  constructor(binding: NativeBinding, family: number, type: number, fd: number) {
    this.#b = binding;
    this.family = family;
    this.type = type;
    this.#fd = fd;
  }

  static open(binding: NativeBinding, family: number, type: number): NativeSocket {
    const fd = binding.socketOpen(family, type);
    if (fd < 0) throw uvError(binding, fd, 'socket');
    return new NativeSocket(binding, family, type, fd);
  }

  #err(errno: number, syscall: string, address?: SocketAddress): NodeJS.ErrnoException {
    if (typeof address === 'string') {
      const e = uvError(this.#b, errno, syscall, address);
      (e as { path?: string }).path = address;
      return e;
    }
    return uvError(this.#b, errno, syscall, address?.[0], address?.[1]);
  }

  /** host for the addon: an IP literal of this family. */
  #host(address: SocketAddress): string {
    return typeof address === 'string' ? address : bindHost(address[0], this.family === AF_INET6);
  }

  bind(address: SocketAddress): void {
    const r = this.#b.socketBind(this.#fd, this.family, this.#host(address), typeof address === 'string' ? 0 : address[1]);
    if (r < 0) throw this.#err(r, 'bind', address);
  }

  listen(backlog: number): void {
    const r = this.#b.socketListen(this.#fd, backlog);
    if (r < 0) throw this.#err(r, 'listen');
  }

  getsockname(): SocketAddress {
    const r = this.#b.socketName(this.#fd, false);
    if (typeof r === 'number') throw this.#err(r, 'getsockname');
    return r;
  }

  getpeername(): SocketAddress {
    const r = this.#b.socketName(this.#fd, true);
    if (typeof r === 'number') throw this.#err(r, 'getpeername');
    return r;
  }

  fileno(): number {
    return this.#fd;
  }

  shutdown(how: number): void {
    const r = this.#b.socketShutdown(this.#fd, how);
    if (r < 0) throw this.#err(r, 'shutdown');
  }

  /** Ends the waiting operations and closes the fd's poll handles (before the fd is closed). */
  #unwatch(end: (w: Waiting) => void): void {
    for (const w of [...this.#waiting]) {
      this.#waiting.delete(w);
      w.watches.remove(this.#fd, w.writer);
      if (!w.fut.done()) end(w);
    }
    for (const watches of this.#watched) watches.release(this.#fd);
    this.#watched.clear();
  }

  close(): void {
    // Watches first: the fd leaves epoll before its number can be reused.
    this.#unwatch((w) => w.fut.setException(closedSocketError(w.writer ? 'send' : 'recv')));
    const fd = this.#fd;
    this.#fd = -1;
    this.#b.socketClose(fd);
  }

  /**
   * @internal The fd, for a transport's handle (`Io.openFd` takes it from the addon's sockets):
   * pending operations are cancelled and the fd's watches closed first.
   */
  detach(): number {
    this.#unwatch((w) => w.fut.cancel());
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }

  /**
   * Runs `attempt` now and, while it returns false (it would block), each time the fd is ready
   * for reading (`writer` false) or writing. Cancelling the future removes the watch; nothing
   * was consumed by an attempt that would have blocked, so no data is lost.
   */
  #op<T>(loop: AbstractEventLoop, writer: boolean, attempt: (fut: Future<T>) => boolean, tryFirst = true): Future<T> {
    const fut = loop.createFuture() as Future<T>;
    // Operations of one direction run one at a time, in call order (two sockSendall must not
    // interleave their bytes; a second sockRecv must not take the first one's watch).
    const side = writer ? 1 : 0;
    const prev = this.#last[side];
    this.#last[side] = fut;
    if (prev === null || prev.done()) this.#begin(fut, writer, attempt, loop, tryFirst);
    else prev.addDoneCallback(() => {
      if (!fut.done()) this.#begin(fut, writer, attempt, loop, true);
    });
    return fut;
  }

  #begin<T>(fut: Future<T>, writer: boolean, attempt: (fut: Future<T>) => boolean, loop: AbstractEventLoop, tryFirst: boolean): void {
    const guard = (): boolean => {
      try {
        return attempt(fut);
      } catch (e) {
        fut.setException(e);
        return true;
      }
    };
    if (tryFirst && guard()) return;
    const watches = fdWatchesOf(loop);
    const fd = this.#fd;
    const w: Waiting = { fut, watches, writer };
    const retry = (): void => {
      if (fut.done() || !guard()) return;
      this.#waiting.delete(w);
      watches.remove(fd, writer, true);
    };
    watches.add(fd, writer, new Handle(retry, null, loop));
    this.#watched.add(watches);
    this.#waiting.add(w);
    fut.addDoneCallback(() => {
      if (!this.#waiting.delete(w)) return;
      watches.remove(fd, writer, true);
    });
  }


  accept(loop: AbstractEventLoop): Future<[Socket, SocketAddress]> {
    return this.#op(loop, false, (fut) => {
      const c = this.#b.socketAccept(this.#fd);
      if (c === EAGAIN) return false;
      if (c < 0) throw this.#err(c, 'accept');
      const s = new Socket(this.family, this.type, new NativeSocket(this.#b, this.family, this.type, c));
      let peer = this.#b.socketName(c, true);
      if (typeof peer === 'number') peer = this.family === AF_UNIX ? '' : ['', 0];
      fut.setResult([s, peer]);
      return true;
    });
  }

  connect(loop: AbstractEventLoop, address: SocketAddress): Future<void> {
    const host = this.#host(address);
    const port = typeof address === 'string' ? 0 : address[1];
    if (typeof address !== 'string' && isIP(host) === 0) {
      // A name: resolve it first (asyncio's _ensure_resolved), then connect to the first address.
      const fut = loop.createFuture() as Future<void>;
      const family = this.family;
      loop
        .getaddrinfo(host, port, { family: family === AF_INET6 ? 6 : 4, type: this.type })
        .then((infos) => {
          if (fut.done()) return;
          const ip = infos[0]?.[4][0];
          if (ip === undefined) throw this.#err(-3008, 'getaddrinfo', address); // ENOTFOUND
          const inner = this.connect(loop, [ip as string, port]);
          inner.addDoneCallback((f) => {
            if (fut.done()) return;
            const e = f.cancelled() ? null : f.exception();
            if (f.cancelled()) fut.cancel();
            else if (e) fut.setException(e);
            else fut.setResult(undefined);
          });
          fut.addDoneCallback(() => {
            if (fut.cancelled()) inner.cancel();
          });
        })
        .catch((e: unknown) => {
          if (!fut.done()) fut.setException(e);
        });
      return fut;
    }
    let started = false;
    return this.#op(loop, true, (fut) => {
      if (!started) {
        started = true;
        const r = this.#b.socketConnect(this.#fd, this.family, host, port);
        if (r === EINPROGRESS || r === EAGAIN) return false;
        if (r < 0) throw this.#err(r, 'connect', address);
        fut.setResult(undefined);
        return true;
      }
      // Writable: the connect finished, well or not (SO_ERROR says which).
      const e = this.#b.socketError(this.#fd);
      if (e < 0) throw this.#err(e, 'connect', address);
      fut.setResult(undefined);
      return true;
    });
  }

  recv(loop: AbstractEventLoop, n: number): Future<Buffer> {
    return this.#op(loop, false, (fut) => {
      // Nothing asked, nothing waited for (Linux's recv of 0 bytes would block until data came).
      if (n === 0) {
        fut.setResult(Buffer.alloc(0));
        return true;
      }
      // Into the shared scratch buffer, then a copy of what came: a recv(65536) that gets 1 KiB
      // costs a 1 KiB Buffer from Node's pool, not a fresh 64 KiB allocation per call.
      const big = n > SCRATCH_SIZE;
      const buf = big ? Buffer.allocUnsafe(n) : n === SCRATCH_SIZE ? scratch : scratch.subarray(0, n);
      const r = this.#b.socketRecv(this.#fd, buf);
      if (r === EAGAIN) return false;
      if (r < 0) throw this.#err(r, 'recv');
      this.#drained = r < n;
      if (big) {
        fut.setResult(r === n ? buf : Buffer.from(buf.subarray(0, r)));
      } else {
        const out = Buffer.allocUnsafe(r);
        scratch.copy(out, 0, 0, r);
        fut.setResult(out);
      }
      return true;
    }, !this.#drained || n === 0);
  }

  recvInto(loop: AbstractEventLoop, buf: Uint8Array): Future<number> {
    return this.#op(loop, false, (fut) => {
      if (buf.length === 0) {
        fut.setResult(0);
        return true;
      }
      const r = this.#b.socketRecv(this.#fd, buf);
      if (r === EAGAIN) return false;
      if (r < 0) throw this.#err(r, 'recv');
      this.#drained = r < buf.length;
      fut.setResult(r);
      return true;
    }, !this.#drained || buf.length === 0);
  }

  sendall(loop: AbstractEventLoop, data: Uint8Array): Future<void> {
    let off = 0;
    return this.#op(loop, true, (fut) => {
      while (off < data.length) {
        const r = this.#b.socketSend(this.#fd, off === 0 ? data : data.subarray(off));
        if (r === EAGAIN) return false;
        if (r < 0) throw this.#err(r, 'send');
        off += r;
      }
      fut.setResult(undefined);
      return true;
    });
  }

  recvfrom(loop: AbstractEventLoop, n: number): Future<[Buffer, SocketAddress]> {
    return this.#op(loop, false, (fut) => {
      const big = n > SCRATCH_SIZE;
      const buf = big ? Buffer.allocUnsafe(n) : n === SCRATCH_SIZE ? scratch : scratch.subarray(0, n);
      const r = this.#b.socketRecvfrom(this.#fd, buf);
      if (r === EAGAIN) return false;
      if (typeof r === 'number') throw this.#err(r, 'recvfrom');
      fut.setResult([big && r[0] === n ? buf : Buffer.from(buf.subarray(0, r[0])), r[1]]);
      return true;
    });
  }

  sendto(loop: AbstractEventLoop, data: Uint8Array, address: SocketAddress): Future<number> {
    const host = this.#host(address);
    const port = typeof address === 'string' ? 0 : address[1];
    return this.#op(loop, true, (fut) => {
      const r = this.#b.socketSendto(this.#fd, data, this.family, host, port);
      if (r === EAGAIN) return false;
      if (r < 0) throw this.#err(r, 'sendto', address);
      fut.setResult(r);
      return true;
    });
  }
}
