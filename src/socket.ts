/**
 * Low-level sockets (SPEC "low-level sockets"): asyncio's `socket.socket` for the loop's `sock*`
 * methods (`sockAccept`, `sockConnect`, `sockRecv`, `sockRecvInto`, `sockSendall`,
 * `sockRecvfrom`, `sockSendto`) and for handing a socket to `createConnection` & co. (`{ sock }`).
 *
 * A {@link Socket} is a front: its state lives in an implementation made by the loop the socket
 * is for (see {@link socket}). The constants have Linux's values.
 */
import { _getRunningLoop, describe, getEventLoop } from './events.js';
import { SOCK_DGRAM, SOCK_STREAM } from './transports.js';
import type { AbstractEventLoop } from './events.js';
import type { Future } from './futures.js';
import { checkAddress } from './loops/io/sock-args.js';

/** Unix domain sockets (addresses are paths). */
export const AF_UNIX = 1;
/** IPv4 (addresses are `[host, port]`). */
export const AF_INET = 2;
/** IPv6 (addresses are `[host, port]`). */
export const AF_INET6 = 10;
/** {@link Socket.shutdown}: no more receptions. */
export const SHUT_RD = 0;
/** {@link Socket.shutdown}: no more transmissions (the peer reads EOF). */
export const SHUT_WR = 1;
/** {@link Socket.shutdown}: both. */
export const SHUT_RDWR = 2;

/** A socket address: `[host, port]` for AF_INET/AF_INET6, a path for AF_UNIX. */
export type SocketAddress = [host: string, port: number] | string;

/** @internal The state of one socket, kept by the backend of the loop kind that made it. */
export interface SocketImpl {
  /** 'native': a real OS socket the addon owns; 'pure': node:net/node:dgram objects. */
  readonly kind: 'native' | 'pure';
  bind(address: SocketAddress): void;
  listen(backlog: number): void;
  getsockname(): SocketAddress;
  getpeername(): SocketAddress;
  fileno(): number;
  shutdown(how: number): void;
  /** Ends pending operations (their futures reject), then releases the socket. */
  close(): void;
  // The loop's sock* methods, after BaseEventLoop checked the arguments.
  accept(loop: AbstractEventLoop): Future<[Socket, SocketAddress]>;
  connect(loop: AbstractEventLoop, address: SocketAddress): Future<void>;
  recv(loop: AbstractEventLoop, n: number): Future<Buffer>;
  recvInto(loop: AbstractEventLoop, buf: Uint8Array): Future<number>;
  sendall(loop: AbstractEventLoop, data: Uint8Array): Future<void>;
  recvfrom(loop: AbstractEventLoop, n: number): Future<[Buffer, SocketAddress]>;
  sendto(loop: AbstractEventLoop, data: Uint8Array, address: SocketAddress): Future<number>;
}

/** @internal What {@link socket} asks the loop for. */
export interface SocketMaker {
  _socketImpl(family: number, type: number): SocketImpl;
}

/** An error as an OS call on a closed socket gives (Python: `[Errno 9] Bad file descriptor`). */
export function closedSocketError(syscall: string): NodeJS.ErrnoException {
  const e = new Error(`${syscall} EBADF: the socket is closed`) as NodeJS.ErrnoException;
  e.code = 'EBADF';
  e.errno = -9;
  e.syscall = syscall;
  return e;
}

