/**
 * TCP (and Unix socket handles) beyond test/net.test.ts, aimed at the native loop's transports (native/io.h): many
 * sockets reading at once (the shared read arena fills up and sockets wait for the next
 * iteration), bytes queued in C++, OS errors as Node errors, loop.close() with live sockets, and
 * whether sockets keep the process alive. The bodies run on every loop; the handle counts and
 * child processes are native-only (children run the built package, dist/).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as util from 'node:util';
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import * as native from '../src/native.js';
import { getBinding } from '../src/loops/native/binding.js';
import { eachLoop } from './loops.js';

const HOST = '127.0.0.1';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function port(server: aio.Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

function echoFactory(): aio.Protocol {
  let t: aio.Transport;
  return {
    connectionMade: (tr) => void (t = tr),
    dataReceived: (d) => t.write(d),
  };
}

/** Collects what arrives; `done` resolves with the bytes at connectionLost (or rejects with its error). */
class Sink implements aio.Protocol {
  chunks: Buffer[] = [];
  done = aio.getRunningLoop().createFuture<Buffer>();
  transport!: aio.Transport;
  connectionMade(t: aio.Transport) {
    this.transport = t;
  }
  dataReceived(d: Buffer) {
    this.chunks.push(d);
  }
  connectionLost(exc: Error | null) {
    if (exc) this.done.setException(exc);
    else this.done.setResult(Buffer.concat(this.chunks));
  }
}

eachLoop((lc) => {
  test('50 connections echo 1 MiB each at once, every byte in order', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(echoFactory, HOST, 0, { backlog: 256 });
      const one = async () => {
        const payload = randomBytes(1 << 20);
        const [tr, sink] = await loop.createConnection(() => new Sink(), HOST, port(server));
        // Odd-sized pieces, so that writes split and queue at different points.
        for (let off = 0; off < payload.length; off += 7919) tr.write(payload.subarray(off, off + 7919));
        let got = 0;
        while (got < payload.length) {
          await aio.sleep(0.005);
          got = sink.chunks.reduce((n, c) => n + c.length, 0);
        }
        tr.close();
        const back = await sink.done;
        return createHash('sha256').update(back).digest('hex') === createHash('sha256').update(payload).digest('hex');
      };
      const ok = await aio.gather(Array.from({ length: 50 }, () => () => one()));
      expect(ok.every(Boolean)).toBe(true);
      server.close();
      await server.waitClosed();
    });
  }, 60_000);

  test('getWriteBufferSize counts what the kernel has not taken; abort drops it', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      let serverSide!: aio.Transport;
      const made = loop.createFuture<void>();
      const server = await loop.createServer(() => ({
        connectionMade(t: aio.Transport) {
          serverSide = t;
          t.pauseReading(); // nobody reads: the client's bytes pile up
          made.setResult(undefined);
        },
      }), HOST, 0);
      const sink = new Sink();
      const [tr] = await loop.createConnection(() => sink, HOST, port(server));
      await made;
      const big = Buffer.alloc(32 << 20, 3);
      tr.setWriteBufferLimits(1 << 30);
      tr.write(big);
      expect(tr.getWriteBufferSize()).toBeGreaterThan(0);
      expect(tr.getWriteBufferSize()).toBeLessThanOrEqual(big.length);
      tr.abort();
      expect(tr.isClosing()).toBe(true);
      expect(await sink.done).toEqual(Buffer.alloc(0));
      expect(tr.getWriteBufferSize()).toBe(0);
      serverSide.close();
      server.close();
      await server.waitClosed();
    });
  });

  test('OS errors carry code, negative errno and syscall, as Node errors do', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(echoFactory, HOST, 0);
      const p = port(server);
      const err = await loop.createServer(echoFactory, HOST, p).then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.code).toBe('EADDRINUSE');
      expect(err!.errno).toBeLessThan(0);
      expect(util.getSystemErrorName(err!.errno!)).toBe('EADDRINUSE');
      expect(err!.syscall).toBe('listen');
      server.close();
      await server.waitClosed();
      const refused = await loop.createConnection(() => new Sink(), HOST, p).then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(refused!.code).toBe('ECONNREFUSED');
      expect(util.getSystemErrorName(refused!.errno!)).toBe('ECONNREFUSED');
      expect(refused!.message).toContain(`${HOST}:${p}`);
    });
  });

  test('host names resolve; IPv6 loopback works where the machine has it', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(echoFactory, 'localhost', 0, { family: 4 });
      const [tr, sink] = await loop.createConnection(() => new Sink(), 'localhost', port(server), { family: 4 });
      tr.write(Buffer.from('by name'));
      tr.writeEof();
      expect((await sink.done).toString()).toBe('by name');
      server.close();
      await server.waitClosed();

      let s6: aio.Server;
      try {
        s6 = await loop.createServer(echoFactory, '::1', 0);
      } catch (e) {
        expect(['EADDRNOTAVAIL', 'EAFNOSUPPORT']).toContain((e as NodeJS.ErrnoException).code);
        return;
      }
      const [h6, p6] = s6.sockets[0]!.getsockname() as [string, number];
      expect(h6).toBe('::1');
      const [t6, c6] = await loop.createConnection(() => new Sink(), '::1', p6);
      expect(t6.getExtraInfo('peername')).toEqual(['::1', p6]);
      t6.write(Buffer.from('six'));
      t6.writeEof();
      expect((await c6.done).toString()).toBe('six');
      s6.close();
      await s6.waitClosed();
    });
  });

  test('data sent before startServing waits for the protocol; nothing is lost', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const got = loop.createFuture<string>();
      const server = await loop.createServer(() => {
        let s = '';
        return {
          dataReceived: (d: Buffer) => void (s += d.toString()),
          eofReceived: () => void got.setResult(s),
        };
      }, HOST, 0, { startServing: false });
      const [tr] = await loop.createConnection(() => ({}), HOST, port(server));
      tr.write(Buffer.from('early '));
      await aio.sleep(0.05);
      expect(got.done()).toBe(false);
      await server.startServing();
      tr.write(Buffer.from('and late'));
      tr.writeEof();
      expect(await got).toBe('early and late');
      tr.close();
      server.close();
      await server.waitClosed();
    });
  });
});

