/**
 * Child processes of the native loop, on the addon's uv_spawn (native/process.cc): no
 * node:child_process underneath. The child's stdio pipes are the table's own pipe handles,
 * under the native stream transport (stream.ts), so reading, backpressure and closing are the
 * sockets' code; the process handle reports the exit as an event record. What the transport does
 * with the protocol is shared with the pure loop (io/subprocess-transport.ts).
 */
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import type { SubprocessProtocol } from '../../protocols.js';
import type { SubprocessTransport } from '../../transports.js';
import type { StreamTransport } from '../io/stream-transport.js';
import { type SpawnSpec, envStrings } from '../io/subprocess.js';
import { BaseSubprocessTransport } from '../io/subprocess-transport.js';
import { Ev, type IoEndpoint, type NativeIo } from './io.js';
import { NativeStreamTransport } from './stream.js';

class NativeSubprocessTransport extends BaseSubprocessTransport implements IoEndpoint {
  readonly #io: NativeIo;
  /** The process handle's id; -1 once it is closed (after the exit, or with the loop). */
  #id: number;

  constructor(loop: AbstractEventLoop, protocol: SubprocessProtocol, io: NativeIo, id: number) {
    super(loop, protocol);
    this.#io = io;
    this.#id = id;
    io.register(id, this);
  }

  /** @internal An event record of the process handle. */
  _event(kind: number, a: number, b: number): void {
    if (kind === Ev.exit) this._processExited(b !== 0 ? -b : a);
    else if (kind === Ev.closed) this.#id = -1;
  }

  protected _ioKill(sig: number): void {
    if (this.#id < 0) return; // exited: the exit is delivered already
    const err = this.#io.native.processKill(this.#id, sig);
    // ESRCH: exited a moment ago, its exit is on its way (asyncio's Popen ignores it too).
    if (err < 0 && this.#io.binding.errName(err)[0] !== 'ESRCH') throw this.#io.error(err, 'kill');
  }
}

/** `loop.subprocessExec`/`subprocessShell` on the native loop (arguments checked already). */
export function spawnSubprocess<P extends SubprocessProtocol>(
  loop: AbstractEventLoop,
  getIo: () => NativeIo,
  protocolFactory: () => P,
  spec: SpawnSpec,
): Future<[SubprocessTransport, P]> {
  const io = getIo();
  return loop.createTask(function* () {
    const protocol = protocolFactory();
    const [si, so, se] = spec.stdio;
    const r = io.native.spawn(spec.file, spec.args, envStrings(spec.env), spec.cwd, si, so, se);
    if (typeof r === 'number') {
      // As Node reports a failed spawn: 'spawn <file> ENOENT', with the path and arguments.
      const e = io.error(r, `spawn ${spec.file}`) as NodeJS.ErrnoException & { spawnargs?: string[] };
      e.path = spec.file;
      e.spawnargs = spec.args.slice(1);
      throw e;
    }
    const [pid, id, ...pipeIds] = r;
    const transport = new NativeSubprocessTransport(loop, protocol, io, id);
    const pipes = new Map<number, StreamTransport>();
    pipeIds.forEach((pipeId, fd) => {
      if (pipeId >= 0) pipes.set(fd, new NativeStreamTransport(loop, io, pipeId, null, true));
    });
    yield* transport._connect(pid, pipes);
    return [transport, protocol] as [SubprocessTransport, P];
  });
}
