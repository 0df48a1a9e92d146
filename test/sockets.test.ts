/**
 * The low-level socket API (SPEC "low-level sockets") on every loop: `socket()` and `Socket`, and
 * the loop's sock* methods. The native loop's sockets are real OS sockets (native/socket.cc), the
 * pure loop's node:net/node:dgram ones (loops/pure/sock.ts): one test body for both. Network:
 * 127.0.0.1 / ::1, port 0.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { LOOPS, eachLoop } from './loops.js';
import { HAS_IPV6 } from './ipv6.js';

const LOOPS_NATIVE = LOOPS.some((l) => l.name === 'native');
import { Collector } from './protocols.js';


/** A listening socket on 127.0.0.1 and its port. */
function listener(): [aio.Socket, number] {
  const s = aio.socket(aio.AF_INET, aio.SOCK_STREAM);
  s.setblocking(false);
  s.bind(['127.0.0.1', 0]);
  s.listen();
  return [s, (s.getsockname() as [string, number])[1]];
}

/** A connected pair: [client, server side]. */
async function pair(): Promise<[aio.Socket, aio.Socket]> {
  const loop = aio.getRunningLoop();
  const [l, port] = listener();
  const c = aio.socket();
  c.setblocking(false);
  const accepted = loop.sockAccept(l);
  await loop.sockConnect(c, ['127.0.0.1', port]);
  const [s] = await accepted;
  l.close();
  return [c, s];
}

async function recvAll(sock: aio.Socket, n: number): Promise<Buffer> {
  const loop = aio.getRunningLoop();
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    const b = await loop.sockRecv(sock, 65536);
    if (b.length === 0) break;
    parts.push(b);
    got += b.length;
  }
  return Buffer.concat(parts);
}

