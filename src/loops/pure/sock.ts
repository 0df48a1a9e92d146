/**
 * The pure loop's low-level sockets, on node:net and node:dgram: the same API as the native loop's
 * real OS sockets, with the same observable behaviour.
 *
 * - A listening stream socket is a `net.Server` (`pauseOnConnect`): connections wait in a queue
 *   for `sockAccept`, unread, as they wait in the kernel's backlog.
 * - A connected stream socket (`sockConnect`, `sockAccept`) is a `net.Socket` whose data is
 *   buffered for `sockRecv`: at most `n` bytes per call, in order, nothing lost when a `sockRecv`
 *   is cancelled (the bytes stay buffered). Past HIGH_WATER bytes buffered the socket pauses
 *   until `sockRecv` has drained it, as a kernel buffer fills and the peer waits.
 * - A datagram socket is a `dgram.Socket`, received datagrams queued for `sockRecvfrom`.
 *
 * Binding is synchronous as Python's is, errors (EADDRINUSE) thrown by bind()/listen():
 * node:dgram binds at once when its `lookup` answers at once (ours does for IP literals); a
 * net.Server's listen() goes through dns.lookup even for an IP literal, so listen() calls what
 * it would call after the lookup, `Server._listen2` (the same path Node takes for Unix paths),
 * which binds and listens at once and reports failure through process.nextTick: that one error is
 * taken from the call (see listenNow) and thrown.
 */
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import { SOCK_STREAM } from '../../transports.js';
import { AF_INET6, AF_UNIX, Socket, type SocketAddress, type SocketImpl, closedSocketError } from '../../socket.js';
import { bindHost } from '../io/sock-args.js';

/** Bytes buffered for sockRecv before the net.Socket pauses. */
const HIGH_WATER = 256 * 1024;
/** Datagrams queued for sockRecvfrom before more are dropped (UDP's to lose, as a full kernel buffer). */
const MAX_DATAGRAMS = 4096;
/** The backlog of a socket bind() made listen before listen() names one (Linux's default cap). */
const SOMAXCONN = 4096;

type Waiter<T> = { fut: Future<T>; take: () => boolean };

function errnoError(code: string, errno: number, syscall: string, message: string): NodeJS.ErrnoException {
  const e = new Error(`${syscall} ${code}: ${message}`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = errno;
  e.syscall = syscall;
  return e;
}

/** A future of `fn(result of src)`; cancelling it cancels `src`. */
function mapFuture<T, U>(loop: AbstractEventLoop, src: Future<T>, fn: (v: T) => U): Future<U> {
  const out = loop.createFuture() as Future<U>;
  src.addDoneCallback(() => {
    if (out.done()) return;
    if (src.cancelled()) out.cancel();
    else if (src.exception() != null) out.setException(src.exception());
    else out.setResult(fn(src.result()));
  });
  out.addDoneCallback(() => {
    if (out.cancelled()) src.cancel();
  });
  return out;
}

/** Binds and listens `server` now; throws the bind/listen error (see the file comment). */
function listenNow(server: net.Server, address: string, port: number, addressType: number, backlog: number): void {
  const s = server as net.Server & { _listen2?: (...a: unknown[]) => void };
  if (typeof s._listen2 !== 'function') {
    // A Node without it: listen the public way; an error then ends the next sockAccept.
    if (addressType === -1) server.listen({ path: address, backlog });
    else server.listen({ host: address, port, backlog });
    return;
  }
  const tick = process.nextTick;
  let failure: Error | null = null;
  process.nextTick = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (failure === null && args[0] === server && args[1] instanceof Error) {
      failure = args[1];
      return;
    }
    return tick.call(process, fn, ...args);
  } as typeof process.nextTick;
  try {
    s._listen2(address, port, addressType, backlog, undefined, 0);
  } finally {
    process.nextTick = tick;
  }
  if (failure !== null) throw failure;
}

