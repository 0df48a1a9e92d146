/**
 * Argument checks and small helpers of the network layer, used by the node:net / node:dgram one
 * and the native loop's alike, so both loops refuse the same arguments with the same errors.
 * Validation happens here, before anything reaches Node or the addon, so bad input gets a
 * TypeError or RangeError naming the argument (Node's own messages name its internals instead).
 */
import * as fs from 'node:fs';
import type { AbstractEventLoop } from '../../events.js';
import { describe } from '../../events.js';
import type { Future } from '../../futures.js';
import type { BytesLike, CreateConnectionOptions, CreateServerOptions, CreateUnixServerOptions } from '../../transports.js';
import { logger } from '../../log.js';

export function checkFactory(f: unknown, name = 'protocolFactory'): void {
  if (typeof f !== 'function') throw new TypeError(`${name} must be a function, not ${describe(f)}`);
}

export function checkPort(port: unknown, name: string, allowZero: boolean): number {
  if (typeof port !== 'number') throw new TypeError(`${name} must be a number, not ${describe(port)}`);
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`${name} must be an integer from ${min} to 65535, not ${port}`);
  }
  return port;
}

/**
 * A host name or address: a non-empty string without NUL. The C library and libuv end a string
 * at its first NUL, so '127.0.0.1\0junk' would silently connect, bind or send to 127.0.0.1; it is
 * refused instead, as Node refuses NUL in paths (a TypeError).
 */
export function checkHost(host: unknown, name: string): string {
  if (typeof host !== 'string') throw new TypeError(`${name} must be a string, not ${describe(host)}`);
  if (host === '') throw new RangeError(`${name} must not be empty`);
  checkNoNul(host, name);
  return host;
}

function checkNoNul(s: string, name: string): void {
  if (s.includes('\0')) throw new TypeError(`${name} must not contain NUL characters, not ${JSON.stringify(s)}`);
}

export function checkPath(path: unknown, name = 'path'): string {
  if (typeof path !== 'string') throw new TypeError(`${name} must be a string, not ${describe(path)}`);
  if (path === '') throw new RangeError(`${name} must not be empty`);
  return path;
}

/** Bytes of a Unix socket path (sun_path less its NUL): 107 on Linux, 103 on the BSDs and macOS. */
const MAX_UNIX_PATH = process.platform === 'linux' ? 107 : 103;

/**
 * A Unix socket path: a non-empty string that fits in sun_path. node:net (and libuv's plain bind)
 * would cut a longer one short silently and bind another name; this refuses it instead.
 */
export function checkUnixPath(path: unknown, name = 'path'): string {
  checkPath(path, name);
  const n = Buffer.byteLength(path as string);
  if (n > MAX_UNIX_PATH) throw new RangeError(`${name} is ${n} bytes long; a Unix socket path holds at most ${MAX_UNIX_PATH}`);
  checkNoNul(path as string, name);
  return path as string;
}

export function checkOptions<T extends object>(opts: unknown, name = 'options'): Partial<T> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object') throw new TypeError(`${name} must be an object, not ${describe(opts)}`);
  return opts as Partial<T>;
}

export function checkFamily(family: unknown): 0 | 4 | 6 {
  if (family === undefined || family === null || family === 0) return 0;
  if (family === 4 || family === 6) return family;
  throw new RangeError(`family must be 0, 4 or 6, not ${describe(family)}`);
}

export function checkBool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${describe(v)}`);
  return v;
}

export function checkBacklog(v: unknown): number {
  if (v === undefined || v === null) return 100;
  if (typeof v !== 'number') throw new TypeError(`backlog must be a number, not ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`backlog must be a non-negative integer, not ${v}`);
  return v;
}

/** `[host, port]` with a string host and a port in range (0 only where `allowZeroPort`: a bind). */
export function checkAddr(addr: unknown, name: string, allowZeroPort = true): [string, number] {
  if (!Array.isArray(addr) || addr.length < 2) {
    throw new TypeError(`${name} must be a [host, port] array, not ${describe(addr)}`);
  }
  return [checkHost(addr[0], `${name}[0] (host)`), checkPort(addr[1], `${name}[1] (port)`, allowZeroPort)];
}

// --- the arguments of the stream methods, checked alike on both loops --------------------------

/** `createConnection`'s arguments once checked. */
export interface ConnectionArgs {
  host: string;
  port: number;
  family: 0 | 4 | 6;
  /** `localAddr`, unresolved. */
  local: [string, number] | null;
  noDelay: boolean;
}

/** `createConnection(protocolFactory, host, port, options)`. */
export function checkConnectionArgs(protocolFactory: unknown, host: unknown, port: unknown, options: unknown): ConnectionArgs {
  checkFactory(protocolFactory);
  const h = checkHost(host, 'host');
  const p = checkPort(port, 'port', false);
  const opts = checkOptions<CreateConnectionOptions>(options);
  return {
    host: h,
    port: p,
    family: checkFamily(opts.family),
    local: opts.localAddr == null ? null : checkAddr(opts.localAddr, 'localAddr'),
    noDelay: checkBool(opts.noDelay, 'noDelay', true),
  };
}

/** `createUnixConnection(protocolFactory, path, options)`: the path. */
export function checkUnixConnectionArgs(protocolFactory: unknown, path: unknown, options: unknown): string {
  checkFactory(protocolFactory);
  checkOptions(options);
  return checkUnixPath(path);
}

