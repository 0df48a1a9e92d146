/**
 * Transports and servers: the interfaces every loop's network layer implements (asyncio's
 * `transports.py` and `AbstractServer`). Only types live here; the implementations belong to the
 * loops (`loops/nodenet/` over node:net and node:dgram, shared by every loop for now).
 */
import type { Socket } from './socket.js';
import type { AbstractEventLoop } from './events.js';
import type { Future } from './futures.js';
import type { BaseProtocol, DatagramProtocol } from './protocols.js';

/**
 * A socket address as asyncio's tuples: `[host, port]` for IPv4/IPv6, a path string for Unix
 * sockets (`''` when the peer is unnamed).
 */
export type Address = [host: string, port: number] | string;

/** Bytes a transport accepts: a Buffer, any Uint8Array or other ArrayBuffer view. */
export type BytesLike = Uint8Array | ArrayBufferView;

/** What every transport has. */
export interface BaseTransport {
  /**
   * Transport details: `'peername'` and `'sockname'` (an {@link Address}), `'socket'` (the
   * underlying socket: a `net.Socket` or `dgram.Socket` on the pure loop; on the native loop's TCP transports a
   * `NativeTcpSocket` with `setNoDelay`, `setKeepAlive`, `resetAndDestroy` and addresses, on its
   * datagram transports a `NativeUdpSocket` with `address()`, `remoteAddress()`, `setBroadcast()`), or `defaultValue` for anything unknown.
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  /** True once `close()` or `abort()` was called or the connection was lost. */
  isClosing(): boolean;
  /**
   * Closes the transport: buffered data is still sent, then the protocol's
   * `connectionLost(null)` is called. No more data is received.
   */
  close(): void;
  setProtocol(protocol: BaseProtocol): void;
  getProtocol(): BaseProtocol;
}

/** The reading half of a stream transport. */
export interface ReadTransport extends BaseTransport {
  isReading(): boolean;
  /** Stops calling the protocol's `dataReceived` until `resumeReading()`. */
  pauseReading(): void;
  resumeReading(): void;
}

/** The writing half of a stream transport. */
export interface WriteTransport extends BaseTransport {
  /**
   * Sets the write-buffer limits: `pauseWriting()` is called above `high`, `resumeWriting()`
   * once the buffer is down to `low`.
   * @param high bytes; @default 65536 (or 4 × `low` when only `low` is given)
   * @param low bytes; @default `high / 4`
   */
  setWriteBufferLimits(high?: number, low?: number): void;
  /** `[low, high]`. */
  getWriteBufferLimits(): [low: number, high: number];
  /** Bytes written but not yet handed to the kernel. */
  getWriteBufferSize(): number;
  /**
   * Sends `data`; never blocks. The transport keeps a reference until the bytes are sent, so
   * do not modify `data` afterwards.
   */
  write(data: BytesLike): void;
  writelines(list: Iterable<BytesLike>): void;
  /** Half-closes: sends EOF after the buffered data; the transport can still read. */
  writeEof(): void;
  canWriteEof(): boolean;
  /** Closes at once: buffered data is dropped; `connectionLost(null)` follows. */
  abort(): void;
}

/** A bidirectional stream transport (TCP, Unix socket). */
export interface Transport extends ReadTransport, WriteTransport {}

/**
 * A child process and its pipes (asyncio's `SubprocessTransport`), made by
 * `loop.subprocessExec`/`subprocessShell`.
 */
export interface SubprocessTransport extends BaseTransport {
  /** The child's process id. */
  getPid(): number;
  /** The exit status once the child has exited (minus the signal number if a signal ended it), else null. */
  getReturncode(): number | null;
  /**
   * The transport of the pipe to the child's `fd` (0: a {@link WriteTransport}; 1, 2: a
   * {@link ReadTransport}), or null when that fd is not a pipe.
   */
  getPipeTransport(fd: number): Transport | null;
  /**
   * Sends signal `sig` (a name such as `'SIGUSR1'`, or a number) to the child. Throws an error with
   * `code` 'ESRCH' (asyncio's ProcessLookupError) once the transport has finished.
   */
  sendSignal(sig: string | number): void;
  /** `sendSignal('SIGTERM')`. */
  terminate(): void;
  /** `sendSignal('SIGKILL')`. */
  kill(): void;
  /** Closes the pipes; a child still running is killed (SIGKILL) and reaped. */
  close(): void;
}

/** A datagram (UDP) transport. */
export interface DatagramTransport extends BaseTransport {
  /**
   * Sends one datagram to `addr`, or to the remote address of a connected endpoint (then
   * `addr` must be omitted or equal to it).
   */
  sendto(data: BytesLike, addr?: Address | null): void;
  /** Closes at once, dropping datagrams not yet sent. */
  abort(): void;
  getWriteBufferSize(): number;
  setProtocol(protocol: DatagramProtocol): void;
  getProtocol(): DatagramProtocol;
}

/** One listening socket of a {@link Server}. */
export interface ServerSocket {
  /** The bound address: `[host, port]` or the Unix socket path. */
  getsockname(): Address;
  /** The Node server object behind it. */
  readonly handle: unknown;
}

