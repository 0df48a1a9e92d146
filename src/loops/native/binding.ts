/**
 * The one place that finds and loads the native addon. node-gyp-build picks the file: a local
 * build (`build/Release`, then `build/Debug`: a clone, or an install that compiled), else the
 * prebuilt N-API binary shipped in the package (`prebuilds/<platform>-<arch>/`, made by
 * prebuildify). If none loads, the error says what was tried, the build's own reason when the
 * install script failed to build (build/aloop-build-failed.txt, written by scripts/install.mjs),
 * and how to fix it; only `aloop/native` is affected: the pure loop never loads the binary.
 *
 * Environment:
 * - `ALOOP_FORCE_PURE=1` — never load the addon (`isAvailable()` is false).
 * - `ALOOP_NATIVE_PATH=/path/to/aloop.node` — load exactly this file.
 * - `ALOOP_NATIVE_BUILD=build-sanitize` — search `<dir>/Release` and `<dir>/Debug` under the package
 *   root instead of `build/` (`npm run test:sanitize` loads its AddressSanitizer build this way).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @internal The native half of one loop (native/loop.h). Its shared arrays are C++'s memory
 * (native/shared.h), so nothing done to them in JS can free what C++ writes into.
 */
export interface NativeLoopHandle {
  /** Counters and flags, indexed by `S` (shared.ts). */
  readonly state: Int32Array;
  /** Timer ops: id >= 0 inserts timer `id` due at opWhen[i]; ~id cancels it. */
  readonly opIds: Int32Array;
  readonly opWhen: Float64Array;
  /** Ids of timers that fell due, in firing order. */
  readonly due: Int32Array;
  /** Work arrived: run an iteration soon. */
  wake(): void;
  /** End of an iteration JS ran outside a native dispatch: apply `next` (see shared.ts). */
  schedule(next: number): void;
  /** Apply the pending timer ops now (the op buffer is full). */
  flush(): void;
  /** Write the next chunk of due timer ids; returns how many. */
  more(): number;
  /** Close every libuv handle of this loop. */
  close(): void;
  /** Virtual-time loops: queue the first timers due by `limit` seconds, moving the clock; false if none. */
  jump(limit: number): boolean;
}

/**
 * @internal The sockets and pipes of one loop (native/io.h); ids and results as documented there.
 * Streams (TCP and pipes) share write/close/reading; the rest is per handle kind.
 */
