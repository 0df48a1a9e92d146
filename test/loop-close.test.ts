/**
 * Closing a loop releases its sockets on every loop: after `run()` returns (or `loop.close()`)
 * with transports, servers or datagram endpoints left open, nothing of the loop keeps the process
 * alive, even while the peer keeps its end open (the native loop closes its libuv handles; the
 * pure loop its Node sockets). Each case runs in a child process (the built package, dist/) that
 * must exit on its own within a time bound; the peer lives in this process and never closes.
 * A server keeps the process alive while it serves, and only then, on both loops.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eachLoop } from './loops.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f: string) => JSON.stringify(pathToFileURL(path.join(root, 'dist', f)).href);

/** A peer that accepts and reads forever: it never closes a connection. */
let peer: net.Server;
const peerSockets = new Set<net.Socket>();
let peerPort = 0;

beforeAll(async () => {
  peer = net.createServer((s) => {
    peerSockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => peerSockets.delete(s));
  });
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  peerPort = (peer.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of peerSockets) s.destroy();
  await new Promise<void>((resolve) => peer.close(() => resolve()));
});

/** Runs `body` in a child on `loop`; resolves with its exit code (null: killed at the bound) and time. */
function child(loop: string, body: string, bound: number): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
  const script = `
    import * as aio from ${dist('index.js')};
    import * as nat from ${dist('native.js')};
    const factory = ${JSON.stringify(loop)} === 'native' ? () => new nat.NativeEventLoop() : () => new aio.PureEventLoop();
    const PORT = ${peerPort};
    ${body}
    console.log('returned');`;
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: bound }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
      const code = e === null ? 0 : e.killed ? null : typeof e.code === 'number' ? e.code : null;
      resolve({ code, ms: performance.now() - t0, stdout, stderr });
    });
  });
}

const CASES: [string, string][] = [
  [
    'run() returns with a client transport open',
    `await aio.run(async () => {
       const [t] = await aio.getRunningLoop().createConnection(() => ({}), '127.0.0.1', PORT);
       t.write(Buffer.from('still here'));
     }, { loopFactory: factory });`,
  ],
  [
    'run() returns with a stream pair and a server with a live connection open',
    `await aio.run(async () => {
       await aio.openConnection('127.0.0.1', PORT);
       const server = await aio.startServer(async () => {}, '127.0.0.1', 0);
       await aio.openConnection('127.0.0.1', server.sockets[0].getsockname()[1]);
       await aio.sleep(0.05);
     }, { loopFactory: factory });`,
  ],
  [
    'loop.close() with a transport and a datagram endpoint open',
    `const loop = factory();
     await loop.runUntilComplete(() => loop.createConnection(() => ({}), '127.0.0.1', PORT));
     await loop.runUntilComplete(() => loop.createDatagramEndpoint(() => ({}), { localAddr: ['127.0.0.1', 0] }));
     loop.close();`,
  ],
];

eachLoop((lc) => {
  for (const [name, body] of CASES) {
    test(`${name}: the process exits`, async () => {
      expect(existsSync(path.join(root, 'dist', 'index.js'))).toBe(true);
      // Node starts in ~50 ms here; 5 s only tolerates a loaded machine.
      const r = await child(lc.name, body, 5000);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('returned');
      expect(r.code).toBe(0);
    }, 15_000);
  }
});

eachLoop((lc) => {
  test('a serving server keeps the process alive; one made with startServing: false does not', async () => {
    const setup = (serve: boolean) => `
      const loop = factory();
      await loop.runUntilComplete(() => loop.createServer(() => ({}), '127.0.0.1', 0, { startServing: ${serve} }));
      console.log('listening');`;
    const serving = await child(lc.name, setup(true), 1500);
    expect(serving.stdout).toContain('listening');
    expect(serving.code).toBeNull(); // still running when killed at the bound
    const idle = await child(lc.name, setup(false), 5000);
    expect(idle.stdout).toContain('returned');
    expect(idle.code).toBe(0);
  }, 15_000);
});