/**
 * A socket for the loop's low-level `sock*` methods, made by {@link socket}.
 *
 * **Which loop kind it belongs to.** `socket()` asks the running loop (outside a loop: the
 * policy's current event loop) to make it. On the native loop (`aloop/native`) it is a real OS
 * socket, non-blocking and close-on-exec, owned by the addon: `fileno()` is its fd. On the pure
 * loop it is built on node:net / node:dgram: a listening socket is a `net.Server` (connections
 * wait for `sockAccept`), a connected one a `net.Socket` whose data is buffered (bounded: reading
 * pauses above 256 KiB until `sockRecv` drains it), a datagram socket a `dgram.Socket`; `fileno()`
 * is the fd Node's handle exposes, or -1 before there is one (as Python's after close). A loop
 * given a socket of the other kind throws a TypeError: make the socket while the loop that will
 * use it runs (or is the current loop).
 *
 * Connected TCP sockets (from `sockAccept` and `sockConnect`) have TCP_NODELAY set, as every
 * aloop transport does (Python leaves a raw socket as the OS makes it; there is no `setsockopt`
 * here to set it).
 *
 * **Ownership.** `close()` (or `using`, {@link Symbol.dispose}) ends it exactly once: operations
 * still pending on it reject with EBADF and their readiness watch is removed before the fd is
 * closed. Handed to a transport (`createConnection(f, undefined, undefined, { sock })` & co.) it
 * is detached: the transport owns it and the Socket is closed.
 */
export class Socket {
  /** {@link AF_INET}, {@link AF_INET6} or {@link AF_UNIX}. */
  readonly family: number;
  /** {@link SOCK_STREAM} or {@link SOCK_DGRAM}. */
  readonly type: number;
  #impl: SocketImpl | null;
  #blocking = true;

  /** @internal Sockets come from {@link socket} and `sockAccept`. */
  constructor(family: number, type: number, impl: SocketImpl) {
    this.family = family;
    this.type = type;
    this.#impl = impl;
  }

  /** Binds to `address` (`[host, port]`, host an IP literal, '' for any, or 'localhost'; a path for AF_UNIX). */
  bind(address: SocketAddress): void {
    checkAddress(this.family, address, 'address');
    this.#open('bind').bind(address);
  }

  /** Listens for connections (stream sockets), `backlog` waiting at most. @default backlog 128 */
  listen(backlog = 128): void {
    if (typeof backlog !== 'number') throw new TypeError(`backlog must be a number, not ${describe(backlog)}`);
    if (!Number.isInteger(backlog) || backlog < 0) throw new RangeError(`backlog must be an integer >= 0, not ${backlog}`);
    if (this.type !== SOCK_STREAM) throw osError('EOPNOTSUPP', -95, 'listen', 'a datagram socket cannot listen');
    this.#open('listen').listen(Math.min(backlog, 65535));
  }

  /**
   * `false` makes the socket non-blocking, as the `sock*` methods need (asyncio checks it in debug
   * mode only, and so do they: `loop.setDebug(true)`). The socket is non-blocking underneath
   * either way: this flag is what the program declared.
   */
  setblocking(flag: boolean): void {
    if (typeof flag !== 'boolean') throw new TypeError(`flag must be a boolean, not ${describe(flag)}`);
    this.#open('setblocking');
    this.#blocking = flag;
  }

  /** Whether the program left (or made) the socket blocking: see {@link setblocking}. */
  getblocking(): boolean {
    return this.#blocking;
  }

  /** The socket's own address. */
  getsockname(): SocketAddress {
    return this.#open('getsockname').getsockname();
  }

  /** The connected peer's address (ENOTCONN if none). */
  getpeername(): SocketAddress {
    return this.#open('getpeername').getpeername();
  }

  /** The OS file descriptor, or -1 (closed, or a pure-loop socket Node has no fd for yet). */
  fileno(): number {
    return this.#impl === null ? -1 : this.#impl.fileno();
  }

  /** Shuts down reading ({@link SHUT_RD}), writing ({@link SHUT_WR}) or both ({@link SHUT_RDWR}). */
  shutdown(how: number): void {
    if (typeof how !== 'number') throw new TypeError(`how must be SHUT_RD, SHUT_WR or SHUT_RDWR, not ${describe(how)}`);
    if (how !== 0 && how !== 1 && how !== 2) throw new RangeError(`how must be SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2), not ${how}`);
    this.#open('shutdown').shutdown(how);
  }