export interface NativeIoHandle {
  /** [records ready, more to fetch], see io.ts. */
  readonly state: Int32Array;
  /** Event records: 4 ints each (id, kind, a, b). */
  readonly events: Int32Array;
  /** Read bytes, reused after every iteration. */
  readonly arena: Uint8Array;
  /** Starts connecting; the id of the new socket, or a libuv error (< 0; a failed bind of the local address: error - 2**16). */
  connect(host: string, family: 4 | 6, port: number, localHost: string | null, localPort: number, noDelay: boolean): number;
  /** Binds and listens (accepting nothing until `setAccepting`); the id of the listener, or a libuv error (< 0). */
  listen(host: string, family: 4 | 6, port: number, backlog: number, ipv6Only: boolean): number;
  /** Starts or stops taking connections off a listener's backlog; 0 or a libuv error. */
  setAccepting(id: number, on: boolean): number;
  /** Tries the write at once, queues the rest; returns the bytes queued in C++. */
  write(id: number, data: Uint8Array): number;
  queued(id: number): number;
  /** Emits a `drained` event once the queue is at most `low` bytes (at once if it is). */
  watchDrain(id: number, low: number): void;
  shutdown(id: number): number;
  /** 0: flush, FIN, then close; 1: close now; 2: close with RST. */
  close(id: number, mode: number): void;
  setReading(id: number, on: boolean): void;
  setNoDelay(id: number, on: boolean): number;
  setKeepAlive(id: number, on: boolean, delaySeconds: number): number;
  /** A TCP or UDP socket's (or its peer's) address, or a libuv error. */
  address(id: number, peer: boolean): [string, number] | number;
  /** Starts connecting to a Unix socket path; the id (the outcome comes as a CONNECT event). */
  pipeConnect(path: string): number;
  /** Binds a Unix socket path and listens (accepting nothing until `setAccepting`); the id of the listener, or a libuv error (< 0). */
  pipeListen(path: string, backlog: number): number;
  /** The socket's (or peer's) path, '' when unnamed, or a libuv error. */
  pipeAddress(id: number, peer: boolean): string | number;
  /** Binds a new UDP socket (reading starts with `setReading(id, true)`); its id, or a libuv error (< 0). */
  udpBind(host: string, family: 4 | 6, port: number): number;
  /** Connects a UDP socket (an IP literal of its family); 0 or a libuv error. */
  udpConnect(id: number, host: string, port: number): number;
  udpSetBroadcast(id: number, on: boolean): number;
  /**
   * Sends one datagram (`host` null: to the connected peer): 0 sent, 1 queued in C++ (a `sent`
   * event follows), or a libuv error (UV_EINVAL for a host that is no IP literal of the family).
   */
  udpSend(id: number, data: Uint8Array, host: string | null, port: number): number;
  /** Stops receiving, then closes once the queued sends are out, or at once (`abort`). */
  udpClose(id: number, abort: boolean): void;
  /**
   * Spawns a child (native/process.cc): `[pid, processId, stdinId, stdoutId, stderrId]` (-1 where
   * not a pipe), or a libuv error (< 0). stdio codes as `SpawnStdio` (io/subprocess.ts).
   */
  spawn(file: string, args: string[], env: string[] | null, cwd: string | null, stdin: number, stdout: number, stderr: number): [number, number, number, number, number] | number;
  /** Sends signal `signum` to child process `id`; 0 or a libuv error (UV_ESRCH once it has exited). */
  processKill(id: number, signum: number): number;
  /** A stopped poll handle on `fd`; its id, or a libuv error (EBADF, EEXIST: watched already, EPERM: not pollable). */
  pollOpen(fd: number): number;
  /** Watches for `events` (1 readable | 2 writable; 0 stops): POLL records follow; 0 or a libuv error. */
  pollSet(id: number, events: number): number;
  /** Closes a poll handle (the fd leaves epoll at once). */
  pollClose(id: number): void;
  /**
   * A handle on a socket of the low-level API, which the handle now owns: kind 0 TCP, 1 Unix,
   * 2 UDP; a connected stream (reading), a listener (not accepting until setAccepting) or a UDP
   * socket (not receiving until setReading). Its id, or a libuv error (EBADF: not such a socket).
   */
  openFd(fd: number, kind: number, listener: boolean, backlog: number): number;
  /** Writes the next chunk of event records; returns how many. */
  more(): number;
  /** The Buffer of the current chunk's READ_OWNED record `i`, handed over to JS once (undefined after). */
  owned(i: number): Buffer | undefined;
  /** Gives C++ a spare read buffer, named by `token` in READ_SPARE records; false if it holds too many. */
  supply(buf: Uint8Array, token: number): boolean;
}

/** @internal What the addon exports. */
export interface NativeBinding {
  Loop: new (onIterate: () => void, opCapacity: number, dueCapacity: number, virtualStart?: number) => NativeLoopHandle;
  /** The loop clock in seconds (uv_hrtime), shared with the timer wheel. */
  now(): number;
  /** Writes `now()` into `clock[0]`: the same clock without allocating a number per read. */
  tick(): void;
  readonly clock: Float64Array;
  /** libuv handles of this thread's native loops not yet closed. */
  openHandles(): number;
  Io: new (loop: NativeLoopHandle, eventCapacity: number, arenaSize: number) => NativeIoHandle;
  /** `[code, message]` of a libuv error number (uv_err_name, uv_strerror). */
  errName(errno: number): [string, string];
  // The socket syscalls (native/socket.cc): each tries once; >= 0, or -errno (-EAGAIN: would
  // block). `fd` must be one the addon made and still owns (else -EBADF). family: 1, 2 or 10.
  socketOpen(family: number, type: number): number;
  socketBind(fd: number, family: number, host: string, port: number): number;
  socketListen(fd: number, backlog: number): number;
  socketConnect(fd: number, family: number, host: string, port: number): number;
  /** SO_ERROR as -errno, or 0. */
  socketError(fd: number): number;
  socketAccept(fd: number): number;
  socketRecv(fd: number, buf: Uint8Array): number;
  socketSend(fd: number, data: Uint8Array): number;
  socketRecvfrom(fd: number, buf: Uint8Array): [number, [string, number] | string] | number;
  socketSendto(fd: number, data: Uint8Array, family: number, host: string, port: number): number;
  socketName(fd: number, peer: boolean): [string, number] | string | number;
  socketShutdown(fd: number, how: number): number;
  socketClose(fd: number): number;
}

/** Options of {@link loadBinding}. */
export interface LoadOptions {
  /** Load exactly this file instead of searching. @default process.env.ALOOP_NATIVE_PATH */
  path?: string;
  /** Where to read ALOOP_FORCE_PURE and ALOOP_NATIVE_PATH. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The package directory to search (build/, prebuilds/). @default {@link packageRoot}() */
  root?: string;
}

