/**
 * Datagram endpoints of the native loop over the addon's uv_udp_t (native/udp.cc), with the
 * protocol side shared with the node:dgram transport (loops/io/datagram-transport.ts), so both loops
 * behave alike.
 *
 * Sends go straight down: C++ tries each at once and copies and queues only what the kernel had
 * no room for; those report back with a SENT event, which is what the write buffer counts.
 * Received datagrams arrive as records in the shared arena (native/io.h), copied out at once.
 */
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { DatagramProtocol } from '../../protocols.js';
import type { Address, DatagramTransport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { BaseDatagramTransport, type EndpointArgs, resolveEndpoint, startEndpoint } from '../io/datagram-transport.js';
import { Ev, type IoEndpoint, type NativeIo } from './io.js';
import { lookupHost } from '../io/resolve.js';

/** native/io.h `kDgramHeader`: the sender's address before each datagram's payload. */
const DGRAM_HEADER = 68;

/** A send C++ queued: its size, and where it went (for the error if it fails). */
interface QueuedSend {
  n: number;
  target: [string, number] | null;
}

export class NativeDatagramTransport extends BaseDatagramTransport implements IoEndpoint {
  readonly #io: NativeIo;
  /** @internal The socket's id in C++; -1 once its handle is closed. */
  _id: number;
  readonly #family: 4 | 6;
  readonly #connected: boolean;
  #socket: NativeUdpSocket | null = null;
  /** Bytes of the sends C++ queued, and those sends in order (they complete in order). */
  #queued = 0;
  readonly #sends = new Deque<QueuedSend>(4);
  /** Sends waiting for their host name to resolve; close() waits for them too. */
  #lookups = 0;
  #lookupBytes = 0;
  #dropped = false;
  /** The last IPv4 sender, raw and as text: a peer usually sends more than once. */
  #lastV4 = -1;
  #lastV4Host = '';

  constructor(loop: AbstractEventLoop, io: NativeIo, id: number, protocol: DatagramProtocol, family: 4 | 6, remote: [string, number] | null) {
    const a = io.native.address(id, false);
    super(loop, protocol, typeof a === 'number' ? ['', 0] : a, remote);
    this.#io = io;
    this._id = id;
    this.#family = family;
    this.#connected = remote !== null;
    io.register(id, this);
  }

  /** @internal Schedules `connectionMade`, then starts receiving (what arrives comes after it). */
  override _start(): void {
    super._start();
    this.#io.native.setReading(this._id, true);
  }

  /** @internal An event record from C++ (see NativeIo.collect). */
  _event(kind: number, a: number, b: number): void {
    switch (kind) {
      case Ev.datagram:
        if (this.isClosing()) return;
        this._received(this.#io.bytes(a + DGRAM_HEADER, b), this.#sender(a));
        return;
      case Ev.sent: {
        const s = this.#sends.shift();
        if (s !== undefined) this.#queued -= s.n;
        if (a < 0) this._error(this.#sendError(a, s?.target ?? null));
        this._sent();
        return;
      }
      case Ev.error:
        this._error(this.#io.error(a, b));
        return;
      case Ev.closed:
        this._id = -1;
        this.#queued = 0;
        this.#sends.clear();
        this._closed();
        return;
    }
  }

  /** The sender in a datagram record's header (the layout is in native/io.h). */
  #sender(off: number): Address {
    const m = this.#io.arena;
    const port = (m[off + 2]! << 8) | m[off + 3]!;
    if (m[off] === 4) {
      const raw = ((m[off + 4]! << 24) | (m[off + 5]! << 16) | (m[off + 6]! << 8) | m[off + 7]!) >>> 0;
      if (raw !== this.#lastV4) {
        this.#lastV4 = raw;
        this.#lastV4Host = `${m[off + 4]}.${m[off + 5]}.${m[off + 6]}.${m[off + 7]}`;
      }
      return [this.#lastV4Host, port];
    }
    return [String.fromCharCode(...m.subarray(off + 4, off + 4 + m[off + 1]!)), port];
  }

  #sendError(errno: number, target: [string, number] | null): Error {
    return target === null ? this.#io.error(errno, 'send') : this.#io.error(errno, 'send', target[0], target[1]);
  }

  protected _send(bytes: Uint8Array, target: [string, number] | null): void {
    const r = this.#io.native.udpSend(this._id, bytes, target === null ? null : target[0], target === null ? 0 : target[1]);
    if (r === 0) return;
    if (r === 1) {
      this.#queued += bytes.byteLength;
      this.#sends.push({ n: bytes.byteLength, target });
      return;
    }
    // C++ takes IP literals only: a host name is resolved first, as node:dgram does.
    if (target !== null && net.isIP(target[0]) === 0) this.#lookupAndSend(bytes, target);
    else this._error(this.#sendError(r, target));
  }

  #lookupAndSend(bytes: Uint8Array, target: [string, number]): void {
    // Sent later: the caller may reuse its buffer meanwhile.
    const copy = Buffer.from(bytes);
    this.#lookups++;
    this.#lookupBytes += copy.byteLength;
    lookupHost(this._loop, target[0], this.#family).addDoneCallback((f) => {
      this.#lookups--;
      this.#lookupBytes -= copy.byteLength;
      if (this.#dropped) return;
      const err = f.exception();
      if (err != null) this._error(err as Error);
      else this._send(copy, [f.result()[0]![0], target[1]]);
      this._sent();
      if (this.isClosing() && this.#lookups === 0) this._closeWhenFlushed();
    });
  }

  protected _closeWhenFlushed(): void {
    // C++ waits for the sends it queued.
    if (this.#lookups === 0) this.#io.native.udpClose(this._id, false);
  }

  protected _closeNow(): void {
    this.#dropped = true;
    this.#io.native.udpClose(this._id, true);
  }

  protected _socket(): NativeUdpSocket {
    return (this.#socket ??= new NativeUdpSocket(this.#io, this, this.#family, this.#connected));
  }

  /** Bytes queued in C++ (the kernel had no room yet) or waiting for a host name. */
  getWriteBufferSize(): number {
    return this.#queued + this.#lookupBytes;
  }
}

/** `getExtraInfo('socket')`: a few calls of a node:dgram Socket, under its names. */
export class NativeUdpSocket {
  readonly #io: NativeIo;
  readonly #t: NativeDatagramTransport;
  readonly #family: 'IPv4' | 'IPv6';
  readonly #connected: boolean;
  constructor(io: NativeIo, t: NativeDatagramTransport, family: 4 | 6, connected: boolean) {
    this.#io = io;
    this.#t = t;
    this.#family = family === 6 ? 'IPv6' : 'IPv4';
    this.#connected = connected;
  }
  /** The bound address. */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    return this.#address(false, 'getsockname');
  }
  /** The connected peer's address; throws (as node:dgram does) on an unconnected socket. */
  remoteAddress(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    if (!this.#connected) throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    return this.#address(true, 'getpeername');
  }
  /** SO_BROADCAST. */
  setBroadcast(flag: boolean): void {
    const err = this.#io.native.udpSetBroadcast(this.#t._id, !!flag);
    if (err < 0) throw this.#io.error(err, 'setBroadcast');
  }
  #address(peer: boolean, syscall: string): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    const a = this.#io.native.address(this.#t._id, peer);
    if (typeof a === 'number') throw this.#io.error(a, syscall);
    return { address: a[0], family: this.#family, port: a[1] };
  }
}

/** `loop.createDatagramEndpoint` on the native loop: resolve, bind, connect, then the protocol. */
export function createDatagramEndpoint<P extends DatagramProtocol>(
  loop: AbstractEventLoop,
  getIo: () => NativeIo,
  protocolFactory: () => P,
  args: EndpointArgs,
): Future<[DatagramTransport, P]> {
  const io = getIo();
  return loop.createTask(function* () {
    const { local, remote, family } = yield* resolveEndpoint(loop, args);
    // No localAddr: the wildcard address, as node:dgram binds.
    const [host, port] = local ?? [family === 6 ? '::' : '0.0.0.0', 0];
    const id = io.native.udpBind(host, family, port);
    if (id < 0) throw io.error(id, 'bind', host, port);
    let err = args.broadcast ? io.native.udpSetBroadcast(id, true) : 0;
    if (err < 0) {
      io.native.udpClose(id, true);
      throw io.error(err, 'setBroadcast');
    }
    if (remote !== null) {
      err = io.native.udpConnect(id, remote[0], remote[1]);
      if (err < 0) {
        io.native.udpClose(id, true);
        throw io.error(err, 'connect', remote[0], remote[1]);
      }
    }
    return yield* startEndpoint(
      loop,
      protocolFactory,
      (protocol) => new NativeDatagramTransport(loop, io, id, protocol, family, remote),
      () => io.native.udpClose(id, true),
    );
  });
}
