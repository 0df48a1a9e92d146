/**
 * The raw addon against misuse, and the native loop against `worker.terminate()`. Both run in
 * child processes: a crash must fail one test, not take the runner down.
 *
 * - Every entry point of `aloop.node` (what any user can `require`) gets wrong types, wrong
 *   `this`, out-of-range numbers, ids of the wrong handle kind, and its shared arrays transferred
 *   away: each must end in a JS exception (TypeError / RangeError) or a result, never a signal.
 * - 8 workers running native loops mid-I/O (sockets, reads paused and resumed, timers) are
 *   terminated 20 times over; the main process must survive each time, and every socket of the
 *   terminated workers must be closed (their cleanup hook closes what is left).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as native from '../src/native.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Child {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], timeout: number): Promise<Child> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

interface Case {
  name: string;
  expected: string;
  got: string;
  message: string;
}

describe.runIf(native.isAvailable())('the native binding against misuse', () => {
  test('every entry point answers wrong input with a JS exception, never a signal', async () => {
    const child = await node(['--expose-gc', path.join(root, 'test', 'raw-binding-child.mjs')], 60_000);
    expect(child.signal, child.stderr).toBeNull();
    expect(child.code, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as { results: Case[]; open: number };
    const wrong = out.results.filter((r) => !r.expected.split('|').includes(r.got));
    expect(wrong).toEqual([]);
    const byName = new Map(out.results.map((r) => [r.name, r]));
    // The cases of the report, by name: each a JS exception of the right class.
    for (const [name, expected] of [
      ['new Io(Object.create(Loop.prototype), ...)', 'TypeError'],
      ['io.connect()', 'TypeError'],
      ['io.connect({})', 'TypeError'],
      ["io.listen({}, 4, 0, 1, false)", 'TypeError'],
      ['io.write(a UDP id)', 'TypeError'],
      ['io.shutdown(a UDP id)', 'TypeError'],
      ['io.close(a UDP id)', 'TypeError'],
      ['flush: timer op id 0x7fffffff', 'RangeError'],
      ['loop calls after its arrays were transferred', 'ok'],
      ['iterations ran after the transfers', 'ok'],
    ] as const) {
      expect(byName.get(name)?.got, name).toBe(expected);
    }
    expect(out.results.length).toBeGreaterThan(150);
    // Messages name the call and the argument.
    expect(byName.get('io.connect()')!.message).toBe('Io.connect: host (argument 1) must be a string');
    expect(byName.get('io.write(a UDP id)')!.message).toMatch(/^Io\.write: id \d+ is a UDP socket, not a stream$/);
    // Everything the child opened was closed.
    expect(out.open).toBe(0);
  }, 90_000);
});

describe.runIf(native.isAvailable())('native loops in terminated workers', () => {
  const dist = pathToFileURL(path.join(root, 'dist')).href;
  // Each worker: a stream of timers and (workerData true) an echo server and 8 clients bouncing
  // 64 KiB back and forth with reads paused and resumed at random; 'ready' once it is going.
  const worker = `
    const { parentPort, workerData: sockets } = require('node:worker_threads');
    (async () => {
      const { NativeEventLoop } = await import(${JSON.stringify(`${dist}/native.js`)});
      const loop = new NativeEventLoop();
      const bounce = (t, d) => {
        t.write(d);
        if (Math.random() < 0.3) {
          t.pauseReading();
          loop.callLater(Math.random() * 0.002, () => t.isClosing() || t.resumeReading());
        }
      };
      await loop.runUntilComplete(async () => {
        const tick = () => {
          for (let k = 0; k < 50; k++) loop.callLater(Math.random() * 0.01, () => {});
          loop.callLater(0.001, tick);
        };
        tick();
        if (!sockets) {
          parentPort.postMessage('ready');
          await new Promise(() => {});
        }
        const server = await loop.createServer(() => {
          let t;
          return { connectionMade(x) { t = x; }, dataReceived(d) { bounce(t, d); } };
        }, '127.0.0.1', 0);
        const port = server.sockets[0].getsockname()[1];
        for (let i = 0; i < 8; i++) {
          let t;
          [t] = await loop.createConnection(() => ({ dataReceived(d) { bounce(t, d); } }), '127.0.0.1', port);
          t.write(Buffer.alloc(65536 + i, i));
        }
        parentPort.postMessage('ready');
        await new Promise(() => {});
      });
    })().catch((e) => parentPort.postMessage(String(e && e.stack || e)));`;
  // The parent: 20 rounds of 8 workers, each terminated at a random moment of its I/O.
  const parent = `
    import { Worker } from 'node:worker_threads';
    import { readdirSync } from 'node:fs';
    const fds = () => readdirSync('/proc/self/fd').length;
    const code = ${JSON.stringify(worker)};
    const before = fds();
    let exits = 0;
    for (let round = 0; round < 20; round++) {
      // Six with sockets, two with timers only.
      const ws = Array.from({ length: 8 }, (_, i) => new Worker(code, { eval: true, workerData: i < 6, execArgv: [] }));
      await Promise.all(ws.map((w) => new Promise((resolve, reject) => {
        w.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(m))));
        w.once('error', reject);
      })));
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      for (const c of await Promise.all(ws.map((w) => w.terminate()))) if (c === 1) exits++;
    }
    console.log(JSON.stringify({ exits, leakedFds: fds() - before }));`;

  test('8 workers x 20 terminations mid-I/O: the process survives, every socket is closed', async () => {
    const child = await node(['--input-type=module', '-e', parent], 240_000);
    expect(child.signal, child.stderr.slice(0, 4000)).toBeNull();
    expect(child.stderr).not.toContain('FATAL ERROR');
    expect(child.code, child.stderr.slice(0, 4000)).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as { exits: number; leakedFds: number };
    expect(out.exits).toBe(160);
    // The workers' sockets (9 pairs each) and loops are gone; a few fds of Node's own may linger.
    expect(out.leakedFds).toBeLessThan(8);
  }, 300_000);
});
