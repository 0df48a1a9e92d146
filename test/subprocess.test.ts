/**
 * Child processes on every loop (SPEC "Subprocess"): the pure loop's node:child_process and the
 * native loop's uv_spawn (native/process.cc) must behave alike. Outputs around the pipe buffer
 * sizes and 10 MB arrive whole; lines arrive as the child prints them; communicate() with and
 * without input; stderr=STDOUT, DEVNULL, cwd, env; no zombie and no fd left after a cancelled
 * communicate() or wait(); spawn errors as Node's; signals; `await using`; the low-level
 * protocol's call order; bad arguments; virtual time.
 */
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const NODE = process.execPath;

/** A node child writing `n` bytes of a known pattern (byte i = i % 251) to stdout. */
const WRITE_PATTERN = 'const n=+process.argv[1];const b=Buffer.alloc(n);for(let i=0;i<n;i++)b[i]=i%251;process.stdout.write(b)';

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** True once `pid` is gone: no process, not even a zombie waiting to be reaped. */
function reaped(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return false;
}

/** Waits (a bounded while) until `cond` holds: pipes and reaping finish on later turns of Node's loop. */
async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 5000; !cond(); ) {
    if (Date.now() > end) throw new Error(`still not ${what}`);
    await aio.sleep(0.01);
  }
}

/** A protocol recording every call. */
class Recorder implements aio.SubprocessProtocol {
  log: string[] = [];
  data = new Map<number, Buffer[]>();
  transport!: aio.SubprocessTransport;
  done = aio.getRunningLoop().createFuture<void>();
  connectionMade(t: aio.SubprocessTransport) {
    this.transport = t;
    this.log.push('made');
  }
  pipeDataReceived(fd: number, data: Buffer) {
    if (this.log.at(-1) !== `data${fd}`) this.log.push(`data${fd}`);
    const list = this.data.get(fd) ?? [];
    list.push(data);
    this.data.set(fd, list);
  }
  pipeConnectionLost(fd: number, exc: Error | null) {
    this.log.push(`pipeLost${fd}${exc ? ':' + exc.message : ''}`);
  }
  processExited() {
    this.log.push('exited');
  }
  connectionLost(exc: Error | null) {
    this.log.push(`lost${exc ? ':' + exc.message : ''}`);
    this.done.setResult(undefined);
  }
}