eachLoop((lc) => {
  test('echo through sockAccept / sockConnect / sockRecv / sockSendall', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [l, port] = listener();
      expect(l.family).toBe(aio.AF_INET);
      expect(l.type).toBe(aio.SOCK_STREAM);
      const server = (async () => {
        const [conn, addr] = await loop.sockAccept(l);
        expect(addr[0]).toBe('127.0.0.1');
        for (;;) {
          const data = await loop.sockRecv(conn, 1024);
          if (data.length === 0) break;
          await loop.sockSendall(conn, data);
        }
        conn.close();
      })();
      const c = aio.socket();
      c.setblocking(false);
      await loop.sockConnect(c, ['127.0.0.1', port]);
      expect(c.getpeername()).toEqual(['127.0.0.1', port]);
      expect((c.getsockname() as [string, number])[0]).toBe('127.0.0.1');
      await loop.sockSendall(c, 'hello');
      expect((await loop.sockRecv(c, 100)).toString()).toBe('hello');
      c.shutdown(aio.SHUT_WR);
      expect((await loop.sockRecv(c, 100)).length).toBe(0);
      await server;
      c.close();
      l.close();
    }));

  test('sockRecv returns at most n bytes, in order; sockRecvInto fills a buffer', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [c, s] = await pair();
      await loop.sockSendall(c, Buffer.from('abcdefghij'));
      let got = '';
      while (got.length < 10) {
        const b = await loop.sockRecv(s, 3);
        expect(b.length).toBeLessThanOrEqual(3);
        got += b.toString();
      }
      expect(got).toBe('abcdefghij');
      await loop.sockSendall(c, 'xyz');
      const buf = Buffer.alloc(8);
      const n = await loop.sockRecvInto(s, buf);
      expect(buf.subarray(0, n).toString()).toBe('xyz'.slice(0, n));
      expect(await loop.sockRecv(s, 0)).toEqual(Buffer.alloc(0));
      c.close();
      // EOF: an empty Buffer, and 0 from sockRecvInto.
      let rest = n;
      while (rest < 3) rest += (await loop.sockRecv(s, 10)).length;
      expect((await loop.sockRecv(s, 10)).length).toBe(0);
      expect(await loop.sockRecvInto(s, buf)).toBe(0);
      s.close();
    }));

  test('a 10 MB sockSendall arrives whole and in order', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [c, s] = await pair();
      const data = randomBytes(10 * 1024 * 1024);
      const sent = loop.sockSendall(c, data);
      const got = await recvAll(s, data.length);
      await sent;
      expect(got.length).toBe(data.length);
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      c.close();
      s.close();
    }));

  test('a cancelled sockRecv / sockAccept loses nothing', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [l, port] = listener();
      const pending = loop.sockAccept(l);
      await aio.sleep(0.01);
      pending.cancel();
      const c = aio.socket();
      c.setblocking(false);
      await loop.sockConnect(c, ['127.0.0.1', port]);
      const [s] = await loop.sockAccept(l);
      const r = loop.sockRecv(s, 100);
      await aio.sleep(0.01);
      r.cancel();
      await loop.sockSendall(c, 'after');
      expect((await loop.sockRecv(s, 100)).toString()).toBe('after');
      // Cancelled by a timeout while waiting: the next recv still gets the data.
      await expect(aio.waitFor(loop.sockRecv(s, 100), 0.02)).rejects.toBeInstanceOf(aio.TimeoutError);
      await loop.sockSendall(c, 'later');
      expect((await loop.sockRecv(s, 100)).toString()).toBe('later');
      c.close();
      s.close();
      l.close();
    }));

  test('closing a socket rejects its pending sockRecv with EBADF; close is idempotent; dispose closes', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [c, s] = await pair();
      const r = loop.sockRecv(s, 10);
      await aio.sleep(0.01);
      s.close();
      await expect(r).rejects.toMatchObject({ code: 'EBADF' });
      s.close();
      expect(s.fileno()).toBe(-1);
      expect(() => s.getsockname()).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect(() => loop.sockRecv(s, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      {
        using d = c;
        expect(d.closed).toBe(false);
      }
      expect(c.closed).toBe(true);
    }));

  test('connect refused: ECONNREFUSED with code, errno, syscall', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [l, port] = listener();
      l.close();
      const c = aio.socket();
      c.setblocking(false);
      const e = await loop.sockConnect(c, ['127.0.0.1', port]).then(
        () => null,
        (x: NodeJS.ErrnoException) => x,
      );
      expect(e).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
      expect(typeof e!.errno).toBe('number');
      c.close();
    }));

  test('bind to a port in use: EADDRINUSE from bind() or listen()', () =>
    lc.run(async () => {
      const [l, port] = listener();
      const s = aio.socket();
      const e = (() => {
        try {
          s.bind(['127.0.0.1', port]);
          s.listen();
          return null;
        } catch (x) {
          return x as NodeJS.ErrnoException;
        }
      })();
      expect(e).toMatchObject({ code: 'EADDRINUSE' });
      expect(typeof e!.errno).toBe('number');
      expect(typeof e!.syscall).toBe('string');
      s.close();
      l.close();
    }));

  test('UDP: sockSendto / sockRecvfrom on IPv4 and IPv6', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const families: [number, string][] = [[aio.AF_INET, '127.0.0.1']];
      if (HAS_IPV6) families.push([aio.AF_INET6, '::1']);
      for (const [family, host] of families) {
        const a = aio.socket(family, aio.SOCK_DGRAM);
        const b = aio.socket(family, aio.SOCK_DGRAM);
        a.setblocking(false);
        b.setblocking(false);
        a.bind([host, 0]);
        b.bind([host, 0]);
        const [, pa] = a.getsockname() as [string, number];
        const [, pb] = b.getsockname() as [string, number];
        expect(pa).toBeGreaterThan(0);
        const got = loop.sockRecvfrom(b, 100);
        expect(await loop.sockSendto(a, 'ping', [host, pb])).toBe(4);
        const [data, from] = await got;
        expect(data.toString()).toBe('ping');
        expect(from).toEqual([host, pa]);
        // A datagram longer than n is cut to n.
        await loop.sockSendto(b, Buffer.alloc(50, 1), [host, pa]);
        const [cut] = await loop.sockRecvfrom(a, 10);
        expect(cut.length).toBe(10);
        a.close();
        b.close();
      }
    }));

  test('AF_UNIX stream sockets', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aloop-sock-'));
      const p = path.join(dir, 's');
      try {
        const l = aio.socket(aio.AF_UNIX, aio.SOCK_STREAM);
        l.setblocking(false);
        l.bind(p);
        l.listen();
        expect(l.getsockname()).toBe(p);
        const c = aio.socket(aio.AF_UNIX);
        c.setblocking(false);
        const acc = loop.sockAccept(l);
        await loop.sockConnect(c, p);
        const [s] = await acc;
        await loop.sockSendall(c, 'unix');
        expect((await loop.sockRecv(s, 10)).toString()).toBe('unix');
        await loop.sockSendall(s, 'back');
        expect((await loop.sockRecv(c, 10)).toString()).toBe('back');
        c.close();
        s.close();
        l.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }));

  test('bad arguments: TypeError / RangeError naming the argument', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(() => aio.socket(99)).toThrow(RangeError);
      expect(() => aio.socket('x' as never)).toThrow(TypeError);
      expect(() => aio.socket(aio.AF_INET, 7)).toThrow(RangeError);
      const s = aio.socket();
      expect(() => s.bind('x' as never)).toThrow(/address/);
      expect(() => s.bind(['127.0.0.1', 70000])).toThrow(RangeError);
      expect(() => s.setblocking(0 as never)).toThrow(TypeError);
      expect(() => s.shutdown(5)).toThrow(RangeError);
      expect(() => s.listen(-1)).toThrow(RangeError);
      expect(() => loop.sockRecv({} as never, 1)).toThrow(/sock must be a Socket/);
      expect(() => loop.sockRecv(s, -1)).toThrow(RangeError);
      expect(() => loop.sockRecv(s, 1.5)).toThrow(RangeError);
      expect(() => loop.sockRecv(s, '1' as never)).toThrow(TypeError);
      expect(() => loop.sockRecvInto(s, 'no' as never)).toThrow(/buf/);
      expect(() => loop.sockSendall(s, 5 as never)).toThrow(/data/);
      expect(() => loop.sockConnect(s, ['127.0.0.1'] as never)).toThrow(TypeError);
      s.close();
    }));

  test('debug mode: a blocking socket is refused, as asyncio does', () =>
    lc.run(
      async () => {
        const loop = aio.getRunningLoop();
        const s = aio.socket();
        expect(() => loop.sockRecv(s, 1)).toThrow(/must be non-blocking/);
        s.setblocking(false);
        expect(s.getblocking()).toBe(false);
        s.close();
      },
      { debug: true },
    ));

  test('fileno: an fd on the native loop; close makes it -1', () =>
    lc.run(async () => {
      const [l] = listener();
      if (lc.name === 'native') expect(l.fileno()).toBeGreaterThan(2);
      else expect(typeof l.fileno()).toBe('number');
      l.close();
      expect(l.fileno()).toBe(-1);
    }));
  test('concurrent sockSendall calls keep their order; concurrent sockRecv calls are served in call order', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [c, s] = await pair();
      const a = Buffer.alloc(4 * 1024 * 1024, 'a');
      const b = Buffer.alloc(1024, 'b');
      const sends = [loop.sockSendall(c, a), loop.sockSendall(c, b)];
      const got = await recvAll(s, a.length + b.length);
      await aio.gather(...sends);
      expect(got.length).toBe(a.length + b.length);
      expect(got.subarray(0, a.length).every((x) => x === 0x61)).toBe(true);
      expect(got.subarray(a.length).toString()).toBe(b.toString());
      const r1 = loop.sockRecv(s, 2);
      const r2 = loop.sockRecv(s, 2);
      await loop.sockSendall(c, 'wxyz');
      expect((await r1).toString() + (await r2).toString()).toBe('wxyz');
      c.close();
      s.close();
    }));

  test('bind() before sockConnect: the client connects from that address', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [l, port] = listener();
      const c = aio.socket();
      c.setblocking(false);
      c.bind(['127.0.0.1', 0]);
      const local = c.getsockname() as [string, number];
      expect(local[1]).toBeGreaterThan(0);
      const acc = loop.sockAccept(l);
      await loop.sockConnect(c, ['127.0.0.1', port]);
      const [s, peer] = await acc;
      expect(peer).toEqual(local);
      expect(c.getsockname()).toEqual(local);
      c.close();
      s.close();
      l.close();
    }));

  test('{ sock }: createConnection wraps a connected Socket; the Socket is detached', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [c, s] = await pair();
      await loop.sockSendall(s, 'early');
      await aio.sleep(0.02);
      const [tr, proto] = await loop.createConnection(() => new Collector(), undefined as never, undefined as never, { sock: c });
      expect(c.closed).toBe(true);
      expect(() => loop.sockRecv(c, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect((tr.getExtraInfo('peername') as [string, number])[0]).toBe('127.0.0.1');
      tr.write(Buffer.from('to server'));
      expect((await loop.sockRecv(s, 100)).toString()).toBe('to server');
      await loop.sockSendall(s, 'late');
      s.close();
      await proto.done;
      expect(proto.data.toString()).toBe('earlylate');
    }));

  test('{ sock }: createServer serves on a bound Socket; host/port with sock is refused', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const ls = aio.socket();
      ls.bind(['127.0.0.1', 0]);
      const port = (ls.getsockname() as [string, number])[1];
      await expect(async () => loop.createServer(() => new Collector(), '127.0.0.1', 0, { sock: ls })).rejects.toThrow(/host\/port and sock can not be specified/);
      const server = await loop.createServer(
        () => {
          let t: aio.Transport;
          return { connectionMade: (x: aio.Transport) => void (t = x), dataReceived: (d: Buffer) => t.write(d) };
        },
        null,
        null,
        { sock: ls },
      );
      expect(ls.closed).toBe(true);
      expect(server.sockets[0]!.getsockname()).toEqual(['127.0.0.1', port]);
      const c = aio.socket();
      c.setblocking(false);
      await loop.sockConnect(c, ['127.0.0.1', port]);
      await loop.sockSendall(c, 'echo me');
      expect((await loop.sockRecv(c, 100)).toString()).toBe('echo me');
      c.close();
      server.close();
      await server.waitClosed();
    }));

  test('{ sock }: createDatagramEndpoint on a bound SOCK_DGRAM Socket', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const us = aio.socket(aio.AF_INET, aio.SOCK_DGRAM);
      us.bind(['127.0.0.1', 0]);
      const addr = us.getsockname() as [string, number];
      await expect(async () => loop.createDatagramEndpoint(() => ({}), { sock: us, localAddr: ['127.0.0.1', 0] })).rejects.toThrow(/modifier/);
      const got = loop.createFuture<[Buffer, aio.Address]>();
      const [tr] = await loop.createDatagramEndpoint(() => ({ datagramReceived: (d: Buffer, a: aio.Address) => void (got.done() || got.setResult([d, a])) }), { sock: us });
      expect(us.closed).toBe(true);
      expect(tr.getExtraInfo('sockname')).toEqual(addr);
      const other = aio.socket(aio.AF_INET, aio.SOCK_DGRAM);
      other.bind(['127.0.0.1', 0]);
      await loop.sockSendto(other, 'dgram', addr);
      const [d, from] = await got;
      expect(d.toString()).toBe('dgram');
      expect(from).toEqual(other.getsockname());
      other.close();
      tr.close();
      await aio.sleep(0.01);
    }));

  test('{ sock }: createUnixServer and createUnixConnection with AF_UNIX Sockets', () =>
    lc.run(async () => {
      const loop = aio.getRunningLoop();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aloop-sock-'));
      const p = path.join(dir, 's');
      try {
        const ls = aio.socket(aio.AF_UNIX);
        ls.bind(p);
        const server = await loop.createUnixServer(
          () => {
            let t: aio.Transport;
            return { connectionMade: (x: aio.Transport) => void (t = x), dataReceived: (d: Buffer) => t.write(d) };
          },
          undefined as never,
          { sock: ls },
        );
        const c = aio.socket(aio.AF_UNIX);
        c.setblocking(false);
        await loop.sockConnect(c, p);
        const [tr, proto] = await loop.createUnixConnection(() => new Collector(), undefined as never, { sock: c });
        tr.write(Buffer.from('over unix'));
        while (proto.data.length < 9) await aio.sleep(0.005);
        expect(proto.data.toString()).toBe('over unix');
        tr.close();
        await proto.done;
        server.close();
        await server.waitClosed();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }));
});

