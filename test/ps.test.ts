/**
 * `aloop ps` / `aloop pstree` against child processes that run a known task tree on each loop:
 * through the inspector (opened by SIGUSR1 and closed again), through a monitor URL, through a
 * monitor found when the inspector cannot open; and what it says when it cannot help. The
 * children and the command run the built package (dist/), as users do; `npm test` builds it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { listeningPorts } from '../src/cli/inspector.js';
import { CycleError, psTable, psTree } from '../src/cli/render.js';
import type { ProcessSnapshot, TaskInfo } from '../src/index.js';
import { eachLoop } from './loops.js';

/** Child processes and a command each: generous on a loaded machine. */
const SLOW = 90_000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const distIndex = pathToFileURL(path.join(root, 'dist', 'index.js')).href;
const distNative = pathToFileURL(path.join(root, 'dist', 'native.js')).href;

function checkBuilt(): void {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
}

/** Runs `aloop ...`; its exit code and output. */
function aloop(args: string[], timeout = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Child {
  proc: ChildProcess;
  pid: number;
  monitor: string | null;
  stderr: () => string;
}

/** Starts a child running `script`; resolves once it printed its `ready` line (JSON). */
function startChild(script: string, nodeArgs: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready: ${err}`)), 20_000);
    proc.on('exit', (code) => reject(new Error(`child exited (${code}): ${err}`)));
    proc.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      clearTimeout(timer);
      const ready = JSON.parse(line) as { pid: number; monitor: string | null };
      resolve({ proc, pid: ready.pid, monitor: ready.monitor, stderr: () => err });
    });
  });
}

/** A child with a known tree: main → taskGroup → worker-a, worker-b, each gathering leaf and genLeaf. */
function treeScript(loop: string, withMonitor: boolean): string {
  return `
    import * as aio from ${JSON.stringify(distIndex)};
    import { NativeEventLoop } from ${JSON.stringify(distNative)};
    const loopFactory = ${loop === 'native'} ? () => new NativeEventLoop() : undefined;
    await aio.run(async function main() {
      const m = ${withMonitor} ? await aio.monitor() : null;
      async function leaf() { await aio.sleep(3600); }
      async function worker() {
        await aio.gather(leaf, function* genLeaf() { yield* aio.sleep(3600); });
      }
      await aio.taskGroup(async (tg) => {
        tg.createTask(worker, { name: 'worker-a' });
        tg.createTask(worker, { name: 'worker-b' });
        await aio.sleep(0);
        console.log(JSON.stringify({ pid: process.pid, monitor: m && m.url }));
      });
    }, { loopFactory });
  `;
}

async function withChild<T>(script: string, nodeArgs: string[], body: (c: Child) => Promise<T>): Promise<T> {
  const c = await startChild(script, nodeArgs);
  try {
    return await body(c);
  } finally {
    c.proc.kill('SIGKILL');
  }
}

/** The rows of `ps` output as arrays of cells, cut where the header's columns start. */
function rows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const h = lines.findIndex((l) => /^(loop +)?task id +task name/.test(l));
  const starts = [...lines[h]!.matchAll(/(?:^|(?<= {2}))\S/g)].map((m) => m.index!);
  return lines
    .slice(h + 2)
    .filter((l) => l.trim() !== '')
    .map((l) => starts.map((st, i) => l.slice(st, starts[i + 1]).trim()));
}

function checkPsOutput(stdout: string, loopType: string): void {
  expect(stdout).toMatch(new RegExp(`^loop 0x[0-9a-f]+ ${loopType} \\(running\\): iterations \\d+(, \\d+/s)?, ready \\d+, timers \\d+, tasks 8`, 'm'));
  const table = rows(stdout);
  const byName = (n: string) => table.filter((r) => r[1] === n);
  for (const w of ['worker-a', 'worker-b']) {
    const [row] = byName(w);
    expect(row!.slice(2)).toEqual([row![2], row![3], 'worker', 'gather of 2 (0 done)', 'taskGroup', row![7], row![8]]);
    expect(row![2]).toBe('waiting');
    expect(row![3]).toMatch(/^\d+\.\d s$/);
    expect(row![7]).toMatch(/^Task-\d+$/);
  }
  const stacks = table.map((r) => r[4]);
  expect(stacks.filter((s) => s === 'leaf').length).toBe(2);
  expect(stacks.filter((s) => s === 'genLeaf').length).toBe(2);
  const mainRow = table.find((r) => r[4] === 'main')!;
  expect(mainRow[8]).toBe('0x0');
  expect(table.length).toBe(8);
}

eachLoop((lc) => {
  const loopType = lc.name === 'pure' ? 'PureEventLoop' : 'NativeEventLoop';

  describe('aloop ps / pstree', () => {
    test('ps <pid>: through the inspector it opens (SIGUSR1) and closes again', async () => {
      checkBuilt();
      await withChild(treeScript(lc.name, false), ['--inspect-port=0'], async (c) => {
        expect(listeningPorts(c.pid)).toEqual([]);
        const r = await aloop(['ps', String(c.pid)]);
        expect(r.stderr).toContain(`opened the inspector of ${c.pid}`);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^pid ${c.pid} \\(node v[\\d.]+\\): 1 loop\\(s\\), 8 task\\(s\\)\\n`));
        checkPsOutput(r.stdout, loopType);
        // The inspector it opened is closed again.
        const deadline = Date.now() + 5000;
        while ((listeningPorts(c.pid) ?? []).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(listeningPorts(c.pid)).toEqual([]);
      });
    }, SLOW);

    test('pstree <pid>: each task under the task awaiting it, the awaiting frames between', async () => {
      checkBuilt();
      await withChild(treeScript(lc.name, false), ['--inspect-port=0'], async (c) => {
        const r = await aloop(['pstree', String(c.pid)]);
        expect(r.code).toBe(0);
        const lines = r.stdout.trimEnd().split('\n');
        expect(lines.slice(0, 4)).toEqual(['└── (T) Task-1', '    └──  main', '        └── (T) Task-2', '            └──  taskGroup']);
        expect(lines.filter((l) => /^ {16}[├└]── \(T\) worker-[ab]$/.test(l)).length).toBe(2);
        expect(lines.filter((l) => /^ {16}[│ ] {3}└── {2}worker$/.test(l)).length).toBe(2);
        expect(lines.filter((l) => /^ {16}[│ ] {7}[├└]── \(T\) Task-\d+$/.test(l)).length).toBe(4);
        expect(lines.filter((l) => /[├└]── {2}leaf$/.test(l)).length).toBe(2);
        expect(lines.filter((l) => /[├└]── {2}genLeaf$/.test(l)).length).toBe(2);
        expect(lines.length).toBe(4 + 2 * 6);
      });
    }, SLOW);

    test('ps --json: the snapshot itself', async () => {
      checkBuilt();
      await withChild(treeScript(lc.name, false), ['--inspect-port=0'], async (c) => {
        const r = await aloop(['ps', String(c.pid), '--json']);
        expect(r.code).toBe(0);
        const snap = JSON.parse(r.stdout) as ProcessSnapshot;
        expect(snap.pid).toBe(c.pid);
        expect(snap.loops.map((l) => l.type)).toEqual([loopType]);
        expect(snap.tasks.length).toBe(8);
        expect(snap.monitors).toEqual([]);
        const a = snap.tasks.find((t) => t.name === 'worker-a')!;
        const group = snap.tasks.find((t) => t.id === a.awaitedBy[0])!;
        expect(group.coro).toBe('taskGroup');
      });
    }, SLOW);

    test('ps <monitor URL>: over HTTP, no signal', async () => {
      checkBuilt();
      await withChild(treeScript(lc.name, true), [], async (c) => {
        const r = await aloop(['ps', c.monitor!]);
        expect(r.code).toBe(0);
        expect(r.stdout.split('\n')[0]).toBe(`monitor ${c.monitor}: 8 task(s)`);
        checkPsOutput(r.stdout, loopType);
        const t = await aloop(['pstree', c.monitor!]);
        expect(t.stdout.split('\n')[0]).toBe('└── (T) Task-1');
      });
    }, SLOW);

    test('ps <pid> of a process whose inspector cannot open: its monitor answers', async () => {
      checkBuilt();
      // The child's inspector port is taken, so SIGUSR1 cannot open it.
      const blocker = net.createServer().listen(0, '127.0.0.1');
      await new Promise((r) => blocker.once('listening', r));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        await withChild(treeScript(lc.name, true), [`--inspect-port=${port}`], async (c) => {
          const r = await aloop(['ps', String(c.pid)]);
          expect(r.code).toBe(0);
          expect(r.stdout.split('\n')[0]).toBe(`monitor ${c.monitor}: 8 task(s)`);
          checkPsOutput(r.stdout, loopType);
        });
      } finally {
        blocker.close();
      }
    }, SLOW);

    test('a blocked loop: the task stuck in a synchronous stretch is running, at its line', async () => {
      checkBuilt();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'aloop-ps-'));
      const file = path.join(dir, 'stuck.mjs');
      writeFileSync(
        file,
        [
          `import * as aio from ${JSON.stringify(distIndex)};`,
          `import { NativeEventLoop } from ${JSON.stringify(distNative)};`,
          `const loopFactory = ${lc.name === 'native'} ? () => new NativeEventLoop() : undefined;`,
          'await aio.run(async function main() {',
          '  await aio.createTask(function* spinner() {',
          '    yield* aio.sleep(0);',
          '    console.log(JSON.stringify({ pid: process.pid, monitor: null }));',
          '    for (;;);', // line 8
          '  }, { name: "stuck" });',
          '}, { loopFactory });',
        ].join('\n'),
      );
      try {
        await withChild(`await import(${JSON.stringify(pathToFileURL(file).href)});`, ['--inspect-port=0'], async (c) => {
          const r = await aloop(['ps', String(c.pid), '--json']);
          expect(r.code).toBe(0);
          const snap = JSON.parse(r.stdout) as ProcessSnapshot;
          const stuck = snap.tasks.find((t) => t.name === 'stuck')!;
          expect(stuck.state).toBe('running');
          expect(stuck.callStack[0]).toMatchObject({ name: 'spinner', kind: 'generator', fileName: file, lineNumber: 8 });
          const t = await aloop(['pstree', String(c.pid)]);
          expect(t.stdout).toContain(`        └── (T) stuck\n            └──  spinner ${file}:8`);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, SLOW);

    test('what it cannot do: a process without aloop, no such process, bad arguments', async () => {
      checkBuilt();
      await withChild(`console.log(JSON.stringify({ pid: process.pid, monitor: null })); setInterval(() => {}, 1000);`, ['--inspect-port=0'], async (c) => {
        const r = await aloop(['ps', String(c.pid)]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`process ${c.pid} has not loaded aloop`);
      });
      const gone = spawn(process.execPath, ['-e', '']);
      await new Promise((r) => gone.on('exit', r));
      const r = await aloop(['ps', String(gone.pid)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no process ${gone.pid}`);
      expect((await aloop(['ps'])).code).toBe(2);
      expect((await aloop(['ps', 'abc'])).stderr).toContain('must be a process id or a monitor URL');
      expect((await aloop(['top', '1'])).code).toBe(2);
      expect((await aloop(['pstree', '1', '--json'])).code).toBe(2);
      const help = await aloop(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('usage: aloop ps <pid | monitor URL>');
    }, SLOW);
  });
});

describe('ps / pstree rendering', () => {
  const task = (id: number, name: string, awaitedBy: number[], coro = name): TaskInfo => ({
    id,
    name,
    loop: 1,
    state: 'waiting',
    cancelling: 0,
    age: 1,
    form: 'async',
    coro,
    awaits: [],
    awaitedBy,
    callStack: [{ name: coro, kind: 'async', fileName: null, lineNumber: null, columnNumber: null }],
    createdAt: null,
  });
  const snap = (tasks: TaskInfo[]): ProcessSnapshot => ({ pid: 1, node: 'v20', argv: [], monitors: [], loops: [], tasks });

  test('a task awaited by two tasks appears under both', () => {
    const out = psTree(snap([task(1, 'a', []), task(2, 'b', []), task(3, 'shared', [1, 2], 'work')]));
    expect(out).toBe(['└── (T) a', '    └──  a', '        └── (T) shared', '            └──  work', '└── (T) b', '    └──  b', '        └── (T) shared', '            └──  work'].join('\n'));
    expect(rows(psTable(snap([task(1, 'a', []), task(3, 'shared', [1], 'work')])))).toEqual([
      ['0x1', 'a', 'waiting', '1.0 s', 'a', '', '', '', '0x0'],
      ['0x3', 'shared', 'waiting', '1.0 s', 'work', '', 'a', 'a', '0x1'],
    ]);
  });

  test('a cycle of waits cannot be drawn: CycleError names it', () => {
    expect(() => psTree(snap([task(1, 'x', [2]), task(2, 'y', [1])]))).toThrow(CycleError);
    expect(() => psTree(snap([task(1, 'x', [2]), task(2, 'y', [1])]))).toThrow(/cycle: x → y → x|cycle: y → x → y/);
  });
});