eachLoop((lc) => {
  for (const n of [65_535, 65_536, 65_537, 10 * 1024 * 1024]) {
    test(`an output of ${n} bytes arrives whole (communicate)`, () =>
      lc.run(async () => {
        const proc = await aio.createSubprocessExec(NODE, '-e', WRITE_PATTERN, String(n), { stdout: aio.PIPE });
        const [out, err] = await proc.communicate();
        expect(err).toBeNull();
        expect(out!.length).toBe(n);
        expect(out!.equals(pattern(n))).toBe(true);
        expect(proc.returncode).toBe(0);
      }));
  }

  test('10 MB read slowly through a small reader limit arrives whole (the pipe pauses, nothing is lost)', () =>
    lc.run(async () => {
      const n = 10 * 1024 * 1024;
      const proc = await aio.createSubprocessExec(NODE, '-e', WRITE_PATTERN, String(n), { stdout: aio.PIPE, limit: 4096 });
      const parts: Buffer[] = [];
      let got = 0;
      for (let i = 0; ; i++) {
        const chunk = await proc.stdout!.read(100_000);
        if (chunk.length === 0) break;
        parts.push(chunk);
        got += chunk.length;
        if (i % 20 === 0) await aio.sleep(0.001);
      }
      expect(got).toBe(n);
      expect(Buffer.concat(parts).equals(pattern(n))).toBe(true);
      expect(await proc.wait()).toBe(0);
    }));

  test('lines arrive as the child prints them (one every 0.1 s), well before it exits', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const script = "let i=0;const t=setInterval(()=>{console.log('line '+i);if(++i===5)clearInterval(t)},100)";
      const t0 = loop.time();
      const proc = await aio.createSubprocessExec(NODE, '-e', script, { stdout: aio.PIPE });
      const seen: [string, number, number | null][] = [];
      for (;;) {
        const line = await proc.stdout!.readline();
        if (line.length === 0) break;
        seen.push([line.toString().trim(), loop.time() - t0, proc.returncode]);
      }
      expect(seen.map((s) => s[0])).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
      // The first line came while the child still ran, and the lines came apart, not all at the end.
      expect(seen[0]![2]).toBeNull();
      expect(seen[4]![1] - seen[0]![1]).toBeGreaterThan(0.25);
      expect(await proc.wait()).toBe(0);
    }));

  test("`ls -l` captured with communicate()", () =>
    lc.run(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'aloop-ls-'));
      try {
        writeFileSync(path.join(dir, 'alpha.txt'), 'a');
        writeFileSync(path.join(dir, 'beta.txt'), 'bb');
        const proc = await aio.createSubprocessExec('ls', '-l', dir, { stdout: aio.PIPE, stderr: aio.PIPE });
        const [out, err] = await proc.communicate();
        expect(proc.returncode).toBe(0);
        expect(err!.length).toBe(0);
        const text = out!.toString();
        expect(text).toMatch(/^total /);
        expect(text).toMatch(/alpha\.txt\n/);
        expect(text).toMatch(/beta\.txt\n/);
      } finally {
        rmSync(dir, { recursive: true });
      }
    }));

  test('communicate(input) round trip through cat (1 MB)', () =>
    lc.run(async () => {
      const input = pattern(1024 * 1024);
      const proc = await aio.createSubprocessExec('cat', { stdin: aio.PIPE, stdout: aio.PIPE });
      const [out, err] = await proc.communicate(input);
      expect(err).toBeNull();
      expect(out!.equals(input)).toBe(true);
      expect(proc.returncode).toBe(0);
    }));

  test('communicate(input) to a child that stops reading early is not an error (EPIPE ignored)', () =>
    lc.run(async () => {
      const proc = await aio.createSubprocessExec('head', '-c', '10', { stdin: aio.PIPE, stdout: aio.PIPE });
      const [out] = await proc.communicate(Buffer.alloc(4 * 1024 * 1024, 120));
      expect(out!.toString()).toBe('x'.repeat(10));
      expect(proc.returncode).toBe(0);
    }));

  test('stdin written with the StreamWriter, drained and closed; the child sees EOF', () =>
    lc.run(async () => {
      const proc = await aio.createSubprocessExec('wc', '-c', { stdin: aio.PIPE, stdout: aio.PIPE });
      for (let i = 0; i < 100; i++) proc.stdin!.write(Buffer.alloc(10_000, 1));
      await proc.stdin!.drain();
      proc.stdin!.close();
      await proc.stdin!.waitClosed();
      expect((await proc.stdout!.read()).toString().trim()).toBe('1000000');
      expect(await proc.wait()).toBe(0);
    }));

  test('stderr=STDOUT merges stderr into the stdout pipe, in order', () =>
    lc.run(async () => {
      const proc = await aio.createSubprocessShell('echo a; echo b >&2; echo c', { stdout: aio.PIPE, stderr: aio.STDOUT });
      expect(proc.stderr).toBeNull();
      const [out, err] = await proc.communicate();
      expect(out!.toString()).toBe('a\nb\nc\n');
      expect(err).toBeNull();
    }));

  test('DEVNULL: no pipe, the child reads EOF and its output is dropped', () =>
    lc.run(async () => {
      const proc = await aio.createSubprocessExec('cat', { stdin: aio.DEVNULL, stdout: aio.PIPE, stderr: aio.DEVNULL });
      expect(proc.stdin).toBeNull();
      expect(proc.stderr).toBeNull();
      const [out, err] = await proc.communicate();
      expect(out!.length).toBe(0);
      expect(err).toBeNull();
      const quiet = await aio.createSubprocessShell('echo out; echo err >&2', { stdout: aio.DEVNULL, stderr: aio.DEVNULL });
      expect(await quiet.communicate()).toEqual([null, null]);
      expect(quiet.returncode).toBe(0);
    }));

  test('an inherited fd: the child writes to a file descriptor of this process', () =>
    lc.run(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'aloop-fd-'));
      const { openSync, closeSync } = await import('node:fs');
      const file = path.join(dir, 'out.txt');
      const fd = openSync(file, 'w');
      try {
        const proc = await aio.createSubprocessShell('echo to-file', { stdout: fd });
        expect(proc.stdout).toBeNull();
        expect(await proc.wait()).toBe(0);
        expect(readFileSync(file, 'utf8')).toBe('to-file\n');
      } finally {
        closeSync(fd);
        rmSync(dir, { recursive: true });
      }
    }));

  test('cwd and env', () =>
    lc.run(async () => {
      const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'aloop-cwd-')));
      try {
        const pwd = await aio.createSubprocessExec('pwd', { stdout: aio.PIPE, cwd: dir });
        expect((await pwd.communicate())[0]!.toString().trim()).toBe(dir);
        const env = await aio.createSubprocessExec(NODE, '-e', 'process.stdout.write(JSON.stringify(process.env))', {
          stdout: aio.PIPE,
          env: { FOO: 'bar baz', EMPTY: '' },
        });
        const seen = JSON.parse((await env.communicate())[0]!.toString()) as Record<string, string>;
        expect(seen.FOO).toBe('bar baz');
        expect(seen.EMPTY).toBe('');
        // The whole environment: nothing of this process's leaks in.
        expect(seen.PATH).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true });
      }
    }));

  test('a cancelled communicate() or wait() leaves no zombie and no open fd', () =>
    lc.run(async () => {
      // Warm up whatever the loop opens once (its I/O table, Node's signal pipe).
      const warm = await aio.createSubprocessExec('true', { stdout: aio.PIPE });
      await warm.communicate();
      await eventually(() => reaped(warm.pid), 'reaped');
      const before = openFds();
      const proc = await aio.createSubprocessExec('sleep', '30', { stdin: aio.PIPE, stdout: aio.PIPE, stderr: aio.PIPE });
      await expect(aio.waitFor(proc.communicate(), 0.2)).rejects.toBeInstanceOf(aio.TimeoutError);
      await expect(aio.waitFor(proc.wait(), 0.1)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(proc.returncode).toBeNull();
      expect(reaped(proc.pid)).toBe(false);
      proc.kill();
      expect(await proc.wait()).toBe(-9);
      await eventually(() => reaped(proc.pid), 'reaped');
      await eventually(() => openFds() <= before, `back to ${before} fds (${openFds()} open)`);
    }));

  test('a cancelled task awaiting communicate() leaves nothing once the child is killed', () =>
    lc.run(async () => {
      const warm = await aio.createSubprocessExec('true');
      await warm.wait();
      const before = openFds();
      const proc = await aio.createSubprocessExec(NODE, '-e', 'setInterval(()=>console.log("tick"),20)', { stdout: aio.PIPE, stdin: aio.PIPE });
      const task = aio.createTask(proc.communicate());
      await aio.sleep(0.1);
      task.cancel();
      await expect(task).rejects.toBeInstanceOf(aio.CancelledError);
      proc.terminate();
      expect(await proc.wait()).toBe(-15);
      await eventually(() => reaped(proc.pid), 'reaped');
      await eventually(() => openFds() <= before, `back to ${before} fds (${openFds()} open)`);
    }));

  test('a missing program rejects with ENOENT (code, errno, syscall, path), as Node reports it', () =>
    lc.run(async () => {
      const err = (await aio.createSubprocessExec('aloop-no-such-program', '-x').then(
        () => null,
        (e: unknown) => e,
      )) as NodeJS.ErrnoException & { spawnargs?: string[] };
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('ENOENT');
      expect(err.errno).toBe(-2);
      expect(err.syscall).toBe('spawn aloop-no-such-program');
      expect(err.path).toBe('aloop-no-such-program');
      expect(err.spawnargs).toEqual(['-x']);
      expect(err.message).toBe('spawn aloop-no-such-program ENOENT');
    }));

  test('a file that is not executable rejects with EACCES; a missing cwd with ENOENT', () =>
    lc.run(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'aloop-x-'));
      try {
        const file = path.join(dir, 'script.sh');
        writeFileSync(file, '#!/bin/sh\necho hi\n');
        chmodSync(file, 0o644);
        await expect(aio.createSubprocessExec(file)).rejects.toMatchObject({ code: 'EACCES', syscall: `spawn ${file}`, path: file });
        await expect(aio.createSubprocessExec('true', { cwd: path.join(dir, 'nowhere') })).rejects.toMatchObject({ code: 'ENOENT' });
      } finally {
        rmSync(dir, { recursive: true });
      }
    }));

  test('a child that ignores SIGTERM can still be killed (returncode -9); terminate() gives -15', () =>
    lc.run(async () => {
      const stubborn = await aio.createSubprocessExec(NODE, '-e', "process.on('SIGTERM',()=>{});console.log('ready');setInterval(()=>{},1000)", {
        stdout: aio.PIPE,
      });
      expect((await stubborn.stdout!.readline()).toString()).toBe('ready\n');
      stubborn.terminate();
      await expect(aio.waitFor(stubborn.wait(), 0.3)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(stubborn.returncode).toBeNull();
      stubborn.kill();
      expect(await stubborn.wait()).toBe(-9);
      expect(stubborn.returncode).toBe(-9);

      const sleeper = await aio.createSubprocessExec('sleep', '30');
      sleeper.terminate();
      expect(await sleeper.wait()).toBe(-15);
      const usr = await aio.createSubprocessExec('sleep', '30');
      usr.sendSignal(10); // SIGUSR1 by number (Linux): its default action ends the process
      expect(await usr.wait()).toBe(-10);
    }));

  test("children of node:child_process and of the loop at once: each gets its own exit (one SIGCHLD watch)", () =>
    lc.run(async () => {
      const { spawn } = await import('node:child_process');
      const loop = aio.getRunningLoop();
      const nodeExits = Array.from({ length: 5 }, (_, i) => {
        const f = loop.createFuture<number | null>();
        spawn('/bin/sh', ['-c', `sleep 0.0${i}; exit ${10 + i}`], { stdio: 'ignore' }).once('exit', (code) => f.setResult(code));
        return f;
      });
      const ours = await Promise.all(Array.from({ length: 5 }, (_, i) => aio.createSubprocessShell(`sleep 0.0${4 - i}; exit ${20 + i}`)));
      expect(await aio.gather(...ours.map((p) => p.wait()))).toEqual([20, 21, 22, 23, 24]);
      expect(await aio.gather(...nodeExits)).toEqual([10, 11, 12, 13, 14]);
    }));

  test('exit statuses come through; signals to a finished process throw ESRCH', () =>
    lc.run(async () => {
      const proc = await aio.createSubprocessShell('exit 7');
      expect(await proc.wait()).toBe(7);
      expect(proc.returncode).toBe(7);
      // Once everything is closed the transport is finished: asyncio's ProcessLookupError.
      await aio.sleep(0.05);
      expect(() => proc.kill()).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'kill' }));
      expect(() => proc.sendSignal('SIGNOPE')).toThrow(RangeError);
      expect(() => proc.sendSignal(1.5)).toThrow(RangeError);
      expect(() => proc.sendSignal({} as never)).toThrow(TypeError);
    }));

  test('`await using` kills the child and reaps it', () =>
    lc.run(async () => {
      let pid = 0;
      let proc: aio.Process;
      {
        await using p = await aio.createSubprocessExec('sleep', '30', { stdout: aio.PIPE });
        proc = p;
        pid = p.pid;
        expect(p.returncode).toBeNull();
      }
      expect(proc.returncode).toBe(-9);
      await eventually(() => reaped(pid), 'reaped');
    }));

  test('low level: the protocol call order, pipe transports and the transport API', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [t, p] = await loop.subprocessExec(() => new Recorder(), '/bin/sh', ['-c', 'read x; echo "out $x"; echo err >&2'], {
        stdin: aio.PIPE,
        stdout: aio.PIPE,
        stderr: aio.PIPE,
      });
      expect(p.log).toEqual(['made']);
      expect(p.transport).toBe(t);
      expect(t.getPid()).toBeGreaterThan(0);
      expect(t.getReturncode()).toBeNull();
      expect(t.isClosing()).toBe(false);
      expect(t.getExtraInfo('nothing', 'dflt')).toBe('dflt');
      expect(t.getProtocol()).toBe(p);
      const stdin = t.getPipeTransport(0)!;
      expect(typeof stdin.write).toBe('function');
      const stdout = t.getPipeTransport(1)!;
      expect(stdout.isReading()).toBe(true);
      stdout.pauseReading();
      expect(stdout.isReading()).toBe(false);
      stdout.resumeReading();
      expect(t.getPipeTransport(3)).toBeNull();
      stdin.write(Buffer.from('hello\n'));
      await p.done;
      expect(Buffer.concat(p.data.get(1)!).toString()).toBe('out hello\n');
      expect(Buffer.concat(p.data.get(2)!).toString()).toBe('err\n');
      expect(t.getReturncode()).toBe(0);
      // connectionMade first, connectionLost last; each pipe lost once, after its data.
      const log = p.log;
      expect(log[0]).toBe('made');
      expect(log.at(-1)).toBe('lost');
      expect(log.filter((l) => l === 'exited')).toHaveLength(1);
      for (const fd of [0, 1, 2]) expect(log.filter((l) => l === `pipeLost${fd}`)).toHaveLength(1);
      expect(log.indexOf('data1')).toBeLessThan(log.indexOf('pipeLost1'));
      expect(log.indexOf('data2')).toBeLessThan(log.indexOf('pipeLost2'));
      expect(new Set(log)).toEqual(new Set(['made', 'data1', 'data2', 'pipeLost0', 'pipeLost1', 'pipeLost2', 'exited', 'lost']));
      t.close();
      expect(t.isClosing()).toBe(true);
    }));

  test('low level: close() while the child runs kills it and reaps it; connectionLost follows', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [t, p] = await loop.subprocessShell(() => new Recorder(), 'sleep 30', { stdout: aio.PIPE });
      const pid = t.getPid();
      t.close();
      await p.done;
      expect(t.getReturncode()).toBe(-9);
      expect(p.log).toContain('exited');
      expect(p.log).toContain('pipeLost1');
      expect(p.log.at(-1)).toBe('lost');
      await eventually(() => reaped(pid), 'reaped');
    }));

  test('closing the loop under a running child closes its pipes and kills nothing', async () => {
    const loop = lc.newLoop();
    let pid = 0;
    try {
      pid = await loop.runUntilComplete(async () => {
        const [t] = await loop.subprocessExec(() => new Recorder(), 'sleep', ['30'], { stdin: aio.PIPE, stdout: aio.PIPE });
        return t.getPid();
      });
    } finally {
      loop.close();
    }
    expect(() => loop.subprocessExec(() => ({}), 'true')).toThrow(/Event loop is closed/);
    // Still running: the loop closing is no kill (the native loop's handles are closed regardless).
    expect(reaped(pid)).toBe(false);
    // When it ends it is still reaped (as asyncio's child watcher does): no zombie left behind.
    process.kill(pid, 'SIGKILL');
    for (const end = Date.now() + 5000; !reaped(pid); ) {
      if (Date.now() > end) throw new Error('a child still unreaped 5 s after its loop closed and it was killed');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  test('bad arguments: TypeError for wrong types, RangeError for bad values, before anything runs', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = () => new Recorder();
      expect(() => loop.subprocessExec(null as never, 'true')).toThrow(TypeError);
      expect(() => loop.subprocessExec(f, 42 as never)).toThrow(/program must be a string/);
      expect(() => loop.subprocessExec(f, '')).toThrow(RangeError);
      expect(() => loop.subprocessExec(f, 'tr\0ue')).toThrow(TypeError);
      expect(() => loop.subprocessExec(f, 'true', 'x' as never)).toThrow(/args must be an array/);
      expect(() => loop.subprocessExec(f, 'true', [1 as never])).toThrow(/args\[0\] must be a string/);
      expect(() => loop.subprocessExec(f, 'true', ['a\0b'])).toThrow(TypeError);
      expect(() => loop.subprocessExec(f, 'true', [], { cwd: 5 as never })).toThrow(/cwd must be a string/);
      expect(() => loop.subprocessExec(f, 'true', [], { env: 'x' as never })).toThrow(/env must be an object/);
      expect(() => loop.subprocessExec(f, 'true', [], { env: { A: 1 as never } })).toThrow(/env\.A must be a string/);
      expect(() => loop.subprocessExec(f, 'true', [], { env: { 'A=B': 'x' } })).toThrow(RangeError);
      expect(() => loop.subprocessExec(f, 'true', [], { stdin: aio.STDOUT })).toThrow(RangeError);
      expect(() => loop.subprocessExec(f, 'true', [], { stdout: -7 })).toThrow(RangeError);
      expect(() => loop.subprocessExec(f, 'true', [], { stdout: 1.5 })).toThrow(RangeError);
      expect(() => loop.subprocessExec(f, 'true', [], { stdout: 'pipe' as never })).toThrow(RangeError);
      expect(() => loop.subprocessExec(f, 'true', [], { stdout: {} as never })).toThrow(TypeError);
      expect(() => loop.subprocessExec(f, 'true', [], { shell: true } as never)).toThrow(/unknown option 'shell'/);
      expect(() => loop.subprocessExec(f, 'true', [], 'x' as never)).toThrow(TypeError);
      expect(() => loop.subprocessShell(f, 7 as never)).toThrow(/cmd must be a string/);
      expect(() => aio.createSubprocessExec('true', { limit: 0 })).toThrow(RangeError);
      expect(() => aio.createSubprocessExec('true', { limit: 'x' as never })).toThrow(TypeError);
      expect(() => aio.createSubprocessShell('true', { stderr: 'x' as never })).toThrow(RangeError);
      expect(() => aio.createSubprocessExec('true', 5 as never)).toThrow(TypeError);
    }));

  test('a child that sleeps holds the virtual clock (no jump past it)', () =>
    lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const t0 = loop.time();
      const proc = await aio.createSubprocessExec(NODE, '-e', 'setTimeout(()=>console.log("done"),300)', { stdout: aio.PIPE });
      // The 5 s timeout must not fire just because nothing is ready while the child sleeps.
      const [out] = await aio.waitFor(proc.communicate(), 5);
      expect(out!.toString()).toBe('done\n');
      expect(loop.time() - t0).toBeLessThan(5);
      // With no child left the clock jumps again.
      await aio.sleep(100);
      expect(loop.time() - t0).toBeGreaterThanOrEqual(100);
    }));
});