const available = native.isAvailable();

describe.runIf(available)('native TCP handles', () => {
  async function settle(expected: number): Promise<number> {
    const b = getBinding();
    for (let i = 0; i < 200 && b.openHandles() !== expected; i++) await new Promise((r) => setTimeout(r, 5));
    return b.openHandles();
  }

  test('every socket handle is closed after use, and by loop.close() with live connections', async () => {
    const b = getBinding();
    // Loops of the tests above may still be closing: their close callbacks run in later turns.
    const before = await settle(0);
    const loop = new native.NativeEventLoop();
    await loop.runUntilComplete(async () => {
      const server = await loop.createServer(echoFactory, HOST, 0);
      const [tr, sink] = await loop.createConnection(() => new Sink(), HOST, port(server));
      tr.write(Buffer.from('x'));
      tr.close();
      await sink.done;
      server.close();
      await server.waitClosed();
    });
    // loop handles (3) stay until close; the sockets are gone.
    expect(await settle(before + 3)).toBe(before + 3);
    const live = await loop.runUntilComplete(async () => {
      const server = await loop.createServer(echoFactory, HOST, 0);
      const conns = await aio.gather(Array.from({ length: 5 }, () => () => loop.createConnection(() => new Sink(), HOST, port(server))));
      await aio.sleep(0.02);
      return conns.length;
    });
    expect(live).toBe(5);
    expect(b.openHandles()).toBeGreaterThan(before + 3 + 5);
    loop.close();
    expect(await settle(before)).toBe(before);
  });

  test('Unix sockets are uv_pipe_t handles of the loop: closed after use and by loop.close()', async () => {
    const b = getBinding();
    const before = await settle(0);
    const p = path.join(os.tmpdir(), `aloop-handles-${process.pid}.sock`);
    const loop = new native.NativeEventLoop();
    await loop.runUntilComplete(async () => {
      const server = await loop.createUnixServer(echoFactory, p);
      // The listener is the addon's: the loop's 3 handles, this one and its accept poll.
      expect(b.openHandles()).toBe(before + 5);
      const [tr, sink] = await loop.createUnixConnection(() => new Sink(), p);
      expect(tr.getExtraInfo('socket')).not.toHaveProperty('setNoDelay');
      tr.write(Buffer.from('x'));
      tr.writeEof();
      expect((await sink.done).toString()).toBe('x');
      server.close();
      await server.waitClosed();
    });
    expect(await settle(before + 3)).toBe(before + 3);
    await loop.runUntilComplete(async () => {
      await loop.createUnixServer(echoFactory, p);
      await aio.gather(Array.from({ length: 3 }, () => () => loop.createUnixConnection(() => new Sink(), p)));
      await aio.sleep(0.02); // the server side accepts them
    });
    expect(b.openHandles()).toBeGreaterThanOrEqual(before + 3 + 2 + 6);
    loop.close();
    expect(await settle(before)).toBe(before);
    // libuv removes the socket file when the listener closes.
    expect(existsSync(p)).toBe(false);
  });

  const dist = pathToFileURL(path.join(root, 'dist', 'native.js')).href;
  function child(body: string, timeout: number): Promise<{ code: number | null; signal: string | null; stdout: string }> {
    const script = `import { NativeEventLoop } from ${JSON.stringify(dist)};\n${body}`;
    return new Promise((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout }, (err, stdout) => {
        const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout });
      });
    });
  }

  test('a listening server keeps the process alive; a closed one does not', async () => {
    expect(existsSync(path.join(root, 'dist', 'native.js'))).toBe(true);
    const setup = `
      const loop = new NativeEventLoop();
      const server = await loop.runUntilComplete(loop.createServer(() => ({}), '127.0.0.1', 0));
      console.log('listening');`;
    // Nothing else keeps this child alive: it must still be running when the timeout kills it.
    const alive = await child(setup, 1500);
    expect(alive.stdout).toContain('listening');
    expect(alive.signal).toBe('SIGTERM');
    const closed = await child(`${setup}\nserver.close(); loop.close(); console.log('closed');`, 10_000);
    expect(closed.stdout).toContain('closed');
    expect(closed.code).toBe(0);
  }, 20_000);

  test('a worker terminated with live sockets closes them in its cleanup hook; nothing crashes', async () => {
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const { NativeEventLoop } = await import(${JSON.stringify(dist)});
        const loop = new NativeEventLoop();
        const server = await loop.runUntilComplete(loop.createServer(() => ({}), '127.0.0.1', 0));
        const port = server.sockets[0].getsockname()[1];
        const [t] = await loop.runUntilComplete(loop.createConnection(() => ({}), '127.0.0.1', port));
        t.write(Buffer.alloc(8 << 20, 1));
        parentPort.postMessage(t.getWriteBufferSize() >= 0 ? 'ready' : 'bad');
      })().catch((e) => parentPort.postMessage(String(e)));`;
    for (let i = 0; i < 3; i++) {
      const w = new Worker(code, { eval: true });
      const msg = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(msg).toBe('ready');
      expect(await w.terminate()).toBe(1);
    }
  }, 30_000);
});
