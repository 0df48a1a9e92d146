/**
 * fd watching (SPEC "file descriptors"): addReader / removeReader / addWriter / removeWriter. The
 * native loop polls fds with uv_poll_t (native/poll.cc, loops/native/poll.ts); the pure loop runs
 * on node:net and throws NotImplementedError naming the native loop, as asyncio's Proactor loop
 * does. One body for both loops. The fds are a FIFO's two ends (mkfifo), opened non-blocking.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

/** A FIFO's read and write ends (non-blocking) and a cleanup. */
function fifo(): { r: number; w: number; dir: string; close(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aloop-fifo-'));
  const p = path.join(dir, 'f');
  execFileSync('mkfifo', [p]);
  const r = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const w = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  return {
    r,
    w,
    dir,
    close() {
      fs.closeSync(r);
      fs.closeSync(w);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const NEEDS_NATIVE = /needs the native loop \(aloop\/native/;

eachLoop((lc) => {
  if (lc.name === 'pure') {
    test('the pure loop throws NotImplementedError naming the native loop', () =>
      lc.run(async () => {
        const loop = aio.getRunningLoop();
        for (const call of [
          () => loop.addReader(0, () => {}),
          () => loop.removeReader(0),
          () => loop.addWriter(1, () => {}),
          () => loop.removeWriter(1),
        ]) {
          expect(call).toThrow(aio.NotImplementedError);
          expect(call).toThrow(NEEDS_NATIVE);
        }
      }));
    return;
  }

  test('a readable fd runs the reader with its args, as a loop callback; removeReader stops it', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = fifo();
      try {
        const got = loop.createFuture<unknown[]>();
        let calls = 0;
        let inLoop = false;
        loop.addReader(
          f.r,
          (...args: unknown[]) => {
            calls++;
            inLoop = aio.getRunningLoop() === loop;
            if (!got.done()) got.setResult(args);
          },
          'a',
          2,
        );
        await aio.sleep(0.02);
        expect(calls).toBe(0);
        fs.writeSync(f.w, 'x');
        expect(await got).toEqual(['a', 2]);
        expect(inLoop).toBe(true);
        expect(loop.removeReader(f.r)).toBe(true);
        expect(loop.removeReader(f.r)).toBe(false);
        const before = calls;
        await aio.sleep(0.02);
        expect(calls).toBe(before);
      } finally {
        f.close();
      }
    }));

  test('a writable fd runs the writer; adding again replaces the callback; both interests on one fd', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = fifo();
      try {
        const first = loop.createFuture<string>();
        const second = loop.createFuture<string>();
        loop.addWriter(f.w, () => void (first.done() || first.setResult('first')));
        loop.addWriter(f.w, (v: string) => void (second.done() || second.setResult(v)), 'second');
        expect(await second).toBe('second');
        expect(first.done()).toBe(false);
        expect(loop.removeWriter(f.w)).toBe(true);
        expect(loop.removeWriter(f.w)).toBe(false);
        // Reader and writer of one FIFO end pair: each fd its own watch.
        const read = loop.createFuture<Buffer>();
        loop.addReader(f.r, () => {
          const b = Buffer.alloc(10);
          const n = fs.readSync(f.r, b);
          loop.removeReader(f.r);
          read.setResult(b.subarray(0, n));
        });
        loop.addWriter(f.w, () => {
          fs.writeSync(f.w, 'ping');
          loop.removeWriter(f.w);
        });
        expect((await read).toString()).toBe('ping');
      } finally {
        f.close();
      }
    }));

  test('a socket fd: reader and writer interests share one poll handle', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const s = aio.socket(aio.AF_INET, aio.SOCK_DGRAM);
      s.bind(['127.0.0.1', 0]);
      const fd = s.fileno();
      const events: string[] = [];
      const readable = loop.createFuture<void>();
      loop.addWriter(fd, () => {
        events.push('w');
        loop.removeWriter(fd);
      });
      loop.addReader(fd, () => {
        events.push('r');
        loop.removeReader(fd);
        readable.setResult(undefined);
      });
      await aio.sleep(0.01);
      expect(events).toEqual(['w']);
      const other = aio.socket(aio.AF_INET, aio.SOCK_DGRAM);
      await loop.sockSendto(other, 'hi', s.getsockname());
      await readable;
      expect(events).toEqual(['w', 'r']);
      other.close();
      s.close();
    }));

  test('bad fds and arguments: EBADF with code/errno/syscall, TypeError, RangeError; never NotImplementedError', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      let e: NodeJS.ErrnoException | null = null;
      try {
        loop.addReader(987654, () => {});
      } catch (x) {
        e = x as NodeJS.ErrnoException;
      }
      expect(e).toMatchObject({ code: 'EBADF', syscall: 'uv_poll_init' });
      expect(typeof e!.errno).toBe('number');
      expect(() => loop.addReader(-1, () => {})).toThrow(RangeError);
      expect(() => loop.addReader(1.5, () => {})).toThrow(RangeError);
      expect(() => loop.addReader('0' as never, () => {})).toThrow(TypeError);
      expect(() => loop.addWriter(1, 'cb' as never)).toThrow(/callback must be a function/);
      expect(loop.removeReader(987654)).toBe(false);
      expect(loop.removeWriter(987654)).toBe(false);
      for (const call of [() => loop.addReader(987654, () => {}), () => loop.addReader(-1, () => {})]) {
        try {
          call();
        } catch (x) {
          expect(String((x as Error).message)).not.toMatch(NEEDS_NATIVE);
          expect(x).not.toBeInstanceOf(aio.NotImplementedError);
        }
      }
    }));

  test('closing an fd while a reader watches it (even in the same tick) is harmless: the watch ends with removeReader', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = fifo();
      let closed = false;
      try {
        loop.addReader(f.r, () => {});
        loop.addWriter(f.w, () => {});
        fs.closeSync(f.r);
        fs.closeSync(f.w);
        closed = true;
        await aio.sleep(0.02);
        expect(loop.removeReader(f.r)).toBe(true);
        expect(loop.removeWriter(f.w)).toBe(true);
      } finally {
        if (!closed) f.close();
        else fs.rmSync(f.dir, { recursive: true, force: true });
      }
    }));

  test('closing the loop closes the watches it still has', async () => {
    const f = fifo();
    try {
      await lc.run(async () => {
        const loop = aio.getRunningLoop();
        loop.addReader(f.r, () => {});
        loop.addWriter(f.w, () => {});
      });
    } finally {
      f.close();
    }
  });
});

test('the native loop never throws the "needs the native loop" NotImplementedError', async () => {
  const { LOOPS } = await import('./loops.js');
  const native = LOOPS.find((l) => l.name === 'native');
  if (native === undefined) return;
  await native.run(async () => {
    const loop = aio.getRunningLoop();
    const s = aio.socket();
    expect(() => loop.addReader(s.fileno(), () => {})).not.toThrow();
    expect(loop.removeReader(s.fileno())).toBe(true);
    s.close();
  });
});