  /** Closes the socket (again: nothing happens). Pending `sock*` operations on it reject with EBADF. */
  close(): void {
    const impl = this.#impl;
    if (impl === null) return;
    this.#impl = null;
    impl.close();
  }

  /** {@link close}, for `using sock = socket()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Whether {@link close} was called (or the socket was handed to a transport). */
  get closed(): boolean {
    return this.#impl === null;
  }

  /**
   * @internal The implementation, for a loop of kind `kind` (the `sock*` methods): EBADF when
   * closed, a TypeError when the socket belongs to the other loop kind.
   */
  _use(kind: 'native' | 'pure', syscall: string, debug = false): SocketImpl {
    const impl = this.#open(syscall);
    if (impl.kind !== kind) {
      throw new TypeError(
        kind === 'native'
          ? 'sock was made for the pure loop (node:net); the native loop needs a real OS socket: call socket() while the native loop runs, or after setting it as the current event loop'
          : 'sock is a native OS socket (made while the native loop was current); the pure loop cannot poll it: call socket() while the pure loop runs, or use the native loop',
      );
    }
    if (debug && this.#blocking) throw new RangeError('the socket must be non-blocking (call sock.setblocking(false))');
    return impl;
  }

  /** @internal Hands the implementation over (`{ sock }` options): the Socket is closed from here on. */
  _detach(kind: 'native' | 'pure'): SocketImpl {
    const impl = this._use(kind, 'detach');
    this.#impl = null;
    return impl;
  }

  #open(syscall: string): SocketImpl {
    if (this.#impl === null) throw closedSocketError(syscall);
    return this.#impl;
  }

  toString(): string {
    const fam = this.family === AF_INET ? 'AF_INET' : this.family === AF_INET6 ? 'AF_INET6' : 'AF_UNIX';
    return `<Socket fd=${this.fileno()} family=${fam} type=${this.type === SOCK_STREAM ? 'SOCK_STREAM' : 'SOCK_DGRAM'}>`;
  }
}

function osError(code: string, errno: number, syscall: string, message: string): NodeJS.ErrnoException {
  const e = new Error(`${syscall} ${code}: ${message}`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = errno;
  e.syscall = syscall;
  return e;
}

/**
 * Makes a socket (asyncio programs' `socket.socket(family, type)`), for the running loop, or
 * outside a loop the policy's current event loop: a real OS socket for the native loop, a
 * node:net / node:dgram one for the pure loop (see {@link Socket}). Sockets start blocking as
 * Python's do; call `setblocking(false)` before the `sock*` methods as asyncio programs do.
 */
export function socket(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0): Socket {
  if (typeof family !== 'number') throw new TypeError(`family must be AF_INET, AF_INET6 or AF_UNIX, not ${describe(family)}`);
  if (family !== AF_INET && family !== AF_INET6 && family !== AF_UNIX) throw new RangeError(`family must be AF_INET (2), AF_INET6 (10) or AF_UNIX (1), not ${family}`);
  if (typeof type !== 'number') throw new TypeError(`type must be SOCK_STREAM or SOCK_DGRAM, not ${describe(type)}`);
  if (type !== SOCK_STREAM && type !== SOCK_DGRAM) throw new RangeError(`type must be SOCK_STREAM (1) or SOCK_DGRAM (2), not ${type}`);
  if (typeof proto !== 'number') throw new TypeError(`proto must be a number, not ${describe(proto)}`);
  if (proto !== 0) throw new RangeError(`proto must be 0 (the family's default protocol), not ${proto}`);
  const loop = (_getRunningLoop() ?? getEventLoop()) as unknown as Partial<SocketMaker>;
  if (typeof loop._socketImpl !== 'function') throw new TypeError(`the current event loop (${String(loop)}) cannot make sockets`);
  return new Socket(family, type, loop._socketImpl(family, type));
}
