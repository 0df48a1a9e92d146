/**
 * Unix domain sockets on every loop (node:net on the pure loop, uv_pipe_t on the native one):
 * errors from the OS, path checks, names, half-close, backpressure with a checksum, server close
 * with live clients, abort, many connections, streams.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';
import { Collector, FlowCollector, hashingReceiver, writeNumbered } from './protocols.js';

function tmpPath(tag: string): string {
  return path.join(os.tmpdir(), `aloop-${tag}-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
}

eachLoop((lc) => {
  test('connecting to a missing path or a non-socket fails with the OS error', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('missing');
      const err = await loop.createUnixConnection(() => new Collector(), p).then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ code: 'ENOENT', syscall: 'connect' });
      expect(typeof err!.errno).toBe('number');
      // A regular file is not listening: the kernel refuses the connection.
      fs.writeFileSync(p, '');
      try {
        await expect(loop.createUnixConnection(() => new Collector(), p)).rejects.toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
      } finally {
        fs.unlinkSync(p);
      }
    });
  });

  test('bad paths: TypeError/RangeError naming the argument, before any I/O', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const long = path.join(os.tmpdir(), 'x'.repeat(200));
      expect(() => loop.createUnixServer(() => new Collector(), long)).toThrow(RangeError);
      expect(() => loop.createUnixServer(() => new Collector(), long)).toThrow(/path is \d+ bytes long/);
      expect(() => loop.createUnixConnection(() => new Collector(), long)).toThrow(RangeError);
      expect(() => loop.createUnixConnection(() => new Collector(), '')).toThrow(RangeError);
      expect(() => loop.createUnixConnection(() => new Collector(), 'a\0b')).toThrow(/NUL/);
      expect(() => loop.createUnixConnection(() => new Collector(), 42 as never)).toThrow(TypeError);
      expect(() => loop.createUnixServer(() => new Collector(), tmpPath('x'), { backlog: -1 })).toThrow(RangeError);
      expect(fs.existsSync(long)).toBe(false);
    });
  });

  test('names are paths on both sides; half-close both ways keeps the other direction open', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('half');
      let serverSide: aio.Transport | null = null;
      const serverGotEof = loop.createFuture<string>();
      const server = await loop.createUnixServer(() => {
        const chunks: Buffer[] = [];
        return {
          connectionMade(t: aio.Transport) {
            serverSide = t;
          },
          dataReceived(d: Buffer) {
            chunks.push(d);
          },
          eofReceived() {
            serverGotEof.setResult(Buffer.concat(chunks).toString());
            // Keep our direction open: answer after the client's EOF, then close.
            serverSide!.write(Buffer.from('answer after eof'));
            serverSide!.writeEof();
            return true;
          },
        };
      }, p);
      expect(server.sockets).toHaveLength(1);
      expect(server.sockets[0]!.getsockname()).toBe(p);
      const client = new Collector();
      client.keepOpen = true;
      const [tr] = await loop.createUnixConnection(() => client, p);
      expect(tr.getExtraInfo('peername')).toBe(p);
      expect(tr.getExtraInfo('sockname')).toBe('');
      expect(tr.canWriteEof()).toBe(true);
      tr.write(Buffer.from('question'));
      tr.writeEof();
      expect(() => tr.write(Buffer.from('more'))).toThrow(/writeEof/);
      expect(await serverGotEof).toBe('question');
      expect(serverSide!.getExtraInfo('sockname')).toBe(p);
      expect(serverSide!.getExtraInfo('peername')).toBe('');
      // Both directions shut: the connection ends on both sides without an error.
      expect(await client.done).toBeNull();
      expect(client.data.toString()).toBe('answer after eof');
      expect(client.log).toEqual(['made', 'data', 'eof', 'lost']);
      server.close();
      await server.waitClosed();
      expect(fs.existsSync(p)).toBe(false);
    });
  });

  test('16 MiB with pauses on both sides arrives intact (sha256 both ends)', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('bulk');
      const CHUNK = 256 * 1024;
      const TOTAL = 64 * CHUNK;
      const stats = { pausesRead: 0 };
      const serverDone = loop.createFuture<string>();
      const server = await loop.createUnixServer(() => hashingReceiver(8 * CHUNK, serverDone, stats), p);
      const client = new FlowCollector();
      const [tr] = await loop.createUnixConnection(() => client, p);
      const mine = await writeNumbered(tr, client, TOTAL, CHUNK);
      expect(await client.done).toBeNull();
      expect(await serverDone).toBe(mine);
      expect(client.data.toString()).toBe(`${TOTAL} ${mine}`);
      expect(client.pauses).toBeGreaterThan(0);
      expect(stats.pausesRead).toBeGreaterThan(0);
      server.close();
      await server.waitClosed();
    });
  });

  test('server close with live clients: closeClients ends them, waitClosed waits for them', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('close');
      const accepted: Collector[] = [];
      const server = await loop.createUnixServer(() => accepted[accepted.length] = new Collector(), p);
      const clients = await Promise.all([0, 1, 2].map(() => loop.createUnixConnection(() => new Collector(), p)));
      // A client's connect completes once it is queued on the listener; one not yet accepted
      // when the listener closes is reset (ECONNRESET), not ended. On a busy machine a timer can
      // come due before the loop polls the listener, so wait for the accepts, not for a time.
      while (accepted.filter((c) => c.log[0] === 'made').length < 3) await aio.sleep(0.001);
      server.close();
      expect(server.isServing()).toBe(false);
      expect(server.sockets).toEqual([]);
      // New connections are refused once the listener is closed (its path is gone).
      await expect(loop.createUnixConnection(() => new Collector(), p)).rejects.toMatchObject({ code: 'ENOENT' });
      let closed = false;
      const waiting = server.waitClosed().then(() => (closed = true));
      await aio.sleep(0.01);
      expect(closed).toBe(false);
      server.closeClients();
      await waiting;
      for (const [, c] of clients) {
        expect(await c.done).toBeNull();
        expect(c.log).toEqual(['made', 'eof', 'lost']);
      }
    });
  });

  test('abort drops what is queued; connectionLost(null) on our side, EOF on the peer', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('abort');
      const peer = loop.createFuture<Collector>();
      const server = await loop.createUnixServer(() => {
        const r = new Collector();
        // Never reads: the client's writes pile up in its buffer.
        const made = r.connectionMade.bind(r);
        r.connectionMade = (t) => {
          made(t);
          t.pauseReading();
          peer.setResult(r);
        };
        return r;
      }, p);
      const client = new Collector();
      const [tr] = await loop.createUnixConnection(() => client, p);
      const r = await peer;
      const big = Buffer.alloc(8 * 1024 * 1024, 7);
      tr.write(big);
      expect(tr.getWriteBufferSize()).toBeGreaterThan(0);
      tr.abort();
      expect(tr.isClosing()).toBe(true);
      expect(await client.done).toBeNull();
      expect(tr.getWriteBufferSize()).toBe(0);
      r.transport.resumeReading();
      await r.done;
      expect(r.data.length).toBeLessThan(big.length);
      server.close();
      await server.waitClosed();
    });
  });

  test('200 concurrent connections each echo once', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('many');
      const server = await aio.startUnixServer(
        async (reader, writer) => {
          const line = await reader.readline();
          writer.write(line);
          await writer.drain();
          writer.close();
          await writer.waitClosed();
        },
        p,
        { backlog: 256 },
      );
      const one = async (i: number) => {
        const [reader, writer] = await aio.openUnixConnection(p);
        writer.write(Buffer.from(`hello ${i}\n`));
        const back = (await reader.read(-1)).toString();
        writer.close();
        await writer.waitClosed();
        return back;
      };
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
      results.forEach((r, i) => expect(r).toBe(`hello ${i}\n`));
      server.close();
      await server.waitClosed();
      expect(loop.isRunning()).toBe(true);
    });
  });
});
