/**
 * Call stacks as lists of frames, read from V8's stack strings (`Error.stack`).
 *
 * The strings, not `Error.prepareStackTrace`'s CallSite objects: whatever rewrites stacks in this
 * process (source maps with `--enable-source-maps`, a test runner's TypeScript maps) rewrites the
 * strings, so the frames name the files and lines their author wrote. V8 writes, one per line:
 *
 *     at name (file:line:col)        a running frame
 *     at async name (file:line:col)  an async function waiting at an await (the async chain)
 *     at g (file:line:col)           a generator frame, followed by its resumption:
 *     at g.next (<anonymous>)          (`yield*` and the task driver call `next`/`throw`)
 *     at file:line:col               an anonymous function
 *
 * A running async function's own frame cannot be told from a plain function's: both are 'sync'.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One frame of a call stack (asyncio's FrameCallGraphEntry, with the frame's facts spelled out). */
export interface FrameCallGraphEntry {
  /** The function's name as V8 gives it (`main`, `Worker.run`, `Object.f`); `<anonymous>` if none. */
  readonly name: string;
  /**
   * `async`: an async function waiting at an await further down; `generator`: a generator
   * coroutine's frame; `sync`: any other frame (the running frame of an async function too).
   */
  readonly kind: 'sync' | 'async' | 'generator';
  /** The file (a path, or a URL for code that has no path), or null for native code. */
  readonly fileName: string | null;
  /** 1-based line, or null. */
  readonly lineNumber: number | null;
  /** 1-based column, or null. */
  readonly columnNumber: number | null;
}

const AT = /^\s*at (?:(async) )?(.*)$/;
const NAMED = /^(.*?) \((.*)\)$/;
const POSITION = /^(.*):(\d+):(\d+)$/;
/** Node's microtask runner, where a microtask's synchronous stack ends. */
const TICKS = /\(node:internal\/process\/task_queues[:)]/;
/** The native frame that resumes a generator (`g.next`, `Generator.throw`, ...). */
const RESUME = /^(?:.*\.)?(?:next|throw|return) \(<anonymous>\)$/;

/** aloop's own directory (src/ when run from source, dist/ when built): its frames are internal. */
const OWN_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url))) + path.sep;

/** The frames of a V8 stack string, innermost first; the message lines are skipped. */
export function parseStack(stack: string): FrameCallGraphEntry[] {
  const lines = stack.split('\n');
  const out: FrameCallGraphEntry[] = [];
  let chained = false;
  for (let i = 0; i < lines.length; i++) {
    const m = AT.exec(lines[i]!);
    if (m === null) continue;
    const body = m[2]!;
    let kind: FrameCallGraphEntry['kind'] = m[1] !== undefined || chained ? 'async' : 'sync';
    // Below Node's microtask runner come V8's async frames, also when a stack rewriter (a
    // source-map installer's prepareStackTrace) has dropped their `async` mark.
    if (TICKS.test(body)) chained = true;
    const next = lines[i + 1];
    if (kind === 'sync' && next !== undefined) {
      const n = AT.exec(next);
      if (n !== null && n[1] === undefined && RESUME.test(n[2]!)) {
        kind = 'generator';
        i++; // the resumption frame is the driver's call, not a frame of the coroutine
      }
    }
    out.push(frameOf(body, kind));
  }
  return out;
}

function frameOf(body: string, kind: FrameCallGraphEntry['kind']): FrameCallGraphEntry {
  let name = '<anonymous>';
  let where = body;
  const named = NAMED.exec(body);
  if (named !== null) {
    name = named[1]!;
    where = named[2]!;
  }
  const pos = POSITION.exec(where);
  if (pos === null) {
    // `<anonymous>`, `native`, `index 0` (a Promise.all element): no file.
    if (named === null) name = body;
    return { name, kind, fileName: null, lineNumber: null, columnNumber: null };
  }
  let file = pos[1]!;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // Not a local file URL: keep it as it is.
    }
  }
  return { name, kind, fileName: file, lineNumber: Number(pos[2]), columnNumber: Number(pos[3]) };
}

/** Whether the frame is aloop's own code (the task driver, the loop, helpers). */
export function isInternal(f: FrameCallGraphEntry): boolean {
  return f.fileName !== null && f.fileName.startsWith(OWN_DIR);
}

/** The task driver's frames: below them the loop runs, not the task's code. */
const DRIVER = /(?:^|\.)(?:_step|_startAsync|_resume|runFirstStep)$/;

/**
 * The frames of a task's own code in `frames` (innermost first): up to the task driver's frame,
 * without aloop's internal frames and the runtime's (node:internal) ones.
 */
export function taskFrames(frames: readonly FrameCallGraphEntry[]): FrameCallGraphEntry[] {
  const out: FrameCallGraphEntry[] = [];
  for (const f of frames) {
    if (isInternal(f)) {
      if (DRIVER.test(f.name)) break;
      continue;
    }
    if (f.fileName !== null && f.fileName.startsWith('node:')) continue;
    out.push(f);
  }
  return out;
}

/** One frame as the call graph prints it (asyncio's format): `File '...', line N, in async f()`. */
export function formatFrame(f: FrameCallGraphEntry): string {
  const tag = f.kind === 'sync' ? '' : `${f.kind} `;
  const where = f.fileName !== null ? `File ${quote(f.fileName)}, line ${f.lineNumber}, in ` : 'in ';
  return `${where}${tag}${f.name}()`;
}

/** Python's repr() of a string, as asyncio's output shows names and files. */
export function quote(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
