/**
 * Child processes of the pure loop, on `node:child_process`. The pipes are the ChildProcess's
 * stdio sockets (net.Socket over Node's socketpairs) under the same stream transport as TCP
 * (pure/socket.ts), so data arrives in order and whole, and a paused protocol pauses the
 * socket. What the transport does with the protocol is shared with the native loop
 * (io/subprocess-transport.ts).
 *
 * stderr=STDOUT with stdout a pipe: Node has no way to give two stdio slots one new pipe, so the
 * loop makes a connected pair of Unix sockets first (a listener on an abstract address, or a
 * temporary path off Linux) and hands the child's end to both slots.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import path from 'node:path';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { SubprocessProtocol } from '../../protocols.js';
import type { SubprocessTransport } from '../../transports.js';
import type { Coro } from '../../tasks.js';
import { holdClock } from '../io/hold.js';
import { SocketTransport } from './socket.js';
import { hold } from './resources.js';
import type { StreamTransport } from '../io/stream-transport.js';
import { DEVNULL, PIPE, STDOUT, type SpawnSpec, signalOf } from '../io/subprocess.js';
import { BaseSubprocessTransport } from '../io/subprocess-transport.js';

/**
 * Bytes a child's pipe hands over per loop iteration before it waits for the protocol: more than
 * a socket's 64 KiB (a loop has few pipes, and they carry bulk output), as the native loop's.
 */
const PIPE_READ_BUDGET = 4 * 64 * 1024;

class PureSubprocessTransport extends BaseSubprocessTransport {
  readonly #child: ChildProcess;
  constructor(loop: AbstractEventLoop, protocol: SubprocessProtocol, child: ChildProcess) {
    super(loop, protocol);
    this.#child = child;
  }

  protected _ioKill(sig: number): void {
    // Through the ChildProcess's handle (never a pid that may be reused once it is reaped); a
    // child that exited meanwhile is not an error here: its exit is on its way.
    this.#child.kill(sig);
  }
}

/** A connected pair of Unix sockets: [this process's end, the child's end]. */
function* socketPair(loop: AbstractEventLoop): Coro<[net.Socket, net.Socket]> {
  const name = `aloop-${process.pid}-${randomBytes(6).toString('hex')}`;
  const where = process.platform === 'linux' ? `\0${name}` : path.join(tmpdir(), `${name}.sock`);
  const done = loop.createFuture<[net.Socket, net.Socket]>();
  const release = holdClock(loop);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  let client: net.Socket | null = null;
  let accepted: net.Socket | null = null;
  const finish = (err: Error | null) => {
    release();
    server.close();
    if (done.done()) return;
    if (err !== null) {
      client?.destroy();
      accepted?.destroy();
      done.setException(err);
    } else done.setResult([accepted!, client!]);
  };
  server.on('error', finish);
  server.on('connection', (s) => {
    accepted = s;
    if (client !== null && client.readyState === 'open') finish(null);
  });
  server.listen(where, () => {
    const c = net.connect({ path: where, allowHalfOpen: true });
    client = c;
    c.pause();
    c.once('error', finish);
    c.once('connect', () => {
      if (accepted !== null) finish(null);
    });
  });
  try {
    return yield* done;
  } catch (e) {
    finish(e as Error);
    throw e;
  }
}

/** `loop.subprocessExec`/`subprocessShell` on the pure loop (arguments checked already). */
export function spawnSubprocess<P extends SubprocessProtocol>(loop: AbstractEventLoop, protocolFactory: () => P, spec: SpawnSpec): Future<[SubprocessTransport, P]> {
  return loop.createTask(function* () {
    const protocol = protocolFactory();
    const [si, so, se] = spec.stdio;
    const pair = se === STDOUT ? yield* socketPair(loop) : null;
    const slot = (s: number): 'pipe' | 'ignore' | number | net.Socket => (s === PIPE ? 'pipe' : s === DEVNULL ? 'ignore' : s === STDOUT ? pair![1] : s);
    const stdio: StdioOptions = [slot(si), pair !== null ? pair[1] : slot(so), slot(se)];
    let child: ChildProcess;
    try {
      child = spawn(spec.file, spec.args.slice(1), {
        argv0: spec.args[0],
        cwd: spec.cwd ?? undefined,
        env: spec.env ?? process.env,
        stdio,
      });
    } finally {
      // The child has its copy (or there is no child): this process keeps only its own end.
      pair?.[1].destroy();
    }
    if (child.pid === undefined) {
      // Node reports a failed spawn (ENOENT, EACCES, a bad cwd) as an 'error' event, next tick.
      pair?.[0].destroy();
      const failed = loop.createFuture<never>();
      child.once('error', (err) => failed.setException(err));
      return yield* failed;
    }
    const transport = new PureSubprocessTransport(loop, protocol, child);
    child.once('exit', (code, signal) => transport._processExited(signal !== null ? -signalOf(signal) : (code ?? 0)));
    // Closing the loop leaves the child running but no longer keeping this process alive.
    hold(loop, child, () => child.unref());
    const pipes = new Map<number, StreamTransport>();
    const add = (fd: number, s: net.Socket | null | undefined) => {
      if (s === null || s === undefined) return;
      pipes.set(fd, new SocketTransport(loop, s, null, true, PIPE_READ_BUDGET));
      hold(loop, s, () => s.destroy());
    };
    add(0, child.stdin as net.Socket | null);
    add(1, pair !== null ? pair[0] : (child.stdout as net.Socket | null));
    add(2, child.stderr as net.Socket | null);
    if (pair !== null) pair[0].resume();
    yield* transport._connect(child.pid, pipes);
    return [transport, protocol] as [SubprocessTransport, P];
  });
}
