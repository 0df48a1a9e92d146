/**
 * StreamReader flow control on every loop: the reader pauses its transport above 2 × limit, and
 * never while a read waits for more data (asyncio resumes reading each time a read waits), so a
 * read that needs more than 2 × limit (`readExactly`, `read()` to EOF) completes.
 */
import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const HOST = '127.0.0.1';

function portOf(server: aio.Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A transport stand-in that records the reader's pause/resume calls. */
function fakeTransport(log: string[]): aio.Transport {
  let reading = true;
  return {
    pauseReading() {
      reading = false;
      log.push('pause');
    },
    resumeReading() {
      reading = true;
      log.push('resume');
    },
    isReading: () => reading,
  } as unknown as aio.Transport;
}

/** Serves `payload` to each client, then waits for the client to close. */
function sender(payload: Buffer): aio.ClientConnected {
  return async (reader, writer) => {
    writer.write(payload);
    await writer.drain();
    await reader.read();
    writer.close();
  };
}

eachLoop((lc) => {
  test('readExactly(n) with n > 2 × limit completes (300 KB, default limit)', async () => {
    await lc.run(async () => {
      const payload = randomBytes(300 * 1000);
      const server = await aio.startServer(sender(payload), HOST, 0);
      const [reader, writer] = await aio.openConnection(HOST, portOf(server));
      const got = await aio.waitFor(reader.readExactly(payload.length), 10);
      expect(got.equals(payload)).toBe(true);
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  }, 30_000);

  test('a paused reader resumes for every kind of read that waits', async () => {
    await lc.run(async () => {
      const limit = 1024;
      const payload = randomBytes(64 * 1024);
      const server = await aio.startServer(async (reader, writer) => {
        writer.write(payload);
        await writer.drain();
        await reader.read();
        writer.write(Buffer.from('tail\n'));
        writer.close();
      }, HOST, 0);
      const [reader, writer] = await aio.openConnection(HOST, portOf(server), { limit });
      // Nobody reads: the reader stops its transport once it holds more than 2 × limit.
      for (let i = 0; i < 2000 && writer.transport.isReading(); i++) await aio.sleep(0.005);
      expect(writer.transport.isReading()).toBe(false);
      expect(String(reader)).toMatch(/paused/);
      // readExactly of more than is buffered (and more than 2 × limit) resumes and completes.
      const first = await aio.waitFor(reader.readExactly(32 * 1024), 20);
      expect(first.equals(payload.subarray(0, 32 * 1024))).toBe(true);
      // read(n) takes what is there; readUntil/readline wait (within the limit) for their line.
      let off = first.length;
      while (off < payload.length) {
        const b = await aio.waitFor(reader.read(4096), 20);
        expect(b.equals(payload.subarray(off, off + b.length))).toBe(true);
        off += b.length;
      }
      writer.writeEof();
      expect((await aio.waitFor(reader.readUntil('\n'), 20)).toString()).toBe('tail\n');
      expect((await aio.waitFor(reader.read(), 20)).length).toBe(0);
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  }, 30_000);

  test('read() to EOF of far more than 2 × limit completes', async () => {
    await lc.run(async () => {
      const payload = randomBytes(512 * 1024);
      const server = await aio.startServer(async (_reader, writer) => {
        writer.write(payload);
        await writer.drain();
        writer.close();
      }, HOST, 0);
      const [reader, writer] = await aio.openConnection(HOST, portOf(server), { limit: 1024 });
      const all = await aio.waitFor(reader.read(), 20);
      expect(all.equals(payload)).toBe(true);
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  }, 30_000);

  test('fed by hand: no pause while a read waits, pause above 2 × limit otherwise, resume when a read waits', async () => {
    await lc.run(async () => {
      const log: string[] = [];
      const r = new aio.StreamReader(10);
      r.setTransport(fakeTransport(log));
      // A waiting readExactly(50) takes 30 bytes beyond 2 × limit without a pause.
      const big = r.readExactly(50);
      for (let i = 0; i < 3; i++) r.feedData(Buffer.alloc(10, i));
      expect(log).toEqual([]);
      r.feedData(Buffer.alloc(20, 3));
      expect(big.done()).toBe(true);
      expect((await big).length).toBe(50);
      // No read waiting: above 2 × limit pauses.
      r.feedData(Buffer.alloc(15));
      expect(log).toEqual([]);
      r.feedData(Buffer.alloc(15));
      expect(log).toEqual(['pause']);
      // Each kind of read that has to wait resumes the transport.
      const pausedWith = (n: number) => {
        log.length = 0;
        r.feedData(Buffer.alloc(n, 0x61));
        expect(log).toEqual(['pause']);
      };
      r.read(1000).result(); // empties the buffer (30 bytes)
      expect(log).toEqual(['pause', 'resume']);
      pausedWith(21);
      const exact = r.readExactly(31);
      expect(exact.done()).toBe(false);
      expect(log).toEqual(['pause', 'resume']);
      r.feedData(Buffer.alloc(10));
      expect((await exact).length).toBe(31);

      pausedWith(21);
      const all = r.read();
      expect(all.done()).toBe(false);
      expect(log).toEqual(['pause', 'resume']);
      all.cancel();

      // readUntil while still paused (11 bytes > limit stay after read(10)) waits: resumed.
      pausedWith(21);
      expect(r.read(10).result().length).toBe(10);
      expect(log).toEqual(['pause']);
      const until = r.readUntil('!!');
      expect(until.done()).toBe(false);
      expect(log).toEqual(['pause', 'resume']);
      // It waited with reading on; the separator lands past the limit: LimitOverrunError.
      r.feedData(Buffer.from('!!'));
      await expect(until).rejects.toBeInstanceOf(aio.LimitOverrunError);
      expect(r.read(100).result().length).toBe(13);
      // Over the limit without a separator, readline fails at once (no wait) and drops the line.
      pausedWith(21);
      const line = r.readline();
      expect(line.exception()).toBeInstanceOf(aio.LimitOverrunError);
      expect(log).toEqual(['pause', 'resume']);
    });
  });
});
