/**
 * The argument checks of `subprocessExec`/`subprocessShell`, shared by both loops so that each
 * refuses the same input with the same error, before any backend sees it. What comes out is a
 * plain description of the spawn ({@link SpawnSpec}) every backend takes as it is.
 */
import { constants } from 'node:os';
import { describe } from '../../events.js';
import type { SubprocessOptions } from '../../transports.js';

/** A pipe between this process and the child (asyncio's `subprocess.PIPE`). */
export const PIPE = -1;
/** stderr only: the child's stderr goes wherever its stdout goes (asyncio's `subprocess.STDOUT`). */
export const STDOUT = -2;
/** /dev/null (asyncio's `subprocess.DEVNULL`). */
export const DEVNULL = -3;

/**
 * One of the child's fds 0-2 as a backend makes it: `PIPE`, `DEVNULL`, `STDOUT` (stderr only,
 * and only when stdout is a pipe: the two share it), or a file descriptor of this process the
 * child inherits (`'inherit'` is resolved to 0, 1 or 2; stderr=STDOUT to stdout's own choice when
 * that is not a pipe).
 */
export type SpawnStdio = number;

/** A checked spawn: what every backend takes. */
export interface SpawnSpec {
  /** The program (searched in PATH when it has no slash, as execvp does). */
  file: string;
  /** argv, argv[0] included. */
  args: string[];
  cwd: string | null;
  /** The whole environment, or null for this process's own. */
  env: Record<string, string> | null;
  stdio: [SpawnStdio, SpawnStdio, SpawnStdio];
}

const OPTION_NAMES = new Set(['stdin', 'stdout', 'stderr', 'cwd', 'env']);
const STDIO_NAMES = ['stdin', 'stdout', 'stderr'] as const;

/** A string argument without NUL characters (execve would cut it there). */
function checkString(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string, not ${describe(v)}`);
  if (v.includes('\0')) throw new TypeError(`${name} must not contain NUL characters`);
  return v;
}

function checkStdio(v: unknown, i: 0 | 1 | 2): number {
  const name = STDIO_NAMES[i];
  if (v === undefined || v === null || v === 'inherit') return i;
  if (typeof v === 'string') throw new RangeError(`${name} must be PIPE, DEVNULL${i === 2 ? ', STDOUT' : ''}, a file descriptor or 'inherit', not '${v}'`);
  if (typeof v !== 'number') throw new TypeError(`${name} must be PIPE, DEVNULL${i === 2 ? ', STDOUT' : ''}, a file descriptor or 'inherit', not ${describe(v)}`);
  if (!Number.isInteger(v) || v > 0x7fffffff || v < DEVNULL) throw new RangeError(`${name} must be PIPE, DEVNULL${i === 2 ? ', STDOUT' : ''} or a file descriptor (an integer >= 0), not ${v}`);
  if (v === STDOUT && i !== 2) throw new RangeError(`${name} cannot be STDOUT (only stderr can)`);
  return v;
}

function checkEnv(env: unknown): Record<string, string> | null {
  if (env === undefined || env === null) return null;
  if (typeof env !== 'object' || Array.isArray(env)) throw new TypeError(`env must be an object of strings, not ${describe(env)}`);
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(env)) {
    if (k === '' || k.includes('=')) throw new RangeError(`env name ${JSON.stringify(k)} must be non-empty and without '='`);
    if (k.includes('\0')) throw new TypeError('env names must not contain NUL characters');
    out[k] = checkString(v, `env.${k}`);
  }
  return out;
}

/** The options object: a plain object of the known options (asyncio refuses unknown keywords too). */
function checkOptions(options: unknown, extra: readonly string[]): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`options must be an object, not ${describe(options)}`);
  for (const k of Object.keys(options)) {
    if (!OPTION_NAMES.has(k) && !extra.includes(k)) throw new TypeError(`unknown option '${k}' (known: ${[...OPTION_NAMES, ...extra].join(', ')})`);
  }
  return options as Record<string, unknown>;
}

/**
 * Checks `loop.subprocessExec`'s arguments (`extra`: option names a caller above takes out
 * itself, such as `limit`) and describes the spawn.
 */
export function checkSubprocessExecArgs(protocolFactory: unknown, program: unknown, args: unknown, options: unknown, extra: readonly string[] = []): SpawnSpec {
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be a function, not ${describe(protocolFactory)}`);
  const file = checkString(program, 'program');
  if (file === '') throw new RangeError('program must not be empty');
  const argv = [file];
  if (args !== undefined && args !== null) {
    if (!Array.isArray(args)) throw new TypeError(`args must be an array of strings, not ${describe(args)}`);
    for (let i = 0; i < args.length; i++) argv.push(checkString(args[i], `args[${i}]`));
  }
  return spawnSpec(file, argv, checkOptions(options, extra));
}

/** Checks `loop.subprocessShell`'s arguments: `cmd` runs as `/bin/sh -c cmd`. */
export function checkSubprocessShellArgs(protocolFactory: unknown, cmd: unknown, options: unknown, extra: readonly string[] = []): SpawnSpec {
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be a function, not ${describe(protocolFactory)}`);
  const command = checkString(cmd, 'cmd');
  return spawnSpec('/bin/sh', ['/bin/sh', '-c', command], checkOptions(options, extra));
}

function spawnSpec(file: string, args: string[], o: Record<string, unknown>): SpawnSpec {
  const cwd = o.cwd === undefined || o.cwd === null ? null : checkString(o.cwd, 'cwd');
  const env = checkEnv(o.env);
  const stdin = checkStdio(o.stdin, 0);
  const stdout = checkStdio(o.stdout, 1);
  let stderr = checkStdio(o.stderr, 2);
  // Only a pipe is shared as such; any other choice for stdout is simply made again for stderr.
  if (stderr === STDOUT && stdout !== PIPE) stderr = stdout;
  return { file, args, cwd, env, stdio: [stdin, stdout, stderr] };
}

/** The environment as `NAME=value` strings (execve's form), or null for this process's own. */
export function envStrings(env: Record<string, string> | null): string[] | null {
  if (env === null) return null;
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

const SIGNALS = constants.signals as Record<string, number>;
const SIGNAL_NUMBERS = new Set(Object.values(SIGNALS));

/** A signal to send, by name (`'SIGTERM'`) or number, as its number; 0 only checks the process. */
export function signalNumber(sig: unknown): number {
  if (typeof sig === 'string') {
    const n = Object.hasOwn(SIGNALS, sig) ? SIGNALS[sig] : undefined;
    if (n === undefined) throw new RangeError(`sig '${sig}' is not a signal of this platform`);
    return n;
  }
  if (typeof sig !== 'number') throw new TypeError(`sig must be a signal name or number, not ${describe(sig)}`);
  if (!Number.isInteger(sig) || (sig !== 0 && !SIGNAL_NUMBERS.has(sig))) throw new RangeError(`sig ${sig} is not a signal of this platform`);
  return sig;
}

/** What sending a signal to a finished process throws: Node's `kill ESRCH` (asyncio's ProcessLookupError). */
export function processLookupError(): NodeJS.ErrnoException {
  const e = new Error('kill ESRCH: the process has exited') as NodeJS.ErrnoException;
  e.name = 'ProcessLookupError';
  e.code = 'ESRCH';
  e.errno = -constants.errno.ESRCH;
  e.syscall = 'kill';
  return e;
}

/** The signal number behind a Node signal name (`child_process`'s `signalCode`). */
export function signalOf(name: string): number {
  return SIGNALS[name] ?? 0;
}
