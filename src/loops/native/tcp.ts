/**
 * TCP on the native loop: `createConnection` and the 'socket' extra of TCP transports, over the
 * addon's uv_tcp_t (native/tcp.cc). The transport itself is the stream one (stream.ts).
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Transport } from '../../transports.js';
import { type ConnectionArgs, checkKeepAliveDelay } from '../io/args.js';
import type { NativeIo } from './io.js';
import { localFor, lookupHost, noMatchingLocal } from '../io/resolve.js';
import { type NativeStreamTransport, awaitConnect, startClient } from './stream.js';

/**
 * `getExtraInfo('socket')`: a few socket operations, named as node:net's Socket names them
 * (asyncio gives a socket-like object there too).
 */
export class NativeTcpSocket {
  readonly #io: NativeIo;
  readonly #t: NativeStreamTransport;
  constructor(io: NativeIo, t: NativeStreamTransport) {
    this.#io = io;
    this.#t = t;
  }
  /** Sets TCP_NODELAY. */
  setNoDelay(noDelay = true): this {
    this.#io.native.setNoDelay(this.#t._id, !!noDelay);
    return this;
  }
  /** SO_KEEPALIVE with the first probe after `initialDelay` ms. */
  setKeepAlive(enable = false, initialDelay?: number): this {
    const ms = checkKeepAliveDelay(initialDelay);
    // libuv takes whole seconds, at least 1 when enabling.
    this.#io.native.setKeepAlive(this.#t._id, !!enable, Math.min(0x7fffffff, Math.max(1, Math.floor(ms / 1000))));
    return this;
  }
  /** Closes the connection with a TCP RST (SO_LINGER 0), dropping what is queued. */
  resetAndDestroy(): this {
    this.#t._reset();
    return this;
  }
  get remoteAddress(): string | undefined {
    return (this.#t.getExtraInfo('peername') as [string, number] | undefined)?.[0];
  }
  get remotePort(): number | undefined {
    return (this.#t.getExtraInfo('peername') as [string, number] | undefined)?.[1];
  }
  get localAddress(): string | undefined {
    return (this.#t.getExtraInfo('sockname') as [string, number] | undefined)?.[0];
  }
  get localPort(): number | undefined {
    return (this.#t.getExtraInfo('sockname') as [string, number] | undefined)?.[1];
  }
}

/** The addon's `connect` returns a failed bind of `localAddr` as (libuv error - BIND_FAILED) (native/tcp.cc). */
const BIND_FAILED = 1 << 16;

/** `loop.createConnection` on the native loop: resolve, connect, then make the protocol. */
export function createConnection<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  getIo: () => NativeIo,
  protocolFactory: () => P,
  { host, port, family, local, noDelay }: ConnectionArgs,
): Future<[Transport, P]> {
  const io = getIo();
  return loop.createTask(function* () {
    const addrs = yield* lookupHost(loop, host, family);
    // localAddr may be a name too (asyncio resolves it); each remote address binds to a local
    // one of its own family.
    const locals = local === null ? null : yield* lookupHost(loop, local[0], family);
    let lastError: unknown = null;
    for (const [addr, fam] of addrs) {
      const localHost = locals === null ? null : localFor(locals, fam);
      if (locals !== null && localHost === null) {
        lastError = noMatchingLocal(local![0], fam);
        continue;
      }
      const localPort = local === null ? 0 : local[1];
      const id = io.native.connect(addr, fam, port, localHost, localPort, noDelay);
      if (id < 0) {
        // As Node's: a failed bind names the local address (and its port unless 0).
        if (id < -BIND_FAILED) lastError = io.error(id + BIND_FAILED, 'bind', localHost!, localPort === 0 ? undefined : localPort);
        else lastError = io.error(id, 'connect', addr, port);
        continue;
      }
      const status = yield* awaitConnect(loop, io, id, false);
      if (typeof status === 'number') {
        lastError = io.error(status, 'connect', addr, port);
        continue;
      }
      return startClient(status, protocolFactory);
    }
    throw lastError ?? new Error(`no address to connect to for ${host}`);
  });
}