/** @internal A socket of the pure loop. */
export class PureSocket implements SocketImpl {
  readonly kind = 'pure';
  readonly family: number;
  readonly type: number;
  #closed = false;
  /** bind()'s address (stream sockets: used by listen() or as the local address of connect). */
  #bound: SocketAddress | null = null;
  // A listener.
  #server: net.Server | null = null;
  readonly #conns: net.Socket[] = [];
  /** listen() was called (bind() listens too, but accepts nothing until then). */
  #listened = false;
  #serverError: Error | null = null;
  // A connected stream.
  #stream: net.Socket | null = null;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #eof = false;
  #readShut = false;
  #streamError: Error | null = null;
  #paused = false;
  // A datagram socket.
  #dgram: dgram.Socket | null = null;
  readonly #datagrams: [Buffer, SocketAddress][] = [];
  // Operations waiting (readers: accept, recv, recvfrom; each served in order).
  readonly #readers: Waiter<any>[] = [];
  readonly #others = new Set<Future<any>>();
  /** The node objects are ref'd (an operation waits), see #refresh. */
  #reffed = true;

  constructor(family: number, type: number) {
    this.family = family;
    this.type = type;
    if (type !== SOCK_STREAM) this.#openDgram();
  }

  static fromStream(family: number, stream: net.Socket): PureSocket {
    const s = new PureSocket(family, SOCK_STREAM);
    s.#attach(stream);
    return s;
  }

  #openDgram(): void {
    const v6 = this.family === AF_INET6;
    if (this.family === AF_UNIX) throw new TypeError('the pure loop has no AF_UNIX datagram sockets (node:dgram has none): use the native loop');
    const d = dgram.createSocket({
      type: v6 ? 'udp6' : 'udp4',
      // IP literals answer at once (so bind() binds at once); names go to dns.lookup.
      lookup: ((host: string, _opts: unknown, cb: (e: Error | null, a: string, f: number) => void) => {
        const f = net.isIP(host);
        if (f !== 0) cb(null, host, f);
        else dns.lookup(host, { family: v6 ? 6 : 4 }, (e, a, fam) => cb(e, a, fam));
      }) as never,
    });
    d.on('message', (msg, rinfo) => {
      if (this.#datagrams.length >= MAX_DATAGRAMS) return;
      this.#datagrams.push([msg, [rinfo.address, rinfo.port]]);
      this.#serve();
    });
    d.on('error', (e) => {
      this.#streamError = e;
      this.#serve();
    });
    this.#dgram = d;
    this.#adopted();
  }

