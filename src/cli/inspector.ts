/**
 * Reading another Node process's tasks: through its inspector, or through its monitor.
 *
 * The inspector (the Chrome DevTools Protocol over a WebSocket) can evaluate an expression in the
 * process: aloop installs `globalThis[Symbol.for('aloop.introspect')]` when loaded, and calling it
 * returns the snapshot as JSON. A process without an open inspector gets one the way `node inspect
 * -p <pid>` does it: `process._debugProcess(pid)` (SIGUSR1 on POSIX), which opens it on
 * 127.0.0.1:9229 or on the process's `--inspect-port`. On Linux the inspector's port is found
 * among the process's listening sockets (/proc), whatever it is; elsewhere 9229 is tried. An
 * inspector opened here is closed again when done.
 *
 * When the inspector cannot be opened (`--disable-sigusr1`, a busy port, a policy), a monitor
 * the process runs on a loopback port without a token answers instead (Linux: found the same way).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { CancelledError, TimeoutError } from '../errors.js';
import { sleep } from '../sleep.js';
import { timeout } from '../timeouts.js';
import { openConnection } from '../streams.js';
import { WebSocketClient } from './websocket.js';
import type { ProcessSnapshot } from '../introspect/snapshot.js';
import type { LoopStats } from '../introspect/stats.js';
import type { TaskInfo } from '../introspect/snapshot.js';

/** A failure to reach the process, with what to do about it. */
export class ReachError extends Error {
  override name = 'ReachError';
}

/** How long one HTTP probe of a port may take, in seconds. */
const PROBE_SECONDS = 2;
/** How long the inspector may take to open after the signal, in seconds. */
const OPEN_SECONDS = 5;
/**
 * How long the process may take to evaluate the hook, in seconds: its main thread runs it, so a
 * thread busy in a long synchronous stretch, or paused in a debugger, answers late or never.
 */
const EVAL_SECONDS = 10;

const EXPRESSION = `(() => {
  const hook = globalThis[Symbol.for('aloop.introspect')];
  return typeof hook === 'function' ? hook() : JSON.stringify({ noAloop: true, pid: process.pid });
})()`;

/** The snapshot of process `pid`, through its inspector (or its monitor). */
export async function snapshotOfPid(pid: number, log: (line: string) => void = () => {}): Promise<ProcessSnapshot> {
  checkAlive(pid);
  const before = listeningPorts(pid);
  let target = await findInspector(before ?? [{ host: '127.0.0.1', port: 9229 }]);
  let opened = false;
  if (target === null) {
    try {
      (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
      opened = true;
      log(`opened the inspector of ${pid} (SIGUSR1); it is closed again when done`);
    } catch (e) {
      log(`could not open the inspector of ${pid}: ${(e as Error).message}`);
    }
    if (opened) target = await waitForInspector(pid, before);
  }
  if (target === null) {
    const viaMonitor = await findMonitor(listeningPorts(pid) ?? []);
    if (viaMonitor !== null) return viaMonitor;
    throw new ReachError(
      `cannot reach process ${pid}: its inspector did not open (started with --disable-sigusr1, or its inspector port ` +
        `is taken by another process?) and it runs no monitor on a loopback port without a token. ` +
        `Start it with --inspect-port=0, or run monitor() in it and pass its URL instead of the pid.`,
    );
  }
  const ws = await WebSocketClient.connect(target);
  try {
    let value: unknown;
    try {
      value = await timeout(EVAL_SECONDS, () => evaluate(ws, 1, EXPRESSION));
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      throw new ReachError(
        `process ${pid} did not answer in ${EVAL_SECONDS} s: its main thread is busy (a long synchronous stretch: ` +
          'its loop is blocked) or paused in a debugger',
      );
    }
    if (typeof value !== 'string') throw new ReachError(`process ${pid}: the inspector returned no snapshot`);
    const snap = JSON.parse(value) as ProcessSnapshot & { noAloop?: boolean };
    if (snap.pid !== pid) throw new ReachError(`the inspector found belongs to process ${snap.pid}, not ${pid}`);
    if (snap.noAloop) throw new ReachError(`process ${pid} has not loaded aloop (no globalThis[Symbol.for('aloop.introspect')])`);
    return snap;
  } finally {
    if (opened) {
      // Close the inspector we opened, once this connection is gone (inspector.close() waits
      // for its connections): leaving a debugging port open is not ours to decide.
      await timeout(EVAL_SECONDS, () =>
        evaluate(
          ws,
          2,
          `(() => { const i = process.getBuiltinModule?.('node:inspector') ?? require('node:inspector');
            setTimeout(() => i.close(), 200).unref?.(); return true; })()`,
        ),
      ).catch(() => undefined);
    }
    ws.close();
  }
}

/** The snapshot served by a monitor at `url` (its `tasks` and `stats`). */
export async function snapshotOfMonitor(url: string): Promise<ProcessSnapshot> {
  const base = url.endsWith('/') ? url : `${url}/`;
  const u = new URL(base);
  if (u.protocol !== 'http:') throw new ReachError(`a monitor URL starts with http://, not ${url}`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 80);
  const stats = (await httpGetJson(host, port, `${u.pathname}stats`)) as LoopStats;
  const tasks = (await httpGetJson(host, port, `${u.pathname}tasks`)) as TaskInfo[];
  return { pid: -1, node: '', argv: [], monitors: [base], loops: [stats], tasks };
}

function checkAlive(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new ReachError(`no process ${pid}`);
    if (code === 'EPERM') throw new ReachError(`not permitted to signal process ${pid} (another user's: run as that user or root)`);
    throw e;
  }
}

