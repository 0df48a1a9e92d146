/**
 * Argument checks of the low-level socket API, shared by `Socket` (src/socket.ts), the loops'
 * `sock*` methods (BaseEventLoop) and both backends' socket implementations.
 */
import { describe } from '../../events.js';
import { Socket } from '../../socket.js';
import { SOCK_DGRAM, SOCK_STREAM } from '../../transports.js';
import { checkBacklog, checkBool, checkFactory, checkOptions, toBytes } from './args.js';

const AF_UNIX = 1;

/** @internal Checks an address for `family`: a path string (AF_UNIX) or `[host, port]`. */
export function checkAddress(family: number, address: unknown, name: string): void {
  if (family === AF_UNIX) {
    if (typeof address !== 'string') throw new TypeError(`${name} of an AF_UNIX socket must be a path string, not ${describe(address)}`);
    if (address.includes('\0')) throw new TypeError(`${name} must not contain NUL bytes`);
    return;
  }
  if (!Array.isArray(address) || address.length < 2 || typeof address[0] !== 'string') {
    throw new TypeError(`${name} must be [host, port] for an AF_INET/AF_INET6 socket, not ${describe(address)}`);
  }
  const port = address[1];
  if (typeof port !== 'number') throw new TypeError(`${name} port must be a number, not ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${name} port must be an integer in 0..65535, not ${port}`);
}


/** @internal A byte count: an integer >= 0. */
export function checkNbytes(n: unknown, name = 'n'): void {
  if (typeof n !== 'number') throw new TypeError(`${name} must be a number, not ${describe(n)}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be an integer >= 0, not ${n}`);
}

/** @internal Bytes to send: what args.ts's toBytes takes, or a string (sent as UTF-8). */
export function sendBytes(data: unknown, name = 'data'): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data) : toBytes(data, name);
}

/** @internal A buffer to receive into: a Uint8Array (a Buffer is one) or another ArrayBufferView. */
export function intoBytes(buf: unknown, name = 'buf'): Uint8Array {
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  throw new TypeError(`${name} must be a Buffer or Uint8Array, not ${describe(buf)}`);
}

/** @internal `[host, port]` → host for node:net/dgram and the addon: '' is any address, 'localhost' the loopback. */
export function bindHost(host: string, v6: boolean): string {
  if (host === '') return v6 ? '::' : '0.0.0.0';
  if (host === 'localhost') return v6 ? '::1' : '127.0.0.1';
  return host;
}

/**
 * @internal `{ sock }` of createConnection / createServer / createDatagramEndpoint (and the Unix
 * ones): the Socket to hand over, or null when none is given. As asyncio: host/port (or path)
 * must then be omitted ("host/port and sock can not be specified at the same time"), and an
 * endpoint takes none of the options that would make its socket (`modifiers`).
 */
export function handoffSock(options: unknown, addressGiven: boolean, type: number, what: string, modifiers: string[] = []): Socket | null {
  if (options === null || typeof options !== 'object') return null;
  const sock = (options as { sock?: unknown }).sock;
  if (sock === undefined || sock === null) return null;
  if (!(sock instanceof Socket)) throw new TypeError(`sock must be a Socket (from socket()), not ${describe(sock)}`);
  if (addressGiven) throw new TypeError(`${what}: host/port and sock can not be specified at the same time`);
  for (const m of modifiers) {
    const v = (options as Record<string, unknown>)[m];
    if (v !== undefined && v !== null && v !== 0 && v !== false) throw new TypeError(`${what}: socket modifier keyword arguments (${m}) can not be used when sock is specified`);
  }
  if (sock.type !== type) throw new TypeError(`${what} needs a ${type === SOCK_STREAM ? 'SOCK_STREAM' : 'SOCK_DGRAM'} socket`);
  return sock;
}

/** @internal A `{ sock }` handoff of kind `what`: the Socket (or null) and the server options it keeps. */
export function checkHandoff(
  what: 'connection' | 'server' | 'endpoint',
  name: string,
  protocolFactory: unknown,
  options: unknown,
  addressGiven: boolean,
): { sock: Socket; backlog: number; startServing: boolean } | null {
  const modifiers = what === 'endpoint' ? ['localAddr', 'remoteAddr', 'family', 'broadcast', 'reusePort'] : [];
  const sock = handoffSock(options, addressGiven, what === 'endpoint' ? SOCK_DGRAM : SOCK_STREAM, name, modifiers);
  if (sock === null) return null;
  checkFactory(protocolFactory);
  const opts = checkOptions<{ backlog: number; startServing: boolean }>(options);
  return { sock, backlog: what === 'server' ? checkBacklog(opts.backlog) : 0, startServing: checkBool(opts.startServing, 'startServing', true) };
}