  #attach(stream: net.Socket): void {
    this.#stream = stream;
    this.#adopted();
    // TCP_NODELAY, as the native loop's sockets (native/socket.cc NoDelay) and every transport.
    if (this.family !== AF_UNIX) stream.setNoDelay(true);
    stream.on('data', (chunk: Buffer) => {
      if (this.#readShut) return;
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= HIGH_WATER && !this.#paused) {
        this.#paused = true;
        stream.pause();
      }
      this.#serve();
    });
    stream.on('end', () => {
      this.#eof = true;
      this.#serve();
    });
    stream.on('error', (e) => {
      this.#streamError = e;
      this.#serve();
    });
    stream.resume();
  }

  /** Serves waiting readers in order while they can be. */
  #serve(): void {
    const readers = this.#readers;
    while (readers.length > 0) {
      const w = readers[0]!;
      if (w.fut.done()) {
        readers.shift();
        continue;
      }
      if (!w.take()) break;
      readers.shift();
    }
    this.#refresh();
  }

  /** A new node object (ref'd, as Node makes them) joined the socket: apply #refresh's rule to it. */
  #adopted(): void {
    this.#reffed = true;
    this.#refresh();
  }

  /**
   * Keeps the process alive while an operation waits, not otherwise: a socket nobody waits on
   * holds nothing open in Node's loop, as the native loop's OS socket holds no handle (and as an
   * unclosed Python socket keeps no program running).
   */
  #refresh(): void {
    const want = this.#readers.length > 0 || this.#others.size > 0;
    if (want === this.#reffed) return;
    this.#reffed = want;
    for (const o of [this.#server, this.#stream, this.#dgram]) {
      if (o === null) continue;
      if (want) o.ref();
      else o.unref();
    }
  }

  #wait<T>(loop: AbstractEventLoop, take: (fut: Future<T>) => boolean): Future<T> {
    this.#check('recv');
    const fut = loop.createFuture() as Future<T>;
    const w: Waiter<T> = { fut, take: () => take(fut) };
    const readers = this.#readers;
    while (readers.length > 0 && readers[0]!.fut.done()) readers.shift();
    if (readers.length === 0 && w.take()) return fut;
    // A cancelled reader stays queued, taking nothing: #serve drops it when its turn comes (a
    // reader waits only while nothing is buffered, so no later one could have been served).
    this.#readers.push(w);
    this.#refresh();
    return fut;
  }

  #check(syscall: string): void {
    if (this.#closed) throw closedSocketError(syscall);
  }

  /** Takes up to n buffered bytes. */
  #take(n: number): Buffer {
    const chunks = this.#chunks;
    let out: Buffer;
    const first = chunks[0]!;
    if (first.length > n) {
      out = first.subarray(0, n);
      chunks[0] = first.subarray(n);
    } else if (first.length === n || chunks.length === 1) {
      out = first;
      chunks.shift();
    } else {
      const parts: Buffer[] = [];
      let len = 0;
      while (chunks.length > 0 && len < n) {
        const c = chunks[0]!;
        if (len + c.length <= n) {
          parts.push(c);
          len += c.length;
          chunks.shift();
        } else {
          parts.push(c.subarray(0, n - len));
          chunks[0] = c.subarray(n - len);
          len = n;
        }
      }
      out = Buffer.concat(parts, len);
    }
    this.#buffered -= out.length;
    if (this.#paused && this.#buffered < HIGH_WATER / 2) {
      this.#paused = false;
      this.#stream?.resume();
    }
    return out;
  }

  bind(address: SocketAddress): void {
    this.#check('bind');
    if (this.#dgram !== null) {
      const [host, port] = address as [string, number];
      const d = this.#dgram;
      let failure: Error | null = null;
      const onError = (e: Error): void => {
        failure = e;
      };
      d.prependOnceListener('error', onError);
      d.bind({ address: bindHost(host, this.family === AF_INET6), port, exclusive: true });
      d.removeListener('error', onError);
      if (failure !== null) throw failure;
      return;
    }
    if (this.#bound !== null || this.#server !== null || this.#stream !== null) throw errnoError('EINVAL', -22, 'bind', 'the socket is bound already');
    // node:net binds only as it listens: bind() listens already (accepting nothing until
    // listen()), so that the port is taken, its errors thrown and getsockname() known here, as
    // bind() does. A connect() that follows gives the port back and binds the client to it.
    this.#bound = address;
    try {
      this.#startListening(SOMAXCONN);
    } catch (e) {
      this.#bound = null;
      throw e;
    }
  }

  listen(backlog: number): void {
    this.#check('listen');
    if (this.#stream !== null) throw errnoError('EINVAL', -22, 'listen', 'the socket is connected');
    if (this.#server === null) this.#startListening(backlog);
    this.#listened = true;
  }

  #startListening(backlog: number): void {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    server.on('connection', (c: net.Socket) => {
      this.#conns.push(c);
      this.#serve();
    });
    server.on('error', (e) => {
      this.#serverError = e;
      this.#serve();
    });
    const v6 = this.family === AF_INET6;
    const a = this.#bound;
    if (this.family === AF_UNIX) {
      if (typeof a !== 'string') throw errnoError('EINVAL', -22, 'listen', 'an AF_UNIX socket must be bound to a path before listen()');
      listenNow(server, a, -1, -1, backlog);
    } else {
      const [host, port] = (a as [string, number] | null) ?? ['', 0];
      listenNow(server, bindHost(host, v6), port, v6 ? 6 : 4, backlog);
    }
    this.#server = server;
    this.#adopted();
  }

  getsockname(): SocketAddress {
    this.#check('getsockname');
    if (this.#dgram !== null) {
      try {
        const a = this.#dgram.address();
        return [a.address, a.port];
      } catch {
        return [this.family === AF_INET6 ? '::' : '0.0.0.0', 0];
      }
    }
    if (this.family === AF_UNIX) {
      return typeof this.#bound === 'string' ? this.#bound : '';
    }
    const a = (this.#server?.address() ?? (this.#stream ? { address: this.#stream.localAddress, port: this.#stream.localPort } : null)) as net.AddressInfo | null;
    if (a !== null && a.address !== undefined) return [a.address, a.port];
    const b = this.#bound as [string, number] | null;
    return b !== null ? [b[0], b[1]] : [this.family === AF_INET6 ? '::' : '0.0.0.0', 0];
  }

  getpeername(): SocketAddress {
    this.#check('getpeername');
    if (this.#dgram !== null) {
      try {
        const a = this.#dgram.remoteAddress();
        return [a.address, a.port];
      } catch {
        throw errnoError('ENOTCONN', -107, 'getpeername', 'the socket is not connected');
      }
    }
    const s = this.#stream;
    if (s === null || s.destroyed) throw errnoError('ENOTCONN', -107, 'getpeername', 'the socket is not connected');
    if (this.family === AF_UNIX) return (s as net.Socket & { _peername?: string })._peername ?? '';
    if (s.remoteAddress === undefined) throw errnoError('ENOTCONN', -107, 'getpeername', 'the socket is not connected');
    return [s.remoteAddress, s.remotePort!];
  }

  fileno(): number {
    const h = ((this.#server ?? this.#stream) as unknown as { _handle?: { fd?: number } } | null)?._handle;
    return typeof h?.fd === 'number' ? h.fd : -1;
  }

  shutdown(how: number): void {
    this.#check('shutdown');
    const s = this.#stream;
    if (s === null) throw errnoError('ENOTCONN', -107, 'shutdown', 'the socket is not connected');
    if (how !== 1) {
      // SHUT_RD: what arrives is discarded, reads see EOF.
      this.#readShut = true;
      this.#eof = true;
      this.#chunks.length = 0;
      this.#buffered = 0;
      this.#serve();
    }
    if (how !== 0) s.end();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const readers = this.#readers.splice(0);
    for (const w of readers) if (!w.fut.done()) w.fut.setException(closedSocketError('recv'));
    for (const f of this.#others) if (!f.done()) f.setException(closedSocketError('send'));
    this.#others.clear();
    this.#stream?.destroy();
    for (const c of this.#conns.splice(0)) c.destroy();
    this.#server?.close();
    this.#dgram?.close();
  }

  /** The socket's state, for the checks of `{ sock }` before anything is handed over. */
  get state(): 'connected' | 'listening' | 'bound' | 'datagram' | 'new' {
    if (this.#stream !== null) return 'connected';
    if (this.#server !== null) return this.#listened ? 'listening' : 'bound';
    if (this.#dgram !== null) return 'datagram';
    return this.#bound !== null ? 'bound' : 'new';
  }

  /** A stream socket bound but not listening yet: listen now (createServer's `{ sock }`). */
  listenForHandoff(backlog: number): void {
    if (this.#stream === null && this.#dgram === null && !this.#listened) this.listen(backlog);
  }

  /**
   * @internal The node objects, no longer this socket's (a transport or server takes them, `{ sock }`),
   * with what this socket had received and not handed out: a stream's unread bytes, a listener's
   * connections not accepted yet, a datagram socket's datagrams. Pending operations are cancelled.
   */
  detach(): { stream: net.Socket | null; server: net.Server | null; dgram: dgram.Socket | null; unread: Buffer | null; pending: net.Socket[]; datagrams: [Buffer, SocketAddress][] } {
    for (const w of this.#readers.splice(0)) w.fut.cancel();
    for (const f of this.#others) f.cancel();
    this.#others.clear();
    const out = {
      stream: this.#stream,
      server: this.#server,
      dgram: this.#dgram,
      unread: this.#chunks.length > 0 ? Buffer.concat(this.#chunks) : null,
      pending: this.#conns.splice(0),
      datagrams: this.#datagrams.splice(0),
    };
    // Their listeners go with this socket; the node objects are the new owner's to listen to
    // (and to ref or unref: they go back to Node's default).
    out.stream?.ref();
    out.server?.ref();
    out.dgram?.ref();
    out.stream?.removeAllListeners('data').removeAllListeners('end').removeAllListeners('error');
    if (this.#paused) out.stream?.resume();
    out.server?.removeAllListeners('connection').removeAllListeners('error');
    out.dgram?.removeAllListeners('message').removeAllListeners('error');
    this.#stream = null;
    this.#server = null;
    this.#dgram = null;
    this.#chunks.length = 0;
    this.#closed = true;
    return out;
  }

  accept(loop: AbstractEventLoop): Future<[Socket, SocketAddress]> {
    if (this.#server === null || !this.#listened) throw errnoError('EINVAL', -22, 'accept', 'the socket is not listening');
    return this.#wait(loop, (fut) => {
      if (this.#serverError !== null) {
        fut.setException(this.#serverError);
        return true;
      }
      const c = this.#conns.shift();
      if (c === undefined) return false;
      const s = PureSocket.fromStream(this.family, c);
      const peer: SocketAddress = this.family === AF_UNIX ? '' : [c.remoteAddress ?? '', c.remotePort ?? 0];
      fut.setResult([new Socket(this.family, SOCK_STREAM, s), peer]);
      return true;
    });
  }

  connect(loop: AbstractEventLoop, address: SocketAddress): Future<void> {
    this.#check('connect');
    if (this.#dgram !== null) {
      const fut = loop.createFuture() as Future<void>;
      const [host, port] = address as [string, number];
      this.#dgram.connect(port, bindHost(host, this.family === AF_INET6), () => {
        if (!fut.done()) fut.setResult(undefined);
      });
      return fut;
    }
    if (this.#stream !== null || this.#listened) throw errnoError('EISCONN', -106, 'connect', 'the socket is connected or listening');
    let local = this.#bound as [string, number] | null;
    if (this.#server !== null) {
      // Bound by bind() (see there): the client takes over the address.
      const a = this.#server.address();
      if (a !== null && typeof a === 'object') local = [a.address, a.port];
      this.#server.close();
      this.#server = null;
    }
    const fut = loop.createFuture() as Future<void>;
    let stream: net.Socket;
    if (typeof address === 'string') {
      stream = net.connect({ path: address, allowHalfOpen: true });
    } else {
      const v6 = this.family === AF_INET6;
      stream = net.connect({
        host: bindHost(address[0], v6),
        port: address[1],
        family: v6 ? 6 : 4,
        allowHalfOpen: true,
        ...(local !== null ? { localAddress: bindHost(local[0], v6), localPort: local[1] } : {}),
      });
    }
    // Until connected, the stream is the connect's: an error ends it, cancelling destroys it.
    const onError = (e: Error): void => {
      if (!fut.done()) fut.setException(e);
    };
    stream.once('error', onError);
    stream.once('connect', () => {
      stream.removeListener('error', onError);
      if (fut.done() || this.#closed) {
        stream.destroy();
        return;
      }
      if (typeof address === 'string') (stream as net.Socket & { _peername?: string })._peername = address;
      this.#attach(stream);
      fut.setResult(undefined);
    });
    this.#others.add(fut);
    this.#refresh();
    fut.addDoneCallback(() => {
      this.#others.delete(fut);
      this.#refresh();
      if (fut.cancelled()) stream.destroy();
    });
    return fut;
  }

  recv(loop: AbstractEventLoop, n: number): Future<Buffer> {
    if (this.#dgram !== null) return mapFuture(loop, this.recvfrom(loop, n), ([b]) => b);
    this.#needStream('recv');
    return this.#wait(loop, (fut: Future<Buffer>) => {
      if (n === 0) {
        fut.setResult(Buffer.alloc(0));
        return true;
      }
      if (this.#buffered > 0) {
        fut.setResult(this.#take(n));
        return true;
      }
      if (this.#streamError !== null) {
        fut.setException(this.#streamError);
        return true;
      }
      if (!this.#eof) return false;
      fut.setResult(Buffer.alloc(0));
      return true;
    });
  }

  recvInto(loop: AbstractEventLoop, buf: Uint8Array): Future<number> {
    this.#needStream('recv');
    return this.#wait(loop, (fut: Future<number>) => {
      if (buf.length > 0 && this.#buffered > 0) {
        const b = this.#take(buf.length);
        buf.set(b);
        fut.setResult(b.length);
        return true;
      }
      if (this.#streamError !== null) {
        fut.setException(this.#streamError);
        return true;
      }
      if (!this.#eof && buf.length > 0) return false;
      fut.setResult(0);
      return true;
    });
  }

  #needStream(syscall: string): net.Socket {
    this.#check(syscall);
    if (this.#stream === null) throw errnoError('ENOTCONN', -107, syscall, 'the socket is not connected');
    return this.#stream;
  }

  sendall(loop: AbstractEventLoop, data: Uint8Array): Future<void> {
    if (this.#dgram !== null) {
      return mapFuture(loop, this.#send(loop, data, null), () => undefined);
    }
    const s = this.#needStream('send');
    const fut = loop.createFuture() as Future<void>;
    if (this.#streamError !== null) {
      fut.setException(this.#streamError);
      return fut;
    }
    if (s.writableEnded) {
      fut.setException(errnoError('EPIPE', -32, 'send', 'the socket was shut down for writing'));
      return fut;
    }
    // Done once node:net has the bytes below its high-water mark, as a kernel that took them
    // into its send buffer (an error after that ends the next operation, as it would on the OS
    // socket); past the mark, once they are written out.
    const accepted = s.write(data, (e) => {
      this.#others.delete(fut);
      this.#refresh();
      if (fut.done()) {
        if (e) this.#streamError ??= e;
        return;
      }
      if (e) fut.setException(e);
      else fut.setResult(undefined);
    });
    if (accepted) fut.setResult(undefined);
    else this.#others.add(fut);
    return fut;
  }

  recvfrom(loop: AbstractEventLoop, n: number): Future<[Buffer, SocketAddress]> {
    if (this.#dgram === null) {
      return mapFuture(loop, this.recv(loop, n), (b): [Buffer, SocketAddress] => [b, this.getpeername()]);
    }
    return this.#wait(loop, (fut: Future<[Buffer, SocketAddress]>) => {
      const d = this.#datagrams.shift();
      if (d !== undefined) {
        // A datagram longer than n is cut to n; the rest is gone, as recvfrom() does.
        fut.setResult(d[0].length > n ? [d[0].subarray(0, n), d[1]] : d);
        return true;
      }
      if (this.#streamError !== null) {
        const e = this.#streamError;
        this.#streamError = null;
        fut.setException(e);
        return true;
      }
      return false;
    });
  }

  #send(loop: AbstractEventLoop, data: Uint8Array, address: [string, number] | null): Future<number> {
    this.#check('sendto');
    const fut = loop.createFuture() as Future<number>;
    const cb = (e: Error | null): void => {
      this.#others.delete(fut);
      this.#refresh();
      if (fut.done()) return;
      if (e) fut.setException(e);
      else fut.setResult(data.length);
    };
    this.#others.add(fut);
    this.#refresh();
    if (address === null) this.#dgram!.send(data, cb);
    else this.#dgram!.send(data, address[1], bindHost(address[0], this.family === AF_INET6), cb);
    return fut;
  }

  sendto(loop: AbstractEventLoop, data: Uint8Array, address: SocketAddress): Future<number> {
    if (this.#dgram === null) throw errnoError('EISCONN', -106, 'sendto', 'sendto() needs a datagram socket');
    return this.#send(loop, data, address as [string, number]);
  }
}
