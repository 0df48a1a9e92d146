import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const HOST = '127.0.0.1';

function portOf(server: aio.Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A line server written as a generator: answers each line upper-cased until EOF. */
function* upperGen(reader: aio.StreamReader, writer: aio.StreamWriter): aio.Coro<void> {
  for (;;) {
    const line = yield* reader.readline();
    if (line.length === 0) break;
    writer.write(Buffer.from(line.toString().toUpperCase()));
    yield* writer.drain();
  }
  writer.close();
  yield* writer.waitClosed();
}

/** The same server as an async function. */
async function upperAsync(reader: aio.StreamReader, writer: aio.StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(Buffer.from(line.toString().toUpperCase()));
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
}

eachLoop((lc) => {
  for (const [form, handler] of [['generator', upperGen], ['async', upperAsync]] as const) {
    test(`stream echo: ${form} server, async client (readline, readExactly, readUntil, read)`, async () => {
      await lc.run(async () => {
        const server = await aio.startServer(handler, HOST, 0);
        const [reader, writer] = await aio.openConnection(HOST, portOf(server));
        expect(writer.getExtraInfo('peername')).toEqual([HOST, portOf(server)]);
        expect(writer.transport.getExtraInfo('peername')).toEqual([HOST, portOf(server)]);
        expect(writer.canWriteEof()).toBe(true);
        writer.write(Buffer.from('one\ntwo\n'));
        writer.writelines([Buffer.from('thr'), Buffer.from('ee\nfour|five\nsix')]);
        await writer.drain();
        expect((await reader.readline()).toString()).toBe('ONE\n');
        expect((await reader.readExactly(4)).toString()).toBe('TWO\n');
        expect((await reader.readUntil('\n')).toString()).toBe('THREE\n');
        expect((await reader.readUntil(Buffer.from('|'))).toString()).toBe('FOUR|');
        expect((await reader.read(3)).toString()).toBe('FIV');
        writer.writeEof();
        expect((await reader.read()).toString()).toBe('E\nSIX');
        expect(reader.atEof()).toBe(true);
        expect((await reader.read()).length).toBe(0);
        expect((await reader.readline()).length).toBe(0);
        await writer.waitClosed();
        expect(writer.isClosing()).toBe(true);
        server.close();
        await server.waitClosed();
      });
    });

    test(`stream echo: ${form} server, generator client`, async () => {
      await lc.run(function* () {
        const server = yield* aio.startServer(handler, HOST, 0);
        const [reader, writer] = yield* aio.openConnection(HOST, portOf(server));
        const lines: string[] = [];
        for (let i = 0; i < 50; i++) writer.write(Buffer.from(`line ${i}\n`));
        writer.writeEof();
        for (;;) {
          const l = yield* reader.readline();
          if (l.length === 0) break;
          lines.push(l.toString());
        }
        expect(lines).toEqual(Array.from({ length: 50 }, (_, i) => `LINE ${i}\n`));
        writer.close();
        yield* writer.waitClosed();
        server.close();
        yield* server.waitClosed();
      });
    });
  }

  test('16 MiB through streams with drain() arrives intact (sha256)', async () => {
    await lc.run(async () => {
      const server = await aio.startServer(async (reader, writer) => {
        const h = createHash('sha256');
        let n = 0;
        for (;;) {
          const b = await reader.read(100_000);
          if (b.length === 0) break;
          n += b.length;
          h.update(b);
          // A slow consumer now and then: the reader's buffer limit pauses the transport.
          if (n % (1 << 20) < 100_000) await aio.sleep(0.001);
        }
        writer.write(Buffer.from(`${n} ${h.digest('hex')}\n`));
        writer.close();
      }, HOST, 0, { limit: 16 * 1024 });
      const [reader, writer] = await aio.openConnection(HOST, portOf(server));
      const h = createHash('sha256');
      const seed = randomBytes(1 << 20);
      let total = 0;
      for (let i = 0; i < 16; i++) {
        const chunk = Buffer.from(seed);
        chunk.writeUInt32BE(i, 0);
        h.update(chunk);
        total += chunk.length;
        writer.write(chunk);
        await writer.drain();
        expect(writer.transport.getWriteBufferSize()).toBeLessThanOrEqual(64 * 1024);
      }
      writer.writeEof();
      expect((await reader.readline()).toString()).toBe(`${total} ${h.digest('hex')}\n`);
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  }, 60_000);

  test('IncompleteReadError and LimitOverrunError', async () => {
    await lc.run(function* () {
      const server = yield* aio.startServer(function* (_r, w) {
        w.write(Buffer.from('0123456789abcdefghij\nshort\nxyz'));
        w.close();
      }, HOST, 0);
      const [reader, writer] = yield* aio.openConnection(HOST, portOf(server), { limit: 8 });
      expect(reader.limit).toBe(8);
      let err: any;
      try {
        yield* reader.readUntil('\n');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.LimitOverrunError);
      expect(err.consumed).toBeGreaterThan(8);
      // readUntil leaves the data; readline discards the overlong line.
      try {
        yield* reader.readline();
        err = null;
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.LimitOverrunError);
      expect((yield* reader.readline()).toString()).toBe('short\n');
      try {
        yield* reader.readExactly(10);
        err = null;
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.IncompleteReadError);
      expect(err.partial.toString()).toBe('xyz');
      expect(err.expected).toBe(10);
      expect(reader.atEof()).toBe(true);
      writer.close();
      server.close();
      yield* server.waitClosed();
    });
  });

  test('StreamReader fed by hand: separators across chunks, readUntil at EOF', async () => {
    await lc.run(async () => {
      const r = new aio.StreamReader();
      expect(r.limit).toBe(64 * 1024);
      const pending = r.readUntil('--');
      r.feedData(Buffer.from('ab-'));
      expect(pending.done()).toBe(false);
      r.feedData(Buffer.from('-cd'));
      expect((await pending).toString()).toBe('ab--');
      expect(() => r.read(1)).not.toThrow();
      r.feedData(Buffer.from('e'));
      r.feedEof();
      let err: any;
      try {
        await r.readUntil('!');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.IncompleteReadError);
      expect(err.expected).toBeNull();
      expect(() => r.feedData(Buffer.from('x'))).toThrow(/feedEof/);
    });
  });

  test('one reader at a time; a cancelled read frees the reader', async () => {
    await lc.run(async () => {
      const r = new aio.StreamReader();
      const first = r.read(10);
      expect(() => r.readline()).toThrow(/already waiting/);
      first.cancel();
      const t = aio.createTask(async () => r.readExactly(3));
      await aio.sleep(0);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(aio.CancelledError);
      const again = r.readExactly(2);
      r.feedData(Buffer.from('hi'));
      expect((await again).toString()).toBe('hi');
    });
  });

  test('async iteration yields lines until EOF', async () => {
    await lc.run(async () => {
      const r = new aio.StreamReader();
      r.feedData(Buffer.from('a\nb\nc'));
      r.feedEof();
      const lines: string[] = [];
      for await (const l of r) lines.push(l.toString());
      expect(lines).toEqual(['a\n', 'b\n', 'c']);
    });
  });

  test('Unix socket streams', async () => {
    await lc.run(async () => {
      const p = path.join(os.tmpdir(), `aloop-streams-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
      const server = await aio.startUnixServer(upperAsync, p);
      const [reader, writer] = await aio.openUnixConnection(p);
      writer.write(Buffer.from('unix\n'));
      expect((await reader.readline()).toString()).toBe('UNIX\n');
      writer.writeEof();
      expect((await reader.read()).length).toBe(0);
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  test('connection lost: drain() and reads report it; a refused connection rejects', async () => {
    await lc.run(async () => {
      const server = await aio.startServer(async (_r, w) => {
        w.transport.abort();
      }, HOST, 0);
      const p = portOf(server);
      const [reader, writer] = await aio.openConnection(HOST, p);
      // EOF from the peer keeps our half open (asyncio's StreamReaderProtocol); we close it.
      expect((await reader.read()).length).toBe(0);
      expect(writer.isClosing()).toBe(false);
      writer.close();
      await writer.waitClosed();
      writer.write(Buffer.from('late')); // dropped quietly
      await expect(writer.drain()).rejects.toMatchObject({ code: 'ECONNRESET' });
      server.close();
      await server.waitClosed();
      await expect(aio.openConnection(HOST, p)).rejects.toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    });
  });

  test('an exception in clientConnected is reported and closes that connection', async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(async () => {
      const server = await aio.startServer(async () => {
        throw new Error('handler failed');
      }, HOST, 0);
      const [reader] = await aio.openConnection(HOST, portOf(server));
      expect((await reader.read()).length).toBe(0);
      server.close();
      await server.waitClosed();
    }, { allowErrors: true, errors });
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.exception)).toMatch(/handler failed/);
  });

  test('many concurrent stream clients (300), each echoing one line', async () => {
    await lc.run(async () => {
      const server = await aio.startServer(upperGen, HOST, 0, { backlog: 512 });
      const p = portOf(server);
      const res = await aio.gather(
        Array.from({ length: 300 }, (_, i) => function* () {
          const [r, w] = yield* aio.openConnection(HOST, p);
          w.write(Buffer.from(`c${i}\n`));
          const line = (yield* r.readline()).toString();
          w.close();
          yield* w.waitClosed();
          return line === `C${i}\n`;
        }),
      );
      expect(res.every(Boolean)).toBe(true);
      server.close();
      await server.waitClosed();
    });
  }, 60_000);

  test('bad arguments', async () => {
    await lc.run(async () => {
      expect(() => aio.openConnection(HOST, 70000)).toThrow(RangeError);
      expect(() => aio.openConnection(HOST, 80, { limit: 0 })).toThrow(RangeError);
      expect(() => aio.startServer('x' as any, HOST, 0)).toThrow(/clientConnected must be a function/);
      expect(() => new aio.StreamReader(-1)).toThrow(RangeError);
      expect(() => new aio.StreamReader('1' as any)).toThrow(TypeError);
      const r = new aio.StreamReader();
      expect(() => r.readExactly(-1)).toThrow(RangeError);
      expect(() => r.read(1.5)).toThrow(/n must be an integer/);
      expect(() => r.read('1' as any)).toThrow(TypeError);
      expect(() => r.readUntil('')).toThrow(RangeError);
      expect(() => r.readUntil(5 as any)).toThrow(TypeError);
    });
  });
});
