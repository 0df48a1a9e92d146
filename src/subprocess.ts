/**
 * Child processes with streams (asyncio's `subprocess.py`): `createSubprocessExec` and
 * `createSubprocessShell` give a {@link Process} whose `stdin` is a StreamWriter and whose
 * `stdout`/`stderr` are StreamReaders. Written against the loop contract only
 * (`loop.subprocessExec`/`subprocessShell`), so it runs the same on every loop.
 */
import { type AbstractEventLoop, getRunningLoop } from './events.js';
import type { Future } from './futures.js';
import { gather } from './gather.js';
import type { SubprocessProtocol } from './protocols.js';
import { DEFAULT_LIMIT, StreamReader, StreamReaderProtocol, StreamWriter, checkLimit } from './streams.js';
import type { Coro } from './tasks.js';
import type { BytesLike, SubprocessOptions, SubprocessTransport } from './transports.js';

export { PIPE, STDOUT, DEVNULL } from './loops/io/subprocess.js';

/** Options of {@link createSubprocessExec}/{@link createSubprocessShell}. */
export interface CreateSubprocessOptions extends SubprocessOptions {
  /** The limit of the `stdout`/`stderr` StreamReaders. @default 65536 */
  limit?: number;
}

/**
 * The protocol behind a {@link Process} (asyncio's `SubprocessStreamProtocol`): feeds the child's
 * stdout and stderr into StreamReaders and gives its stdin a StreamWriter; closes the transport
 * once the child has exited and both readers have reached EOF. @internal
 */
export class SubprocessStreamProtocol implements SubprocessProtocol {
  stdin: StreamWriter | null = null;
  stdout: StreamReader | null = null;
  stderr: StreamReader | null = null;
  readonly #limit: number;
  readonly #loop: AbstractEventLoop;
  /** Write flow control and stdin's close waiter (asyncio's FlowControlMixin), for `drain()`. */
  readonly #flow: StreamReaderProtocol;
  #transport: SubprocessTransport | null = null;
  #exited = false;
  readonly #pipeFds: number[] = [];
  /** @internal `Process.wait()` callers, done in `processExited`. */
  _exitWaiters: Future<number>[] = [];

  constructor(limit: number, loop: AbstractEventLoop) {
    this.#limit = limit;
    this.#loop = loop;
    this.#flow = new StreamReaderProtocol(new StreamReader(limit, loop), null, loop);
  }