test('a socket of one loop kind is refused by the other, saying why', async () => {
  const { LOOPS } = await import('./loops.js');
  if (LOOPS.length < 2) return;
  const [pure, native] = LOOPS as [(typeof LOOPS)[0], (typeof LOOPS)[0]];
  const s = await pure.run(async () => aio.socket());
  await native.run(async () => {
    expect(() => aio.getRunningLoop().sockRecv(s, 1)).toThrow(/made for the pure loop/);
  });
  s.close();
});

test('sockets left open keep no process alive (an operation waiting does), on both loops', () => {
  const root = path.resolve(import.meta.dirname, '..');
  for (const which of ['pure', 'native']) {
    if (which === 'native' && LOOPS_NATIVE === false) continue;
    const script = `
      import * as net from 'node:net';
      import * as aio from ${JSON.stringify(path.join(root, 'dist/index.js'))};
      import * as native from ${JSON.stringify(path.join(root, 'dist/native.js'))};
      const main = async () => {
        const loop = aio.getRunningLoop();
        const l = aio.socket(); l.bind(['127.0.0.1', 0]); l.listen();
        const u = aio.socket(aio.AF_INET, aio.SOCK_DGRAM); u.bind(['127.0.0.1', 0]);
        const port = l.getsockname()[1];
        setTimeout(() => { const s = net.connect(port, '127.0.0.1', () => s.write('hi')); s.unref(); }, 200).unref();
        const [c] = await loop.sockAccept(l);
        console.log(String(await loop.sockRecv(c, 10)));
      };
      await (${JSON.stringify(which)} === 'native' ? native.run(main) : aio.run(main));
      console.log('exited');`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }).toString();
    expect(out.trim().split('\n')).toEqual(['hi', 'exited']);
  }
});