/** `createServer`'s arguments once checked. */
export interface ServerArgs {
  /** `undefined` stands for "every interface". */
  hosts: (string | undefined)[];
  port: number;
  family: 0 | 4 | 6;
  backlog: number;
  startServing: boolean;
  ipv6Only: boolean;
}

/** `createServer(protocolFactory, host, port, options)` (`reuseAddress: false` cannot be had). */
export function checkServerArgs(protocolFactory: unknown, host: unknown, port: unknown, options: unknown): ServerArgs {
  checkFactory(protocolFactory);
  let hosts: (string | undefined)[];
  if (host === undefined || host === null || host === '') hosts = [undefined];
  else if (typeof host === 'string') hosts = [host];
  else if (Array.isArray(host) && host.length > 0 && host.every((h) => typeof h === 'string' && h !== '')) hosts = host;
  else throw new TypeError(`host must be a string, an array of strings or null, not ${describe(host)}`);
  for (const h of hosts) if (h !== undefined) checkNoNul(h, 'host');
  const p = port === undefined || port === null ? 0 : checkPort(port, 'port', true);
  const opts = checkOptions<CreateServerOptions>(options);
  const family = checkFamily(opts.family);
  const backlog = checkBacklog(opts.backlog);
  if (!checkBool(opts.reuseAddress, 'reuseAddress', true) && process.platform !== 'win32') {
    throw new RangeError('reuseAddress: false is not supported: both loops set SO_REUSEADDR on every listening socket');
  }
  const startServing = checkBool(opts.startServing, 'startServing', true);
  const ipv6Only = checkBool(opts.ipv6Only, 'ipv6Only', false);
  return { hosts, port: p, family, backlog, startServing, ipv6Only };
}

/** `createUnixServer`'s arguments once checked. */
export interface UnixServerArgs {
  path: string;
  backlog: number;
  startServing: boolean;
}

/** `createUnixServer(protocolFactory, path, options)`. */
export function checkUnixServerArgs(protocolFactory: unknown, path: unknown, options: unknown): UnixServerArgs {
  checkFactory(protocolFactory);
  const p = checkUnixPath(path);
  const opts = checkOptions<CreateUnixServerOptions>(options);
  const backlog = checkBacklog(opts.backlog);
  return { path: p, backlog, startServing: checkBool(opts.startServing, 'startServing', true) };
}

/** Removes the socket file a dead server left at `path`: it would make bind fail (asyncio removes it too). */
export function removeStaleUnixSocket(path: string): void {
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    // Nothing there (or not ours to remove): bind reports what is wrong.
  }
}

/** The bytes of `data` as a Uint8Array without copying; TypeError for anything else. */
export function toBytes(data: unknown, name = 'data'): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${name} must be a Buffer, Uint8Array or other ArrayBuffer view, not ${describe(data)}`);
}

/**
 * The `initialDelay` of the 'socket' extra's `setKeepAlive(enable, initialDelay)`, in milliseconds
 * as node:net's. Checked alike on both loops (node:net itself takes anything and truncates it).
 */
export function checkKeepAliveDelay(initialDelay: unknown): number {
  if (initialDelay === undefined) return 0;
  if (typeof initialDelay !== 'number') throw new TypeError(`initialDelay must be a number of milliseconds, not ${describe(initialDelay)}`);
  if (!(initialDelay >= 0) || !Number.isFinite(initialDelay)) {
    throw new RangeError(`initialDelay must be a non-negative finite number of milliseconds, not ${initialDelay}`);
  }
  return initialDelay;
}

export function checkWriteLimits(high: unknown, low: unknown): [low: number, high: number] {
  for (const [v, n] of [[high, 'high'], [low, 'low']] as const) {
    if (v !== undefined && v !== null && typeof v !== 'number') throw new TypeError(`${n} must be a number, not ${describe(v)}`);
    if (typeof v === 'number' && Number.isNaN(v)) throw new RangeError(`${n} must not be NaN`);
  }
  // asyncio's rule: high defaults to 64 KiB (or 4 × low), low to high / 4.
  let h = high as number | null | undefined;
  let l = low as number | null | undefined;
  if (h === undefined || h === null) h = l === undefined || l === null ? 64 * 1024 : 4 * l;
  if (l === undefined || l === null) l = Math.floor(h / 4);
  if (!(h >= l && l >= 0)) throw new RangeError(`high (${h}) must be >= low (${l}) must be >= 0`);
  return [l, h];
}

/**
 * Schedules `fn` on `loop` from a Node event. Node events can outlive a closed loop; then
 * there is nobody left to tell, and `onClosed` releases the resource instead.
 */
export function soon(loop: AbstractEventLoop, fn: () => void, onClosed?: () => void): void {
  if (loop.isClosed()) {
    onClosed?.();
    return;
  }
  loop.callSoon(fn);
}

/** Settles `fut` unless it is already done (it may have been cancelled meanwhile). */
export function settleSoon<T>(loop: AbstractEventLoop, fut: Future<T>, err: unknown, value?: T): void {
  soon(loop, () => {
    if (fut.done()) return;
    if (err !== undefined && err !== null) fut.setException(err);
    else fut.setResult(value as T);
  });
}

/** asyncio warns once a transport has dropped this many writes after the connection was lost. */
export const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

export function warnLostWrite(count: number): void {
  if (count === LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning('socket.send() raised exception: the transport is closed; writes are dropped.');
}

export type { BytesLike };
