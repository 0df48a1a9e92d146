/**
 * Datagram endpoints over node:dgram (`createDatagramEndpoint`). As with stream transports,
 * Node's events are queued and delivered to the protocol by one scheduled `callSoon` callback,
 * so datagrams, errors and `connectionLost` arrive in order and never from a Node event.
 *
 * The write buffer is the bytes handed to `send` whose callbacks have not run yet; `close()`
 * waits for them (asyncio flushes its datagram buffer before closing), `abort()` does not.
 */
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import { describe } from '../../events.js';
import type { Future } from '../../futures.js';
import type { BaseProtocol, DatagramProtocol } from '../../protocols.js';
import type { Address, BytesLike, CreateDatagramEndpointOptions, DatagramTransport } from '../../transports.js';
import { Deque } from '../../util/deque.js';
import { checkAddr, checkBool, checkFactory, checkFamily, checkOptions, checkWriteLimits, settleSoon, soon, toBytes, warnLostWrite } from './util.js';

type Event = { data: Buffer; addr: Address } | { error: Error };

export class DatagramSocketTransport implements DatagramTransport {
  readonly #loop: AbstractEventLoop;
  readonly #socket: dgram.Socket;
  readonly #remote: [string, number] | null;
  #protocol: DatagramProtocol;
  #sockname: Address;
  #closing = false;
  #lost = false;
  #closed = false;
  #bufferSize = 0;
  #inFlight = 0;
  #low = 16 * 1024;
  #high = 64 * 1024;
  #protocolPaused = false;
  #lostWrites = 0;
  readonly #rq = new Deque<Event>(8);
  #pumpScheduled = false;

