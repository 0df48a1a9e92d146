/**
 * Listening servers of the native loop (asyncio's `Server`) on the addon's listeners: uv_tcp_t,
 * one per resolved host address, or one uv_pipe_t for a Unix socket path (pipe.ts). What a
 * server does with its connections is shared with the node:net server (loops/io/server.ts); this
 * file adds the listeners. A listener is listening from the start but takes connections off its
 * backlog only while the server serves (native/listen.cc: our own accept loop); C++ accepts them
 * as they arrive (TCP_NODELAY on, reading at once) and stops by itself when out of descriptors,
 * until `_setAccepting` resumes it.
 */
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Address, Server, ServerSocket } from '../../transports.js';
import { BaseServer } from '../io/server.js';
import type { ServerArgs } from '../io/args.js';
import { lookupHost, type ResolvedAddr } from '../io/resolve.js';
import { Ev, type IoEndpoint, type NativeIo } from './io.js';
import { NativeStreamTransport } from './stream.js';

/** One listening socket; `handle` is its id in the addon. */
class NativeListener implements ServerSocket, IoEndpoint {
  readonly handle: number;
  readonly #name: Address;
  readonly #server: NativeServer;
  constructor(server: NativeServer, id: number, name: Address) {
    this.#server = server;
    this.handle = id;
    this.#name = name;
  }
  getsockname(): Address {
    return typeof this.#name === 'string' ? this.#name : [this.#name[0], this.#name[1]];
  }
  _event(kind: number, a: number, b: number): void {
    if (kind === Ev.accept) this.#server._onAccept(a, typeof this.#name === 'string');
    else if (kind === Ev.error) this.#server._onAcceptError(this, a, b);
  }
}

export class NativeServer extends BaseServer<NativeStreamTransport, NativeListener> {
  readonly #io: NativeIo;

  /** @internal */
  constructor(loop: AbstractEventLoop, io: NativeIo, factory: () => StreamProtocol) {
    super(loop, factory);
    this.#io = io;
  }

  /** @internal Listens on `addr`; throws the OS error (code, errno, syscall 'listen'). */
  _listen(addr: string, family: 4 | 6, port: number, backlog: number, ipv6Only: boolean): void {
    const io = this.#io;
    const id = io.native.listen(addr, family, port, backlog, ipv6Only);
    if (id < 0) throw io.error(id, 'listen', addr, port);
    const name = io.native.address(id, false);
    const listener = new NativeListener(this, id, typeof name === 'number' ? [addr, port] : name);
    io.register(id, listener);
    this._addSocket(listener);
  }

  /** @internal Serves on listener `id`, a handed-over socket (`{ sock }`, handoff.ts) named `name`. */
  _adoptListener(id: number, name: Address): void {
    const listener = new NativeListener(this, id, name);
    this.#io.register(id, listener);
    this._addSocket(listener);
  }

  /** @internal Listens on the Unix socket `path`; throws the OS error (syscall 'listen'). */
  _listenUnix(path: string, backlog: number): void {
    const io = this.#io;
    const id = io.native.pipeListen(path, backlog);
    if (id < 0) throw io.error(id, 'listen', path);
    const listener = new NativeListener(this, id, path);
    io.register(id, listener);
    this._addSocket(listener);
  }

  /** @internal A connection arrived on one of the listeners. */
  _onAccept(id: number, unix: boolean): void {
    const t = new NativeStreamTransport(this.getLoop(), this.#io, id, this, unix);
    if (this._isClosed()) {
      t._discard();
      return;
    }
    t._cacheAddresses();
    this._accepted(t);
  }

  /** @internal An accept failed (EMFILE, ...); C++ stopped accepting on a resource error. */
  _onAcceptError(listener: NativeListener, errno: number, syscall: number): void {
    this._acceptFailed(this.#io.error(errno, syscall), listener);
  }

  protected _setAccepting(s: NativeListener, on: boolean): void {
    this.#io.native.setAccepting(s.handle, on);
  }

  protected _closeSocket(s: NativeListener): void {
    // uv_close releases the listening fd at once: new connections are refused from here on.
    this.#io.native.close(s.handle, 1);
  }
}

/** `loop.createServer` on the native loop. */
export function createServer(
  loop: AbstractEventLoop,
  getIo: () => NativeIo,
  protocolFactory: () => StreamProtocol,
  { hosts, port: p, family, backlog, startServing, ipv6Only }: ServerArgs,
): Future<Server> {
  const io = getIo();
  const server = new NativeServer(loop, io, protocolFactory);
  return loop.createTask(function* () {
    try {
      const addrs: ResolvedAddr[] = [];
      for (const h of hosts) {
        if (h === undefined) continue;
        for (const a of yield* lookupHost(loop, h, family)) {
          if (!addrs.some((x) => x[0] === a[0])) addrs.push(a);
        }
      }
      if (hosts.includes(undefined)) {
        // Every interface: dual-stack '::' as node:net does, or 0.0.0.0 without IPv6.
        if (family === 4) server._listen('0.0.0.0', 4, p, backlog, false);
        else {
          try {
            server._listen('::', 6, p, backlog, family === 6 ? ipv6Only : false);
          } catch (e) {
            if (family === 6 || !['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
            server._listen('0.0.0.0', 4, p, backlog, false);
          }
        }
      }
      for (const [addr, fam] of addrs) server._listen(addr, fam, p, backlog, ipv6Only && net.isIPv6(addr));
    } catch (e) {
      server.close();
      throw e;
    }
    if (startServing) server._startServing();
    return server as Server;
  });
}
