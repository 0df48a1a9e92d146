/**
 * What every datagram endpoint shares, whatever socket is under it: node:dgram's (pure/udp.ts) or the
 * native loop's uv_udp_t (loops/native/udp.ts). Written once so the two behave alike:
 * - the argument checks and address resolution of `createDatagramEndpoint`;
 * - the protocol side of the transport: what the socket reports is queued and delivered by one
 *   scheduled `callSoon` callback, so datagrams, errors and `connectionLost` arrive in order and
 *   never from a Node event; `sendto`'s rules; write-buffer limits with pause/resumeWriting;
 *   `close()` flushes what was sent (asyncio flushes its datagram buffer), `abort()` drops it.
 */
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import { describe } from '../../events.js';
import type { BaseProtocol, DatagramProtocol } from '../../protocols.js';
import type { Coro } from '../../tasks.js';
import type { Address, BytesLike, CreateDatagramEndpointOptions, DatagramTransport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { checkAddr, checkBool, checkFactory, checkFamily, checkOptions, checkWriteLimits, soon, toBytes, warnLostWrite } from './args.js';
import { lookupHost } from './resolve.js';

type Event = { data: Buffer; addr: Address } | { error: Error };

/** The protocol side of a datagram transport; subclasses bring the socket. */
export abstract class BaseDatagramTransport implements DatagramTransport {
  protected readonly _loop: AbstractEventLoop;
  readonly #sockname: Address;
  readonly #remote: [string, number] | null;
  #protocol: DatagramProtocol;
  #closing = false;
  #lost = false;
  #closed = false;
  #low = 16 * 1024;
  #high = 64 * 1024;
  #protocolPaused = false;
  #lostWrites = 0;
  readonly #rq = new Deque<Event>(8);
  #pumpScheduled = false;

  constructor(loop: AbstractEventLoop, protocol: DatagramProtocol, sockname: Address, remote: [string, number] | null) {
    this._loop = loop;
    this.#protocol = protocol;
    this.#sockname = sockname;
    this.#remote = remote;
    loop._ioOpened();
  }

  // --- what the socket provides ---------------------------------------------------------------

  /** Sends one datagram to `target` (null: the connected peer); failures go to `_error`. */
  protected abstract _send(bytes: Uint8Array, target: [string, number] | null): void;
  /** `close()`: release the socket once every datagram handed to `_send` is out. */
  protected abstract _closeWhenFlushed(): void;
  /** `abort()`, a failing protocol, a closed loop: release the socket now. */
  protected abstract _closeNow(): void;
  /** `getExtraInfo('socket')`. */
  protected abstract _socket(): unknown;
  /** Bytes handed to `_send` and not sent yet. */
  abstract getWriteBufferSize(): number;

  // --- what the socket reports ----------------------------------------------------------------

  protected _received(data: Buffer, addr: Address): void {
    if (this.#closing) return;
    this.#rq.push({ data, addr });
    this.#schedulePump();
  }

  protected _error(error: Error): void {
    this.#rq.push({ error });
    this.#schedulePump();
  }

  /** The socket is closed: `connectionLost` follows what is queued. */
  protected _closed(): void {
    if (!this.#closed) this._loop._ioClosed();
    this.#closed = true;
    this.#schedulePump();
  }

  /** The write buffer shrank: a paused writer resumes once it is at the low-water mark. */
  protected _sent(): void {
    if (!this.#protocolPaused || this.getWriteBufferSize() > this.#low) return;
    soon(this._loop, () => {
      if (!this.#protocolPaused || this.#lost || this.getWriteBufferSize() > this.#low) return;
      this.#protocolPaused = false;
      try {
        this.#protocol.resumeWriting?.();
      } catch (exc) {
        this._loop.callExceptionHandler({ message: 'protocol.resumeWriting() failed', exception: exc, transport: this });
      }
    });
  }

  // --- delivery -------------------------------------------------------------------------------

  /** @internal Schedules `connectionMade`. */
  _start(): void {
    this._loop.callSoon(() => {
      if (!this.#lost) this.#protocol.connectionMade?.(this);
    });
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#lost) return;
    this.#pumpScheduled = true;
    // A closed loop has nobody left to tell: the endpoint is done.
    soon(this._loop, this.#pump, () => {
      this.#closing = true;
      this._closeNow();
    });
  }

  readonly #pump = (): void => {
    this.#pumpScheduled = false;
    if (this.#lost) return;
    const rq = this.#rq;
    while (rq.length > 0) {
      const ev = rq.shift()!;
      if ('error' in ev) {
        try {
          this.#protocol.errorReceived?.(ev.error);
        } catch (exc) {
          this.#fatalError(exc, 'Fatal error: protocol.errorReceived() call failed.');
        }
      } else if (!this.#closing) {
        try {
          this.#protocol.datagramReceived?.(ev.data, ev.addr);
        } catch (exc) {
          this.#fatalError(exc, 'Fatal error: protocol.datagramReceived() call failed.');
        }
      }
      if (this.#lost) return;
    }
    if (this.#closed) {
      this.#lost = true;
      this.#protocol.connectionLost?.(null);
    }
  };

  #fatalError(exc: unknown, message: string): void {
    this._loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.#protocol });
    this.abort();
  }

  // --- the transport --------------------------------------------------------------------------

  sendto(data: BytesLike, addr?: Address | null): void {
    const bytes = toBytes(data);
    let target: [string, number] | null = null;
    if (this.#remote !== null) {
      if (addr !== undefined && addr !== null) {
        const a = checkAddr(addr, 'addr', false);
        if (a[0] !== this.#remote[0] || a[1] !== this.#remote[1]) {
          throw new TypeError(`addr must be omitted or ${JSON.stringify(this.#remote)} on a connected endpoint, not ${JSON.stringify(a)}`);
        }
      }
    } else {
      if (addr === undefined || addr === null) throw new TypeError('addr is required: this endpoint has no remoteAddr');
      target = checkAddr(addr, 'addr', false);
    }
    if (this.#closing) {
      warnLostWrite(++this.#lostWrites);
      return;
    }
    this._send(bytes, target);
    if (!this.#protocolPaused && this.getWriteBufferSize() > this.#high) {
      this.#protocolPaused = true;
      try {
        this.#protocol.pauseWriting?.();
      } catch (exc) {
        this._loop.callExceptionHandler({ message: 'protocol.pauseWriting() failed', exception: exc, transport: this });
      }
    }
  }

  setWriteBufferLimits(high?: number, low?: number): void {
    [this.#low, this.#high] = checkWriteLimits(high, low);
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  isClosing(): boolean {
    return this.#closing;
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this._closeWhenFlushed();
  }

  abort(): void {
    this.#closing = true;
    this._closeNow();
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    switch (name) {
      case 'sockname':
        return this.#sockname;
      case 'peername':
        return this.#remote ?? defaultValue;
      case 'socket':
        return this._socket();
      default:
        return defaultValue;
    }
  }

  setProtocol(protocol: BaseProtocol): void {
    if (typeof protocol !== 'object' || protocol === null) throw new TypeError('protocol must be an object');
    this.#protocol = protocol as DatagramProtocol;
  }

  getProtocol(): DatagramProtocol {
    return this.#protocol;
  }

  toString(): string {
    const state = this.#lost ? 'closed' : this.#closing ? 'closing' : 'open';
    return `<${this.constructor.name} ${state} ${JSON.stringify(this.#sockname)}>`;
  }
}

// --- creating an endpoint ---------------------------------------------------------------------

/** `createDatagramEndpoint`'s arguments, checked. */
export interface EndpointArgs {
  local: [string, number] | null;
  remote: [string, number] | null;
  family: 0 | 4 | 6;
  broadcast: boolean;
}

/** Checks `createDatagramEndpoint`'s arguments before anything starts (TypeError/RangeError). */
export function checkEndpointArgs(protocolFactory: unknown, options: unknown): EndpointArgs {
  checkFactory(protocolFactory);
  const opts = checkOptions<CreateDatagramEndpointOptions>(options);
  const local = opts.localAddr == null ? null : checkAddr(opts.localAddr, 'localAddr');
  const remote = opts.remoteAddr == null ? null : checkAddr(opts.remoteAddr, 'remoteAddr', false);
  const family = checkFamily(opts.family);
  const broadcast = checkBool(opts.allowBroadcast, 'allowBroadcast', false);
  if (local === null && remote === null && family === 0) {
    throw new TypeError(`localAddr or remoteAddr (or family) is required, not ${describe(options)}`);
  }
  return { local, remote, family, broadcast };
}

/** The endpoint's addresses as IP literals, and the socket family they agree on. */
export interface ResolvedEndpoint {
  local: [string, number] | null;
  remote: [string, number] | null;
  family: 4 | 6;
}

/** Resolves the local, then the remote address; each fixes the family for what follows. */
export function* resolveEndpoint(loop: AbstractEventLoop, args: EndpointArgs): Coro<ResolvedEndpoint> {
  let family = args.family;
  const l = args.local === null ? null : yield* resolve(loop, args.local, family);
  if (l !== null) family = l[2];
  const r = args.remote === null ? null : yield* resolve(loop, args.remote, family);
  if (r !== null) family = r[2];
  // checkEndpointArgs saw an address or a family, so the family is known by now.
  return { local: l === null ? null : [l[0], l[1]], remote: r === null ? null : [r[0], r[1]], family: family as 4 | 6 };
}

/** Resolves `[host, port]` to a numeric address of `family` (0: whichever comes first). */
function* resolve(loop: AbstractEventLoop, addr: [string, number], family: 0 | 4 | 6): Coro<[string, number, 4 | 6]> {
  const ipv = net.isIP(addr[0]);
  if (ipv !== 0 && family !== 0 && family !== ipv) throw new RangeError(`address ${addr[0]} is not of family ${family}`);
  const [address, fam] = (yield* lookupHost(loop, addr[0], family))[0]!;
  return [address, addr[1], fam];
}

/**
 * The end of `createDatagramEndpoint` once the socket is ready: makes the protocol (`discard`
 * releases the socket if that fails), then the transport, and returns after `connectionMade`
 * (asyncio's waiter comes after it).
 */
export function* startEndpoint<P extends DatagramProtocol>(
  loop: AbstractEventLoop,
  protocolFactory: () => P,
  makeTransport: (protocol: P) => BaseDatagramTransport,
  discard: () => void,
): Coro<[DatagramTransport, P]> {
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (e) {
    discard();
    throw e;
  }
  const transport = makeTransport(protocol);
  transport._start();
  const ready = loop.createFuture<void>();
  loop.callSoon(() => {
    if (!ready.done()) ready.setResult(undefined);
  });
  try {
    yield* ready;
  } catch (e) {
    transport.close();
    throw e;
  }
  return [transport, protocol];
}