/** A listening server (asyncio's `Server`). */
export interface Server {
  getLoop(): AbstractEventLoop;
  /** True while accepting connections. */
  isServing(): boolean;
  /** The listening sockets; empty once closed. */
  readonly sockets: readonly ServerSocket[];
  /** Starts accepting connections (if created with `startServing: false`). */
  startServing(): Future<void>;
  /**
   * Accepts connections until cancelled; cancelling it closes the server and waits for it.
   * Throws if the server is closed or already serving forever.
   */
  serveForever(): Future<void>;
  /** Stops listening. Open connections stay open (see `closeClients`). Idempotent. */
  close(): void;
  /** Closes every open connection of this server (asyncio 3.13). */
  closeClients(): void;
  /** Aborts every open connection of this server (asyncio 3.13). */
  abortClients(): void;
  /** Resolves once the server is closed and all its connections are gone. */
  waitClosed(): Future<void>;
  /** `close()` then `waitClosed()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Options of the loop's network methods.

/** A protocol factory: called once per connection, with no arguments. */
export type ProtocolFactory<P> = () => P;

export interface CreateConnectionOptions {
  /** A connected stream {@link Socket} to wrap instead of connecting (host and port omitted); the transport owns it. */
  sock?: Socket;
  /** 4 or 6 to force an address family; 0 lets the resolver pick. @default 0 */
  family?: 0 | 4 | 6;
  /** Binds the client socket to this local `[host, port]` first. */
  localAddr?: [host: string, port: number] | null;
  /** Disables Nagle's algorithm (asyncio sets TCP_NODELAY on every TCP transport). @default true */
  noDelay?: boolean;
}

export interface CreateServerOptions {
  /** A bound (or listening) stream {@link Socket} to serve on instead of binding (host and port omitted); the server owns it. */
  sock?: Socket;
  /** 4 or 6 to listen on that family only. @default 0 */
  family?: 0 | 4 | 6;
  /** The listen backlog. @default 100 */
  backlog?: number;
  /**
   * SO_REUSEADDR. Node always sets it on the listening sockets of Unix platforms, so only
   * `true` (or undefined) is accepted there.
   * @default true
   */
  reuseAddress?: boolean;
  /** Accept connections at once; otherwise call `startServing()` or `serveForever()`. @default true */
  startServing?: boolean;
  /** Listen on IPv6 only (no dual-stack) when the host is IPv6. @default false */
  ipv6Only?: boolean;
}

export interface CreateUnixServerOptions {
  /** A bound (or listening) AF_UNIX stream {@link Socket} to serve on (path omitted); the server owns it. */
  sock?: Socket;
  /** The listen backlog. @default 100 */
  backlog?: number;
  /** @default true */
  startServing?: boolean;
}

export interface CreateDatagramEndpointOptions {
  /** A bound (possibly connected) SOCK_DGRAM {@link Socket} to use instead of making one (no localAddr, remoteAddr, family, broadcast); the endpoint owns it. */
  sock?: Socket;
  /** Binds to this `[host, port]`; port 0 picks a free port. */
  localAddr?: [host: string, port: number] | null;
  /** Connects to this `[host, port]`: `sendto(data)` then sends there; only its datagrams arrive. */
  remoteAddr?: [host: string, port: number] | null;
  /** 4 or 6; otherwise taken from the addresses. @default 0 */
  family?: 0 | 4 | 6;
  /** SO_BROADCAST. @default false */
  allowBroadcast?: boolean;
}

/**
 * Where a child's stdin, stdout or stderr goes: `PIPE` (-1, a pipe to this process), `DEVNULL`
 * (-3, /dev/null), `STDOUT` (-2, stderr only: wherever stdout goes), a file descriptor of this
 * process (an integer >= 0), or `'inherit'`/null/undefined (this process's own, as asyncio's None).
 */
export type StdioOption = number | 'inherit' | null | undefined;

/** Options of `loop.subprocessExec`/`subprocessShell` (asyncio's Popen keywords). */
export interface SubprocessOptions {
  /** @default inherit */
  stdin?: StdioOption;
  /** @default inherit */
  stdout?: StdioOption;
  /** @default inherit */
  stderr?: StdioOption;
  /** The child's working directory. @default this process's */
  cwd?: string | null;
  /** The child's whole environment (string values). @default this process's (`process.env`) */
  env?: Record<string, string> | null;
}

export interface GetaddrinfoOptions {
  /** 4 or 6 to restrict the family; 0 for both. @default 0 */
  family?: 0 | 4 | 6;
  /** {@link SOCK_STREAM}, {@link SOCK_DGRAM}, or 0 for both. @default 0 */
  type?: number;
  /** {@link IPPROTO_TCP}, {@link IPPROTO_UDP}, or 0. @default 0 */
  proto?: number;
  /** `AI_*` hints passed to the resolver (Node's `dns.ADDRCONFIG`, `dns.V4MAPPED`, `dns.ALL`). @default 0 */
  flags?: number;
}

/** One `getaddrinfo` result: asyncio's 5-tuple. The family is 4 or 6. */
export type AddrInfo = [family: 4 | 6, type: number, proto: number, canonname: string, sockaddr: [host: string, port: number]];

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** `getnameinfo` flag: return the numeric host. */
export const NI_NUMERICHOST = 1;
/** `getnameinfo` flag: return the numeric port. */
export const NI_NUMERICSERV = 2;