/** The error `aloop/native` throws when the addon cannot be used. */
export class NativeUnavailableError extends Error {
  readonly code = 'ERR_ALOOP_NATIVE_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'NativeUnavailableError';
  }
}

/** The directory of the package.json named "aloop" above `from` (this file by default). */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; ) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'aloop') return dir;
      } catch {
        // Not a readable package.json: keep walking up.
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const FIX =
  'To fix it: build the addon with `npm rebuild aloop` (in a checkout of aloop: `npm install` or ' +
  '`npx node-gyp rebuild`); it needs Python 3, make and a C++17 compiler. ' +
  "Or use the pure-TypeScript loop: import from 'aloop' instead of 'aloop/native'.";

/** node-gyp-build's loader (CommonJS): the path of the binary it would load from `dir`. */
type NodeGypBuild = { resolve(dir: string): string };

/** @internal Loads the addon (no caching); throws {@link NativeUnavailableError} saying what was tried. */
export function loadBinding(options: LoadOptions = {}): NativeBinding {
  const env = options.env ?? process.env;
  if (env.ALOOP_FORCE_PURE === '1') {
    throw new NativeUnavailableError(
      'aloop/native: the native loop is disabled by ALOOP_FORCE_PURE=1; unset it to use the native loop.',
    );
  }
  const root = options.root ?? packageRoot();
  // ALOOP_NATIVE_BUILD names another build folder (relative to the package, or absolute as npm run
  // test:sanitize's is): its Release build, else its Debug one.
  const otherBuilds =
    env.ALOOP_NATIVE_BUILD && root !== null ? ['Release', 'Debug'].map((d) => path.resolve(root, env.ALOOP_NATIVE_BUILD!, d, 'aloop.node')) : [];
  const explicit = options.path ?? env.ALOOP_NATIVE_PATH;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  let file: string | null = null;
  if (!explicit && otherBuilds.length > 0) {
    file = otherBuilds.find((f) => existsSync(f)) ?? null;
    if (file === null) for (const f of otherBuilds) tried.push(`${f}: not found`);
  } else if (explicit) {
    file = path.resolve(explicit);
    if (!existsSync(file)) tried.push(`${file}: not found`);
  } else if (root !== null) {
    try {
      file = (require('node-gyp-build') as NodeGypBuild).resolve(root);
    } catch (e) {
      // "No native build was found for platform=linux arch=x64 runtime=node abi=115 ... libc=glibc".
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      tried.push(`node-gyp-build in ${root} (build/Release, build/Debug, prebuilds/${process.platform}-${process.arch}): ${why}`);
    }
  } else {
    tried.push(`no package.json named "aloop" above ${fileURLToPath(import.meta.url)}`);
  }
  if (file !== null && tried.length === 0) {
    try {
      const m = require(file) as Partial<NativeBinding> | null;
      if (m && typeof m.Loop === 'function' && typeof m.tick === 'function' && m.clock instanceof Float64Array) {
        return m as NativeBinding;
      }
      tried.push(`${file}: loaded, but it is not aloop's addon (no Loop/tick/clock exports)`);
    } catch (e) {
      tried.push(`${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  let message = 'aloop/native: the native loop addon could not be loaded.\nTried:\n' + tried.map((t) => `  - ${t}`).join('\n');
  const failed = root !== null ? path.join(root, 'build', 'aloop-build-failed.txt') : null;
  if (failed !== null && existsSync(failed)) {
    message += `\nnpm install tried to build it: ${readFileSync(failed, 'utf8').trim()}`;
  }
  throw new NativeUnavailableError(`${message}\n${FIX}`);
}

let cached: { binding: NativeBinding | null; error: Error | null } | null = null;

function load(): { binding: NativeBinding | null; error: Error | null } {
  if (cached === null) {
    try {
      cached = { binding: loadBinding(), error: null };
    } catch (e) {
      cached = { binding: null, error: e as Error };
    }
  }
  return cached;
}

/** @internal The addon, loaded once per thread; throws the loader's error when it is not available. */
export function getBinding(): NativeBinding {
  const r = load();
  if (r.binding === null) throw r.error!;
  return r.binding;
}

/** Whether the native loop can be used in this process. */
export function isAvailable(): boolean {
  return load().binding !== null;
}

/** Why the native loop cannot be used, or null when it can. */
export function unavailableReason(): string | null {
  return load().error?.message ?? null;
}
