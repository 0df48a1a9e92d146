/**
 * Listening servers over node:net (asyncio's `Server`): `createServer` for TCP, one listening
 * socket per resolved host address, and `createUnixServer`. What a server does with its
 * connections is shared with the native loop's server (loops/io/server.ts); this file adds the
 * node:net listening sockets.
 *
 * Node binds and listens in one step and accepts whatever arrives, so a server made with
 * `startServing: false` is already listening; connections that arrive before `startServing()`
 * wait, unread and without a protocol, until then. For the same reason a listening socket cannot
 * rest after EMFILE: Node's libuv sheds the load itself (it accepts and closes the pending
 * connections, reporting nothing); what Node does report goes to the exception handler.
 */
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Address, Server, ServerSocket } from '../../transports.js';
import type { Coro } from '../../tasks.js';
import { lookupHost } from '../io/resolve.js';
import { BaseServer } from '../io/server.js';
import { hold } from './resources.js';
import { SocketTransport } from './socket.js';
import { type ServerArgs, type UnixServerArgs, removeStaleUnixSocket, settleSoon } from '../io/args.js';
import { holdClock } from '../io/hold.js';

class ListeningSocket implements ServerSocket {
  readonly handle: net.Server;
  readonly #name: Address;
  constructor(handle: net.Server, name: Address) {
    this.handle = handle;
    this.#name = name;
  }
  getsockname(): Address {
    return Array.isArray(this.#name) ? [this.#name[0], this.#name[1]] : this.#name;
  }
}

export class NodeServer extends BaseServer<SocketTransport, ListeningSocket> {
  readonly #unixPath: string | null;

  /** @internal */
  constructor(loop: AbstractEventLoop, factory: () => StreamProtocol, unixPath: string | null) {
    super(loop, factory);
    this.#unixPath = unixPath;
  }

  /** @internal A Node server for this Server: accepts into transports. */
  _makeNodeServer(): net.Server {
    const srv = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    srv.on('connection', (socket: net.Socket) => this.#onConnection(socket));
    hold(this.getLoop(), srv, () => srv.close());
    // Not serving yet: like the native loop's listener, it keeps nobody alive until it serves.
    srv.unref();
    return srv;
  }

  /** @internal Serves on `srv`, a listening net.Server handed over (`{ sock }`), and its connections not accepted yet. */
  _adoptNodeServer(srv: net.Server, pending: net.Socket[]): void {
    srv.on('connection', (socket: net.Socket) => this.#onConnection(socket));
    hold(this.getLoop(), srv, () => srv.close());
    srv.unref();
    this._addListening(srv);
    for (const c of pending) this.#onConnection(c);
  }

  /** @internal The Node server is listening. */
  _addListening(srv: net.Server): void {
    const a = srv.address();
    const name: Address = typeof a === 'string' ? a : a === null ? '' : [a.address, a.port];
    const socket = new ListeningSocket(srv, name);
    this._addSocket(socket);
    srv.on('error', (err) => this._acceptFailed(err, socket));
  }

  #onConnection(socket: net.Socket): void {
    hold(this.getLoop(), socket, () => socket.destroy());
    if (this._isClosed()) {
      socket.destroy();
      return;
    }
    const t = new SocketTransport(this.getLoop(), socket, this, this.#unixPath !== null);
    if (this.#unixPath !== null) t._setUnixNames(this.#unixPath, '');
    else t._cacheAddresses();
    this._accepted(t);
  }

  protected _closeSocket(s: ListeningSocket): void {
    s.handle.close();
  }

  protected _setAccepting(s: ListeningSocket, on: boolean): void {
    // node:net cannot stop accepting (connections wait unread until served, see the top); what
    // follows the native loop is that only a socket that accepts keeps the process alive.
    if (on) s.handle.ref();
    else s.handle.unref();
  }
}

function listen(loop: AbstractEventLoop, srv: net.Server, opts: net.ListenOptions): Future<void> {
  const fut = loop.createFuture<void>();
  const onError = (err: Error) => {
    srv.removeListener('listening', onListening);
    settleSoon(loop, fut, err);
  };
  const onListening = () => {
    srv.removeListener('error', onError);
    settleSoon(loop, fut, null);
  };
  srv.once('error', onError);
  srv.once('listening', onListening);
  // Node reports 'listening' (or the error) after this call returns.
  const release = holdClock(loop);
  srv.once('error', release);
  srv.once('listening', release);
  srv.listen(opts);
  return fut;
}

/** The addresses to listen on for `hosts` (asyncio binds every address a name resolves to). */
function* resolveHosts(loop: AbstractEventLoop, hosts: (string | undefined)[], family: 0 | 4 | 6): Coro<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (const h of hosts) {
    if (h === undefined) out.push(family === 0 ? undefined : family === 4 ? '0.0.0.0' : '::');
    else for (const [address] of yield* lookupHost(loop, h, family)) out.push(address);
  }
  return [...new Set(out)];
}

export function createServer(
  loop: AbstractEventLoop,
  protocolFactory: () => StreamProtocol,
  { hosts, port: p, family, backlog, startServing, ipv6Only }: ServerArgs,
): Future<Server> {
  const server = new NodeServer(loop, protocolFactory, null);
  return loop.createTask(function* () {
    const addrs = yield* resolveHosts(loop, hosts, family);
    try {
      for (const addr of addrs) {
        const srv = server._makeNodeServer();
        const lo: net.ListenOptions = { port: p, backlog, ipv6Only };
        if (addr !== undefined) lo.host = addr;
        try {
          yield* listen(loop, srv, lo);
        } catch (e) {
          srv.close();
          throw e;
        }
        server._addListening(srv);
      }
    } catch (e) {
      server.close();
      throw e;
    }
    if (startServing) server._startServing();
    return server as Server;
  });
}

export function createUnixServer(
  loop: AbstractEventLoop,
  protocolFactory: () => StreamProtocol,
  { path, backlog, startServing }: UnixServerArgs,
): Future<Server> {
  removeStaleUnixSocket(path);
  const server = new NodeServer(loop, protocolFactory, path);
  const srv = server._makeNodeServer();
  return loop.createTask(function* () {
    try {
      yield* listen(loop, srv, { path, backlog });
    } catch (e) {
      srv.close();
      throw e;
    }
    server._addListening(srv);
    if (startServing) server._startServing();
    return server as Server;
  });
}
