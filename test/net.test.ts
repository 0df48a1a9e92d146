import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';
import { Collector, FlowCollector, hashingReceiver, writeNumbered } from './protocols.js';

const HOST = '127.0.0.1';

/** A server protocol that echoes every byte and closes on EOF. */
function echoProtocol(log?: string[]): aio.Protocol {
  let t: aio.Transport;
  return {
    connectionMade(tr) {
      t = tr;
      log?.push('made');
    },
    dataReceived(d) {
      log?.push('data');
      t.write(d);
    },
    eofReceived() {
      log?.push('eof');
    },
    connectionLost(exc) {
      log?.push(`lost:${exc}`);
    },
  };
}

function port(server: aio.Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

function tmpPath(tag: string): string {
  return path.join(os.tmpdir(), `aloop-${tag}-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
}

eachLoop((lc) => {
  test('TCP echo through protocols, callbacks in asyncio order, addresses as [host, port]', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const serverLog: string[] = [];
      const server = await loop.createServer(() => echoProtocol(serverLog), HOST, 0);
      expect(server.isServing()).toBe(true);
      expect(server.getLoop()).toBe(loop);
      const [h, p] = server.sockets[0]!.getsockname() as [string, number];
      expect(h).toBe(HOST);
      expect(p).toBeGreaterThan(0);
      const [tr, proto] = await loop.createConnection(() => new Collector(), HOST, p);
      expect(proto.log).toEqual(['made']);
      expect(tr.getProtocol()).toBe(proto);
      expect(tr.getExtraInfo('peername')).toEqual([HOST, p]);
      const sn = tr.getExtraInfo('sockname') as [string, number];
      expect(sn[0]).toBe(HOST);
      expect(tr.getExtraInfo('nothing', 42)).toBe(42);
      expect(tr.getExtraInfo('socket')).toBeTruthy();
      expect(tr.canWriteEof()).toBe(true);
      tr.write(Buffer.from('hello '));
      tr.writelines([Buffer.from('wor'), new Uint8Array([108, 100])]);
      tr.writeEof();
      const exc = await proto.done;
      expect(exc).toBeNull();
      expect(proto.data.toString()).toBe('hello world');
      expect(proto.log).toEqual(['made', 'data', 'eof', 'lost']);
      expect(tr.isClosing()).toBe(true);
      server.close();
      await server.waitClosed();
      expect(serverLog[0]).toBe('made');
      expect(serverLog.slice(-2)).toEqual(['eof', 'lost:null']);
      expect(server.sockets).toEqual([]);
      expect(server.isServing()).toBe(false);
    });
  });

  test('BufferedProtocol receives into its own small buffer', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const got: Buffer[] = [];
      const hints: number[] = [];
      const done = loop.createFuture<void>();
      const buf = Buffer.alloc(7);
      const server = yield* loop.createServer(
        () => ({
          getBuffer(hint: number) {
            hints.push(hint);
            return buf;
          },
          bufferUpdated(n: number) {
            got.push(Buffer.from(buf.subarray(0, n)));
          },
          connectionLost() {
            done.setResult(undefined);
          },
        }),
        HOST,
        0,
      );
      const [tr] = yield* loop.createConnection(() => ({}), HOST, port(server));
      const payload = randomBytes(10_000);
      tr.write(payload);
      tr.close();
      yield* done;
      expect(Buffer.concat(got).equals(payload)).toBe(true);
      expect(Math.max(...got.map((b) => b.length))).toBeLessThanOrEqual(7);
      expect(hints.every((h) => h > 0)).toBe(true);
      server.close();
      yield* server.waitClosed();
    });
  });

  test('64 MiB through a paused/resumed connection arrives intact (sha256 both ends)', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const CHUNK = 1 << 20;
      const TOTAL = 64 * CHUNK;
      const stats = { pausesRead: 0 };
      const serverDone = loop.createFuture<string>();
      const server = await loop.createServer(() => hashingReceiver(4 * CHUNK, serverDone, stats), HOST, 0);
      const client = new FlowCollector();
      const [tr] = await loop.createConnection(() => client, HOST, port(server));
      expect(tr.getWriteBufferLimits()).toEqual([16 * 1024, 64 * 1024]);
      const mine = await writeNumbered(tr, client, TOTAL, CHUNK);
      expect(await client.done).toBeNull();
      expect(await serverDone).toBe(mine);
      expect(client.data.toString()).toBe(`${TOTAL} ${mine}`);
      expect(client.pauses).toBeGreaterThan(0);
      expect(stats.pausesRead).toBeGreaterThan(0);
      server.close();
      await server.waitClosed();
    });
  }, 60_000);

  test('half-close both ways: eofReceived returning true keeps the transport open', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      // Direction 1: the client half-closes; the server answers after EOF, then closes.
      const server1 = await loop.createServer(() => {
        let t: aio.Transport;
        const parts: Buffer[] = [];
        return {
          connectionMade: (tr: aio.Transport) => void (t = tr),
          dataReceived: (d: Buffer) => void parts.push(d),
          eofReceived() {
            t.write(Buffer.concat(parts).reverse());
            t.writeEof();
            return true;
          },
        };
      }, HOST, 0);
      const [t1, c1] = await loop.createConnection(() => new Collector(), HOST, port(server1));
      t1.write(Buffer.from('abc'));
      t1.writeEof();
      expect(() => t1.write(Buffer.from('x'))).toThrow(/writeEof/);
      expect(await c1.done).toBeNull();
      expect(c1.data.toString()).toBe('cba');
      expect(c1.log).toEqual(['made', 'data', 'eof', 'lost']);
      server1.close();

      // Direction 2: the server half-closes first; the client keeps writing after EOF.
      const got = loop.createFuture<string>();
      const server2 = await loop.createServer(() => {
        let t: aio.Transport;
        let s = '';
        return {
          connectionMade(tr: aio.Transport) {
            t = tr;
            t.write(Buffer.from('hi'));
            t.writeEof();
          },
          dataReceived: (d: Buffer) => void (s += d.toString()),
          eofReceived() {
            got.setResult(s);
          },
        };
      }, HOST, 0);
      const c2 = new Collector();
      c2.keepOpen = true;
      const [t2] = await loop.createConnection(() => c2, HOST, port(server2));
      while (!c2.log.includes('eof')) await aio.sleep(0.005);
      expect(t2.isClosing()).toBe(false);
      t2.write(Buffer.from('still '));
      t2.write(Buffer.from('talking'));
      t2.writeEof();
      expect(await got).toBe('still talking');
      expect(await c2.done).toBeNull();
      expect(c2.data.toString()).toBe('hi');
      server2.close();
      await aio.gather(server1.waitClosed(), server2.waitClosed());
    });
  });

  test('close() flushes before connectionLost; abort() does not', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const sizes: aio.Future<number>[] = [];
      const server = await loop.createServer(() => {
        let n = 0;
        const f = loop.createFuture<number>();
        sizes.push(f);
        return {
          dataReceived: (d: Buffer) => void (n += d.length),
          connectionLost: () => f.setResult(n),
        };
      }, HOST, 0);
      const big = Buffer.alloc(4 << 20, 1);
      const [t1, c1] = await loop.createConnection(() => new Collector(), HOST, port(server));
      t1.write(big);
      t1.close();
      expect(t1.isClosing()).toBe(true);
      t1.write(Buffer.from('dropped after close'));
      expect(await c1.done).toBeNull();
      expect(await sizes[0]!).toBe(big.length);

      const huge = Buffer.alloc(64 << 20, 2);
      const [t2, c2] = await loop.createConnection(() => new Collector(), HOST, port(server));
      t2.write(huge);
      t2.abort();
      expect(await c2.done).toBeNull();
      expect(await sizes[1]!).toBeLessThan(huge.length);
      server.close();
      await server.waitClosed();
    });
  });

  test('server close with live clients: stops listening, waitClosed waits for the clients', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const made: string[] = [];
      const server = await loop.createServer(() => echoProtocol(made), HOST, 0);
      const p = port(server);
      const [ta, ca] = await loop.createConnection(() => new Collector(), HOST, p);
      const [tb, cb] = await loop.createConnection(() => new Collector(), HOST, p);
      // Connected in the kernel is not accepted yet (Node's libuv takes one connection per loop
      // iteration), and closing the listener resets what it has not accepted: wait for both.
      while (made.filter((e) => e === 'made').length < 2) await aio.sleep(0.005);
      server.close();
      server.close(); // idempotent
      const closed = server.waitClosed();
      await aio.sleep(0.02);
      expect(closed.done()).toBe(false);
      // Live connections still work.
      ta.write(Buffer.from('ping'));
      while (ca.data.length < 4) await aio.sleep(0.005);
      expect(ca.data.toString()).toBe('ping');
      // No new connections.
      await expect(loop.createConnection(() => new Collector(), HOST, p)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      ta.close();
      await ca.done;
      await aio.sleep(0.02);
      expect(closed.done()).toBe(false);
      server.closeClients();
      await closed;
      expect(await cb.done).toBeNull();
      expect(tb.isClosing()).toBe(true);
      await server.waitClosed(); // done already
    });
  });

  test('connecting to a port just closed rejects with ECONNREFUSED (code, errno, syscall)', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const server = yield* loop.createServer(() => echoProtocol(), HOST, 0);
      const p = port(server);
      server.close();
      yield* server.waitClosed();
      let err: any;
      try {
        yield* loop.createConnection(() => new Collector(), HOST, p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('ECONNREFUSED');
      expect(typeof err.errno).toBe('number');
      expect(err.syscall).toBe('connect');
    });
  });

  test('a port in use rejects createServer with EADDRINUSE', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const s1 = await loop.createServer(() => echoProtocol(), HOST, 0);
      await expect(loop.createServer(() => echoProtocol(), HOST, port(s1))).rejects.toMatchObject({ code: 'EADDRINUSE' });
      s1.close();
      await s1.waitClosed();
    });
  });

  test('reset by peer mid-write: connectionLost gets the error, nothing crashes', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => ({
        connectionMade(t: aio.Transport) {
          // Read a little, then reset the connection (RST) while the client is writing.
          loop.callLater(0.02, () => (t.getExtraInfo('socket') as import('node:net').Socket).resetAndDestroy());
        },
      }), HOST, 0);
      const c = new Collector();
      const [tr] = await loop.createConnection(() => c, HOST, port(server));
      const chunk = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 2000 && !c.done.done(); i++) {
        tr.write(chunk);
        await aio.sleep(0.001);
      }
      const exc = (await c.done) as NodeJS.ErrnoException;
      expect(exc).toBeInstanceOf(Error);
      expect(['ECONNRESET', 'EPIPE']).toContain(exc.code);
      expect(c.log[c.log.length - 1]).toBe('lost');
      expect(c.log.filter((x) => x === 'lost')).toHaveLength(1);
      // Writes after the loss are dropped quietly.
      tr.write(Buffer.from('late'));
      server.close();
      await server.waitClosed();
    });
  });

  test('UDP echo with [host, port] addresses, connected and unconnected endpoints', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [st] = await loop.createDatagramEndpoint(() => {
        let t: aio.DatagramTransport;
        return {
          connectionMade: (tr: aio.DatagramTransport) => void (t = tr),
          datagramReceived(d: Buffer, addr: aio.Address) {
            t.sendto(Buffer.concat([Buffer.from('echo:'), d]), addr);
          },
        };
      }, { localAddr: [HOST, 0] });
      const saddr = st.getExtraInfo('sockname') as [string, number];
      expect(saddr[0]).toBe(HOST);

      const got: [string, aio.Address][] = [];
      const lost = loop.createFuture<Error | null>();
      let made = false;
      const proto = {
        connectionMade: () => void (made = true),
        datagramReceived: (d: Buffer, a: aio.Address) => void got.push([d.toString(), a]),
        connectionLost: (e: Error | null) => lost.setResult(e),
      };
      const [ct, cp] = await loop.createDatagramEndpoint(() => proto, { remoteAddr: saddr });
      expect(cp).toBe(proto);
      expect(made).toBe(true);
      expect(ct.getExtraInfo('peername')).toEqual(saddr);
      ct.sendto(Buffer.from('one'));
      ct.sendto(Buffer.from('two'), saddr);
      expect(() => ct.sendto(Buffer.from('x'), [HOST, 1])).toThrow(TypeError);
      while (got.length < 2) await aio.sleep(0.005);
      expect(got.map((g) => g[0]).sort()).toEqual(['echo:one', 'echo:two']);
      expect(got[0]![1]).toEqual(saddr);

      // Unconnected: addr is required.
      const got2: string[] = [];
      const [ut] = await loop.createDatagramEndpoint(() => ({ datagramReceived: (d: Buffer) => void got2.push(d.toString()) }), { localAddr: [HOST, 0] });
      expect(() => ut.sendto(Buffer.from('x'))).toThrow(TypeError);
      ut.sendto(Buffer.from('three'), saddr);
      while (got2.length < 1) await aio.sleep(0.005);
      expect(got2).toEqual(['echo:three']);

      ct.close();
      expect(await lost).toBeNull();
      expect(ct.isClosing()).toBe(true);
      ut.close();
      st.close();
      await aio.sleep(0.01);
    });
  });

  test('Unix socket echo through protocols; names are paths', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const p = tmpPath('net');
      fs.writeFileSync(p, ''); // not a socket: must not be removed
      await expect(loop.createUnixServer(() => echoProtocol(), p)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      fs.unlinkSync(p);
      const server = await loop.createUnixServer(() => echoProtocol(), p);
      expect(server.sockets[0]!.getsockname()).toBe(p);
      const [tr, c] = await loop.createUnixConnection(() => new Collector(), p);
      expect(tr.getExtraInfo('peername')).toBe(p);
      tr.write(Buffer.from('over unix'));
      tr.writeEof();
      expect(await c.done).toBeNull();
      expect(c.data.toString()).toBe('over unix');
      server.close();
      await server.waitClosed();
      expect(fs.existsSync(p)).toBe(false);
    });
  });

  test('1000 concurrent connections each echo once', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => echoProtocol(), HOST, 0, { backlog: 1024 });
      const p = port(server);
      const one = async (i: number) => {
        const [tr, c] = await loop.createConnection(() => new Collector(), HOST, p);
        tr.write(Buffer.from(`msg ${i}`));
        tr.writeEof();
        await c.done;
        return c.data.toString() === `msg ${i}`;
      };
      const ok = await aio.gather(Array.from({ length: 1000 }, (_, i) => () => one(i)));
      expect(ok.every(Boolean)).toBe(true);
      server.close();
      await server.waitClosed();
    });
  }, 60_000);

  test('serveForever runs until cancelled, then the server is closed', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => echoProtocol(), HOST, 0, { startServing: false });
      expect(server.isServing()).toBe(false);
      const task = server.serveForever();
      await aio.sleep(0.01);
      expect(server.isServing()).toBe(true);
      expect(() => server.serveForever()).toThrow(/already being awaited/);
      const [tr, c] = await loop.createConnection(() => new Collector(), HOST, port(server));
      tr.write(Buffer.from('x'));
      tr.writeEof();
      await c.done;
      expect(c.data.toString()).toBe('x');
      task.cancel();
      await expect(task).rejects.toBeInstanceOf(aio.CancelledError);
      expect(server.isServing()).toBe(false);
      expect(() => server.serveForever()).toThrow(/closed/);
      await server[Symbol.asyncDispose]();
    });
  });

  test('getaddrinfo and getnameinfo', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(await loop.getaddrinfo(HOST, 80, { type: aio.SOCK_STREAM })).toEqual([[4, aio.SOCK_STREAM, aio.IPPROTO_TCP, '', [HOST, 80]]]);
      const both = await loop.getaddrinfo(HOST, '53');
      expect(both).toEqual([
        [4, aio.SOCK_STREAM, aio.IPPROTO_TCP, '', [HOST, 53]],
        [4, aio.SOCK_DGRAM, aio.IPPROTO_UDP, '', [HOST, 53]],
      ]);
      const lh = await loop.getaddrinfo('localhost', null, { family: 4 });
      expect(lh.every((a) => a[0] === 4)).toBe(true);
      expect(lh.map((a) => a[4][0])).toContain('127.0.0.1');
      await expect(loop.getaddrinfo('no-such-host.invalid', 80)).rejects.toMatchObject({ code: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) });
      expect(await loop.getnameinfo([HOST, 80], aio.NI_NUMERICHOST | aio.NI_NUMERICSERV)).toEqual([HOST, '80']);
      const [name, serv] = await loop.getnameinfo([HOST, 22]);
      expect(typeof name).toBe('string');
      expect(typeof serv).toBe('string'); // 'ssh' where /etc/services lists it
      expect(() => loop.getnameinfo(['localhost', 80])).toThrow(TypeError);
    });
  });

  test('bad arguments throw TypeError/RangeError naming the argument', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(() => loop.createConnection(() => ({}), HOST, 70000)).toThrow(RangeError);
      expect(() => loop.createConnection(() => ({}), HOST, 70000)).toThrow(/port/);
      expect(() => loop.createConnection('nope' as any, HOST, 80)).toThrow(/protocolFactory must be a function/);
      expect(() => loop.createConnection(() => ({}), 5 as any, 80)).toThrow(/host must be a string/);
      expect(() => loop.createServer(() => ({}), HOST, -1)).toThrow(RangeError);
      expect(() => loop.createServer(null as any, HOST, 0)).toThrow(TypeError);
      expect(() => loop.createServer(() => ({}), HOST, 0, { backlog: -1 })).toThrow(/backlog/);
      expect(() => loop.createUnixServer(() => ({}), 3 as any)).toThrow(/path must be a string/);
      expect(() => loop.createDatagramEndpoint(() => ({}), {})).toThrow(TypeError);
      expect(() => loop.createDatagramEndpoint(() => ({}), { localAddr: [HOST, 99999] })).toThrow(RangeError);
      expect(() => loop.getaddrinfo(HOST, 'http')).toThrow(/port/);

      const server = await loop.createServer(() => echoProtocol(), HOST, 0);
      const [tr, c] = await loop.createConnection(() => new Collector(), HOST, port(server));
      expect(() => tr.write('text' as any)).toThrow(/data must be a Buffer/);
      expect(() => tr.setWriteBufferLimits(1, 2)).toThrow(RangeError);
      expect(() => tr.setWriteBufferLimits('1' as any)).toThrow(TypeError);
      tr.setWriteBufferLimits(undefined, 1000);
      expect(tr.getWriteBufferLimits()).toEqual([1000, 4000]);
      tr.setWriteBufferLimits(100);
      expect(tr.getWriteBufferLimits()).toEqual([25, 100]);
      tr.close();
      await c.done;
      server.close();
      await server.waitClosed();
    });
  });

  test('an exception in dataReceived goes to the exception handler and closes the connection', async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const lost = loop.createFuture<Error | null>();
      const server = await loop.createServer(() => ({
        dataReceived() {
          throw new Error('boom');
        },
        connectionLost: (e: Error | null) => lost.setResult(e),
      }), HOST, 0);
      const [tr, c] = await loop.createConnection(() => new Collector(), HOST, port(server));
      tr.write(Buffer.from('x'));
      expect(((await lost) as Error).message).toBe('boom');
      await c.done;
      server.close();
      await server.waitClosed();
    }, { allowErrors: true, errors });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/dataReceived/);
  });

  test('localAddr binds the client; a cancelled connect leaves nothing behind', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const made: string[] = [];
      const server = await loop.createServer(() => ({ ...echoProtocol(), connectionMade: () => void made.push('s') }), HOST, 0);
      const [tr, c] = await loop.createConnection(() => new Collector(), HOST, port(server), { localAddr: [HOST, 0], noDelay: false });
      expect((tr.getExtraInfo('sockname') as [string, number])[0]).toBe(HOST);
      tr.close();
      await c.done;
      const pending = loop.createConnection(() => new Collector(), HOST, port(server));
      pending.cancel();
      await aio.sleep(0.05);
      expect(pending.cancelled()).toBe(true);
      server.close();
      server.closeClients();
      await server.waitClosed();
    });
  });

  test('a localAddr that cannot be bound fails with syscall bind and the local address, as Node says it', async () => {
    const errs = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => echoProtocol(), HOST, 0);
      const out: NodeJS.ErrnoException[] = [];
      // 192.0.2.1 (TEST-NET-1) is on no interface of this host; a port in use fails bind too
      // (libuv defers that EADDRINUSE to the connect: the native loop checks as node:net does).
      for (const localAddr of [['192.0.2.1', 0], [HOST, port(server)]] as [string, number][]) {
        try {
          await loop.createConnection(() => new Collector(), HOST, port(server), { localAddr });
        } catch (e) {
          out.push(e as NodeJS.ErrnoException);
        }
      }
      server.close();
      await server.waitClosed();
      return out.map((e) => ({ code: e.code, syscall: e.syscall, address: (e as { address?: string }).address, port: (e as { port?: number }).port, message: e.message }));
    });
    expect(errs).toHaveLength(2);
    expect(errs[0]).toEqual({ code: 'EADDRNOTAVAIL', syscall: 'bind', address: '192.0.2.1', port: undefined, message: 'bind EADDRNOTAVAIL 192.0.2.1' });
    expect(errs[1]).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', address: HOST });
    expect(errs[1]!.message).toBe(`bind EADDRINUSE ${HOST}:${errs[1]!.port}`);
  });

  test('setProtocol switches the receiving protocol', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => echoProtocol(), HOST, 0);
      const [tr, c] = await loop.createConnection(() => new Collector(), HOST, port(server));
      const other = new Collector();
      tr.setProtocol(other);
      expect(tr.getProtocol()).toBe(other);
      tr.write(Buffer.from('to other'));
      tr.writeEof();
      await other.done;
      expect(other.data.toString()).toBe('to other');
      expect(c.chunks).toEqual([]);
      server.close();
      await server.waitClosed();
    });
  });
});