  connectionMade(transport: SubprocessTransport): void {
    this.#transport = transport;
    const out = transport.getPipeTransport(1);
    if (out !== null) {
      this.stdout = new StreamReader(this.#limit, this.#loop);
      this.stdout.setTransport(out);
      this.#pipeFds.push(1);
    }
    const err = transport.getPipeTransport(2);
    if (err !== null) {
      this.stderr = new StreamReader(this.#limit, this.#loop);
      this.stderr.setTransport(err);
      this.#pipeFds.push(2);
    }
    const inp = transport.getPipeTransport(0);
    if (inp !== null) this.stdin = new StreamWriter(inp, this.#flow, null, this.#loop);
  }

  pipeDataReceived(fd: number, data: Buffer): void {
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    reader?.feedData(data);
  }

  pipeConnectionLost(fd: number, exc: Error | null): void {
    if (fd === 0) {
      this.stdin?.close();
      this.#flow.connectionLost(exc);
      return;
    }
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    const i = this.#pipeFds.indexOf(fd);
    if (i >= 0) this.#pipeFds.splice(i, 1);
    this.#maybeCloseTransport();
  }

  processExited(): void {
    this.#exited = true;
    const rc = this.#transport?.getReturncode() ?? null;
    const waiters = this._exitWaiters;
    this._exitWaiters = [];
    for (const w of waiters) if (!w.done()) w.setResult(rc ?? 0);
    this.#maybeCloseTransport();
  }

  pauseWriting(): void {
    this.#flow.pauseWriting();
  }

  resumeWriting(): void {
    this.#flow.resumeWriting();
  }

  connectionLost(exc: Error | null): void {
    this.#flow.connectionLost(exc);
  }

  #maybeCloseTransport(): void {
    if (this.#pipeFds.length === 0 && this.#exited && this.#transport !== null) {
      this.#transport.close();
      this.#transport = null;
    }
  }
}

/** A write to stdin failed because the child is gone: communicate() carries on without it, as asyncio's does. */
function isBrokenPipe(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/** A child process (asyncio's `asyncio.subprocess.Process`). */
export class Process {
  /** The child's process id. */
  readonly pid: number;
  /** The child's stdin when it is a pipe (`stdin: PIPE`), else null. */
  readonly stdin: StreamWriter | null;
  /** The child's stdout when it is a pipe, else null. */
  readonly stdout: StreamReader | null;
  /** The child's stderr when it is a pipe, else null. */
  readonly stderr: StreamReader | null;
  readonly #transport: SubprocessTransport;
  readonly #protocol: SubprocessStreamProtocol;
  readonly #loop: AbstractEventLoop;

  /** @internal Made by `createSubprocessExec`/`createSubprocessShell`. */
  constructor(transport: SubprocessTransport, protocol: SubprocessStreamProtocol, loop: AbstractEventLoop) {
    this.#transport = transport;
    this.#protocol = protocol;
    this.#loop = loop;
    this.stdin = protocol.stdin;
    this.stdout = protocol.stdout;
    this.stderr = protocol.stderr;
    this.pid = transport.getPid();
  }

  /** The exit status once the child has exited (minus the signal number if a signal ended it), else null. */
  get returncode(): number | null {
    return this.#transport.getReturncode();
  }

  /**
   * Waits for the child to exit; resolves to its return code. (As in asyncio, a child writing
   * more to a pipe than its buffer holds blocks while nobody reads it: use `communicate()`.)
   */
  wait(): Future<number> {
    const fut = this.#loop.createFuture<number>();
    const rc = this.returncode;
    if (rc !== null) fut.setResult(rc);
    else this.#protocol._exitWaiters.push(fut);
    return fut;
  }

  /** Sends signal `sig` (`'SIGUSR1'` or a number); throws an ESRCH error once the child is gone. */
  sendSignal(sig: string | number): void {
    this.#transport.sendSignal(sig);
  }

  /** Sends SIGTERM. */
  terminate(): void {
    this.#transport.terminate();
  }

  /** Sends SIGKILL. */
  kill(): void {
    this.#transport.kill();
  }

  /**
   * Writes `input` to stdin and closes it, reads stdout and stderr to EOF (concurrently), then
   * waits for the child to exit. Resolves to `[stdout, stderr]`: the bytes read, or null for
   * one that is not a pipe. A child that exits without reading all of `input` is not an error.
   */
  communicate(input?: BytesLike | string | null): Future<[Buffer | null, Buffer | null]> {
    const stdin = this.stdin;
    const data = input === undefined || input === null ? null : typeof input === 'string' ? Buffer.from(input) : input;
    const proc = this;
    function* feed(): Coro<null> {
      try {
        if (data !== null) stdin!.write(data);
        yield* stdin!.drain();
      } catch (e) {
        if (!isBrokenPipe(e)) throw e;
      }
      stdin!.close();
      return null;
    }
    const read = function* (fd: 1 | 2): Coro<Buffer> {
      const reader = fd === 1 ? proc.stdout! : proc.stderr!;
      const out = yield* reader.read();
      proc.#transport.getPipeTransport(fd)?.close();
      return out;
    };
    // eslint-disable-next-line require-yield
    const none = function* (): Coro<null> {
      return null;
    };
    return this.#loop.createTask(function* () {
      const [, out, err] = yield* gather(
        stdin !== null ? feed() : none(),
        proc.stdout !== null ? read(1) : none(),
        proc.stderr !== null ? read(2) : none(),
      );
      yield* proc.wait();
      return [out, err] as [Buffer | null, Buffer | null];
    });
  }

  /** `await using proc = ...`: kills the child if it still runs, reaps it and closes the pipes. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.returncode === null) {
      try {
        this.kill();
      } catch {
        // Gone already.
      }
    }
    await this.wait();
    this.#transport.close();
  }

  toString(): string {
    return `<Process ${this.pid}>`;
  }
}

/** The trailing options object of `createSubprocessExec(program, ...args, options?)`. */
function splitOptions(rest: unknown[]): [unknown[], CreateSubprocessOptions | undefined] {
  const last = rest[rest.length - 1];
  if (rest.length > 0 && (last === undefined || (typeof last === 'object' && last !== null && !Array.isArray(last)))) {
    return [rest.slice(0, -1), last as CreateSubprocessOptions | undefined];
  }
  return [rest, undefined];
}

function withoutLimit(options: CreateSubprocessOptions | undefined): [number, SubprocessOptions | undefined] {
  if (options === undefined || options === null || typeof options !== 'object') return [DEFAULT_LIMIT, options];
  const { limit, ...rest } = options;
  return [limit === undefined ? DEFAULT_LIMIT : checkLimit(limit), rest];
}

function start(loop: AbstractEventLoop, limit: number, spawn: (factory: () => SubprocessStreamProtocol) => Future<[SubprocessTransport, SubprocessStreamProtocol]>): Future<Process> {
  const spawned = spawn(() => new SubprocessStreamProtocol(limit, loop));
  return loop.createTask(function* () {
    const [transport, protocol] = yield* spawned;
    return new Process(transport, protocol, loop);
  });
}

/**
 * Runs `program` with `args` (no shell); resolves to a {@link Process}. A trailing plain object
 * is the options: `stdin`, `stdout`, `stderr` (`PIPE`, `DEVNULL`, `STDOUT` for stderr, a file
 * descriptor, or `'inherit'`/null: this process's own, the default), `cwd`, `env`, `limit`.
 * A program that cannot be run rejects with Node's error (`code` 'ENOENT', 'EACCES', ...).
 */
export function createSubprocessExec(program: string, ...args: [...string[], CreateSubprocessOptions] | string[]): Future<Process> {
  const loop = getRunningLoop();
  const [argv, options] = splitOptions(args);
  const [limit, rest] = withoutLimit(options);
  return start(loop, limit, (f) => loop.subprocessExec(f, program, argv as string[], rest));
}

/** Runs `cmd` with `/bin/sh -c`; resolves to a {@link Process}. Options as {@link createSubprocessExec}'s. */
export function createSubprocessShell(cmd: string, options?: CreateSubprocessOptions): Future<Process> {
  const loop = getRunningLoop();
  const [limit, rest] = withoutLimit(options);
  return start(loop, limit, (f) => loop.subprocessShell(f, cmd, rest));
}
