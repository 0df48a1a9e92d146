/**
 * Client connections over node:net: `createConnection` (TCP) and `createUnixConnection`.
 * The socket connects first; only then is the protocol made and started, and the Future
 * resolves after `connectionMade` (asyncio's order).
 */
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { StreamProtocol } from '../../protocols.js';
import type { Transport } from '../../transports.js';
import { SocketTransport } from './socket.js';
import { localFor, lookupHost, noMatchingLocal } from '../io/resolve.js';
import { hold } from './resources.js';
import { type ConnectionArgs, settleSoon, soon } from '../io/args.js';
import { holdClock } from '../io/hold.js';

export function createConnection<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  protocolFactory: () => P,
  { host, port, family, local, noDelay }: ConnectionArgs,
): Future<[Transport, P]> {
  const start = (connectOpts: net.TcpSocketConnectOpts): Future<[Transport, P]> => {
    if (family !== 0) connectOpts.family = family;
    const fut = loop.createFuture<[Transport, P]>();
    const socket = new net.Socket({ allowHalfOpen: true });
    connect(loop, fut, socket, false, protocolFactory, () => socket.connect(connectOpts), null);
    if (!noDelay) socket.once('connect', () => socket.setNoDelay(false));
    return fut;
  };
  if (local === null) return start({ host, port });
  // node:net binds only to an IP of the remote address's family (else a sync TypeError or a
  // 'bind EINVAL'); asyncio resolves localAddr and pairs families, as the native loop does.
  return loop.createTask(function* () {
    const remotes = yield* lookupHost(loop, host, family);
    const locals = yield* lookupHost(loop, local[0], family);
    for (const [addr, fam] of remotes) {
      const localAddress = localFor(locals, fam);
      if (localAddress !== null) return yield* start({ host: addr, port, localAddress, localPort: local[1] });
    }
    throw noMatchingLocal(local[0], remotes[0]?.[1] ?? 4);
  });
}

export function createUnixConnection<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  protocolFactory: () => P,
  path: string,
): Future<[Transport, P]> {
  const fut = loop.createFuture<[Transport, P]>();
  const socket = new net.Socket({ allowHalfOpen: true });
  connect(loop, fut, socket, true, protocolFactory, () => socket.connect({ path }), path);
  return fut;
}

function connect<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  fut: Future<[Transport, P]>,
  socket: net.Socket,
  unix: boolean,
  protocolFactory: () => P,
  start: () => void,
  path: string | null,
): void {
  hold(loop, socket, () => socket.destroy());
  let error: Error | null = null;
  const onError = (err: Error) => {
    error ??= err;
  };
  // Connecting (and resolving the host) is work in flight until 'connect' or 'close'.
  const release = holdClock(loop);
  const onClose = () => {
    release();
    settleSoon(loop, fut, error ?? new Error('connection closed before it was established'));
  };
  socket.on('error', onError);
  socket.once('close', onClose);
  socket.once('connect', () => {
    release();
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    // The transport takes over the socket's events now; the protocol is made on the loop.
    const transport = new SocketTransport(loop, socket, null, unix);
    if (path !== null) transport._setUnixNames('', path);
    else transport._cacheAddresses();
    soon(loop, () => onConnected(loop, fut, transport, protocolFactory), () => transport._discard());
  });
  // A cancelled connect attempt releases its socket.
  fut.addDoneCallback((f) => {
    if (f.cancelled() && socket.connecting) socket.destroy();
  });
  try {
    start();
  } catch (e) {
    release();
    socket.destroy();
    throw e;
  }
}

/**
 * A transport on `socket`, already connected (`createConnection`'s `{ sock }`); `unread` is what
 * the Socket had received and not handed out, delivered first.
 */
export function connectionFromSocket<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  socket: net.Socket,
  unix: boolean,
  peerPath: string | null,
  protocolFactory: () => P,
  unread: Buffer | null,
): Future<[Transport, P]> {
  hold(loop, socket, () => socket.destroy());
  const fut = loop.createFuture<[Transport, P]>();
  const transport = new SocketTransport(loop, socket, null, unix);
  if (unix) transport._setUnixNames('', peerPath ?? '');
  else transport._cacheAddresses();
  if (unread !== null) socket.unshift(unread);
  soon(loop, () => onConnected(loop, fut, transport, protocolFactory), () => transport._discard());
  return fut;
}

function onConnected<P extends StreamProtocol>(
  loop: AbstractEventLoop,
  fut: Future<[Transport, P]>,
  transport: SocketTransport,
  protocolFactory: () => P,
): void {
  if (fut.done()) {
    transport._discard();
    return;
  }
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (e) {
    transport._discard();
    fut.setException(e);
    return;
  }
  transport._start(protocol);
  // After connectionMade (scheduled by _start).
  loop.callSoon(() => {
    if (fut.done()) transport.close();
    else fut.setResult([transport, protocol]);
  });
}