interface Endpoint {
  host: string;
  port: number;
}

/**
 * The TCP ports process `pid` listens on (Linux: its socket inodes matched in /proc/net/tcp and
 * tcp6), or null when that cannot be read.
 */
export function listeningPorts(pid: number): Endpoint[] | null {
  let inodes: Set<string>;
  try {
    inodes = new Set();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) inodes.add(m[1]!);
      } catch {
        // The fd closed meanwhile.
      }
    }
  } catch {
    return null;
  }
  const out: Endpoint[] = [];
  for (const [file, v6] of [['tcp', false], ['tcp6', true]] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address, rem_address, st ... inode (column 9); st 0A is LISTEN.
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9]!)) continue;
      const [addr, portHex] = cols[1]!.split(':');
      out.push({ host: v6 ? '::1' : ipv4(addr!), port: parseInt(portHex!, 16) });
    }
  }
  return out;
}

/** A /proc/net/tcp address (little-endian hex) as a dotted quad; any-address becomes loopback. */
function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  return ip === '0.0.0.0' ? '127.0.0.1' : ip;
}

/** Polls for the inspector the signal opens: a new listening port (Linux) or 9229. */
async function waitForInspector(pid: number, before: Endpoint[] | null): Promise<string | null> {
  const deadline = performance.now() + OPEN_SECONDS * 1000;
  while (performance.now() < deadline) {
    await sleep(0.1);
    const now = listeningPorts(pid);
    const fresh = now === null ? [{ host: '127.0.0.1', port: 9229 }] : now.filter((e) => !before?.some((b) => b.port === e.port));
    const found = await findInspector(fresh);
    if (found !== null) return found;
  }
  return null;
}

/** The WebSocket URL of the first of `endpoints` that is a Node inspector, or null. */
async function findInspector(endpoints: Endpoint[]): Promise<string | null> {
  // The usual inspector port first: fewer requests to the program's own servers.
  for (const e of [...endpoints].sort((a, b) => Number(b.port === 9229) - Number(a.port === 9229))) {
    const list = await httpGetJson(e.host, e.port, '/json/list').catch(() => null);
    if (!Array.isArray(list)) continue;
    const t = list.find((x: { type?: string; webSocketDebuggerUrl?: string }) => x.type === 'node' && typeof x.webSocketDebuggerUrl === 'string');
    if (t !== undefined) return t.webSocketDebuggerUrl as string;
  }
  return null;
}

/** A monitor (without a token) among `endpoints`: its snapshot, or null. */
async function findMonitor(endpoints: Endpoint[]): Promise<ProcessSnapshot | null> {
  for (const e of endpoints) {
    const stats = (await httpGetJson(e.host, e.port, '/stats').catch(() => null)) as LoopStats | null;
    if (stats === null || typeof stats !== 'object' || typeof stats.iterations !== 'number' || typeof stats.type !== 'string') continue;
    const name = e.host.includes(':') ? `[${e.host}]` : e.host;
    return snapshotOfMonitor(`http://${name}:${e.port}/`);
  }
  return null;
}

/** Sends Runtime.evaluate as message `id` and returns the value it gives. */
async function evaluate(ws: WebSocketClient, id: number, expression: string): Promise<unknown> {
  ws.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, returnByValue: true, includeCommandLineAPI: true } }));
  for (;;) {
    const m = await ws.receive();
    if (m === null) throw new ReachError('the inspector closed the connection');
    const msg = JSON.parse(m) as { id?: number; result?: { result?: { value?: unknown }; exceptionDetails?: { text?: string } }; error?: { message?: string } };
    if (msg.id !== id) continue; // an event
    if (msg.error !== undefined) throw new ReachError(`Runtime.evaluate failed: ${msg.error.message}`);
    if (msg.result?.exceptionDetails !== undefined) throw new ReachError(`Runtime.evaluate threw: ${msg.result.exceptionDetails.text}`);
    return msg.result?.result?.value;
  }
}

/** GET `path` from host:port and parse the body as JSON (Connection: close, Content-Length). */
async function httpGetJson(host: string, port: number, path: string): Promise<unknown> {
  try {
    return await timeout(PROBE_SECONDS, async () => {
      const [reader, writer] = await openConnection(host, port);
      try {
        const name = host.includes(':') ? `[${host}]` : host;
        writer.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${name}:${port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`, 'latin1'));
        // Content-Length, not EOF: the inspector keeps the connection open whatever we ask.
        const head = (await reader.readUntil(Buffer.from('\r\n\r\n'))).toString('latin1');
        if (!/^HTTP\/1\.[01] 200 /.test(head)) throw new Error(head.split('\r\n')[0]);
        const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const body = len !== null ? await reader.readExactly(Number(len[1])) : await reader.read(-1);
        return JSON.parse(body.toString('utf8')) as unknown;
      } finally {
        writer.close();
      }
    });
  } catch (e) {
    if (e instanceof TimeoutError || e instanceof CancelledError) throw new Error(`${host}:${port}${path}: no answer in ${PROBE_SECONDS} s`);
    throw e;
  }
}