  constructor(loop: AbstractEventLoop, socket: dgram.Socket, protocol: DatagramProtocol, remote: [string, number] | null) {
    this.#loop = loop;
    this.#socket = socket;
    this.#protocol = protocol;
    this.#remote = remote;
    const a = socket.address();
    this.#sockname = [a.address, a.port];
    socket.on('message', (data: Buffer, rinfo: dgram.RemoteInfo) => {
      if (this.#closing) return;
      this.#rq.push({ data, addr: [rinfo.address, rinfo.port] });
      this.#schedulePump();
    });
    socket.on('error', (error: Error) => {
      this.#rq.push({ error });
      this.#schedulePump();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#schedulePump();
    });
  }

  /** @internal Schedules `connectionMade`. */
  _start(): void {
    this.#loop.callSoon(() => {
      if (!this.#lost) this.#protocol.connectionMade?.(this);
    });
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#lost) return;
    this.#pumpScheduled = true;
    soon(this.#loop, this.#pump, () => this.#closeSocket());
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
    this.#loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.#protocol });
    this.abort();
  }

  #closeSocket(): void {
    if (this.#closed) return;
    try {
      this.#socket.close();
    } catch {
      // Already closed by Node.
    }
  }

  sendto(data: BytesLike, addr?: Address | null): void {
    const bytes = toBytes(data);
    let target: [string, number] | null = null;
    if (this.#remote !== null) {
      if (addr !== undefined && addr !== null) {
        const a = checkAddr(addr, 'addr');
        if (a[0] !== this.#remote[0] || a[1] !== this.#remote[1]) {
          throw new TypeError(`addr must be omitted or ${JSON.stringify(this.#remote)} on a connected endpoint, not ${JSON.stringify(a)}`);
        }
      }
    } else {
      if (addr === undefined || addr === null) throw new TypeError('addr is required: this endpoint has no remoteAddr');
      target = checkAddr(addr, 'addr');
    }
    if (this.#closing) {
      warnLostWrite(++this.#lostWrites);
      return;
    }
    const n = bytes.byteLength;
    this.#bufferSize += n;
    this.#inFlight++;
    const cb = (err: Error | null) => this.#onSent(n, err);
    if (target === null) this.#socket.send(bytes, cb);
    else this.#socket.send(bytes, target[1], target[0], cb);
    if (!this.#protocolPaused && this.#bufferSize > this.#high) {
      this.#protocolPaused = true;
      try {
        this.#protocol.pauseWriting?.();
      } catch (exc) {
        this.#loop.callExceptionHandler({ message: 'protocol.pauseWriting() failed', exception: exc, transport: this });
      }
    }
  }

  #onSent(n: number, err: Error | null): void {
    this.#bufferSize -= n;
    this.#inFlight--;
    if (err) {
      this.#rq.push({ error: err });
      this.#schedulePump();
    }
    if (this.#protocolPaused && this.#bufferSize <= this.#low) {
      soon(this.#loop, () => {
        if (!this.#protocolPaused || this.#lost || this.#bufferSize > this.#low) return;
        this.#protocolPaused = false;
        try {
          this.#protocol.resumeWriting?.();
        } catch (exc) {
          this.#loop.callExceptionHandler({ message: 'protocol.resumeWriting() failed', exception: exc, transport: this });
        }
      });
    }
    if (this.#closing && this.#inFlight === 0) this.#closeSocket();
  }

  getWriteBufferSize(): number {
    return this.#bufferSize;
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
    if (this.#inFlight === 0) this.#closeSocket();
  }

  abort(): void {
    this.#closing = true;
    this.#closeSocket();
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    switch (name) {
      case 'sockname':
        return this.#sockname;
      case 'peername':
        return this.#remote ?? defaultValue;
      case 'socket':
        return this.#socket;
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
}

/** Resolves `[host, port]` to a numeric address of `family` (0: whichever comes first). */
function resolve(loop: AbstractEventLoop, addr: [string, number], family: 0 | 4 | 6): Future<[string, number, 4 | 6]> {
  const fut = loop.createFuture<[string, number, 4 | 6]>();
  const ipv = net.isIP(addr[0]);
  if (ipv !== 0) {
    if (family !== 0 && family !== ipv) throw new RangeError(`address ${addr[0]} is not of family ${family}`);
    fut.setResult([addr[0], addr[1], ipv as 4 | 6]);
    return fut;
  }
  dns.lookup(addr[0], { family }, (err, address, fam) => settleSoon(loop, fut, err, [address, addr[1], fam as 4 | 6]));
  return fut;
}

export function createDatagramEndpoint<P extends DatagramProtocol>(
  loop: AbstractEventLoop,
  protocolFactory: () => P,
  options?: CreateDatagramEndpointOptions,
): Future<[DatagramTransport, P]> {
  checkFactory(protocolFactory);
  const opts = checkOptions<CreateDatagramEndpointOptions>(options);
  const local = opts.localAddr == null ? null : checkAddr(opts.localAddr, 'localAddr');
  const remote = opts.remoteAddr == null ? null : checkAddr(opts.remoteAddr, 'remoteAddr');
  let family = checkFamily(opts.family);
  const broadcast = checkBool(opts.allowBroadcast, 'allowBroadcast', false);
  if (local === null && remote === null && family === 0) {
    throw new TypeError(`localAddr or remoteAddr (or family) is required, not ${describe(options)}`);
  }
  return loop.createTask(function* () {
    const l = local === null ? null : yield* resolve(loop, local, family);
    if (l !== null) family = l[2];
    const r = remote === null ? null : yield* resolve(loop, remote, family);
    if (r !== null) family = r[2];
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    try {
      yield* step(loop, socket, 'listening', (cb) => (l === null ? socket.bind(0, cb) : socket.bind(l[1], l[0], cb)));
      if (broadcast) socket.setBroadcast(true);
      if (r !== null) yield* step(loop, socket, 'connect', (cb) => socket.connect(r[1], r[0], cb));
    } catch (e) {
      socket.close();
      throw e;
    }
    let protocol: P;
    try {
      protocol = protocolFactory();
    } catch (e) {
      socket.close();
      throw e;
    }
    const transport = new DatagramSocketTransport(loop, socket, protocol, r === null ? null : [r[0], r[1]]);
    transport._start();
    // Let connectionMade run before the caller resumes (asyncio's waiter comes after it).
    const ready = loop.createFuture<void>();
    loop.callSoon(() => ready.setResult(undefined));
    try {
      yield* ready;
    } catch (e) {
      transport.close();
      throw e;
    }
    return [transport as DatagramTransport, protocol] as [DatagramTransport, P];
  });
}

/** Runs a dgram operation whose success is a callback and whose failure is an 'error' event. */
function step(loop: AbstractEventLoop, socket: dgram.Socket, _what: string, op: (cb: (err?: Error | null) => void) => void): Future<void> {
  const fut = loop.createFuture<void>();
  const onError = (err: Error) => settleSoon(loop, fut, err);
  socket.once('error', onError);
  op((err) => {
    socket.removeListener('error', onError);
    settleSoon(loop, fut, err ?? null);
  });
  return fut;
}
