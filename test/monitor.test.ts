/**
 * monitor(): its JSON (tasks, stats), the call-graph text, cancelling, and what it refuses
 * (a foreign Host, a missing token, a cancel without its header, bad requests), on every loop.
 * The page itself is driven in a real browser in monitor-page.test.ts.
 */
import { describe, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

/** Sends `request` as is on a new connection; the whole response (the monitor closes after it). */
async function raw(url: string, request: string): Promise<string> {
  const u = new URL(url);
  const [reader, writer] = await aio.openConnection(u.hostname, Number(u.port));
  writer.write(Buffer.from(request, 'latin1'));
  const out = await aio.waitFor(reader.read(-1), 10);
  writer.close();
  return out.toString('latin1');
}

/** A known tree: `parent` gathers `child-a` and `child-b`, which sleep; `lone` sleeps alone. */
function startTree(): { parent: aio.Task<unknown>; lone: aio.Task<unknown> } {
  async function child() {
    await aio.sleep(3600);
  }
  const parent = aio.createTask(
    async function parentFn() {
      await aio.gather(aio.createTask(child, { name: 'child-a' }), aio.createTask(child, { name: 'child-b' }));
    },
    { name: 'parent' },
  );
  const lone = aio.createTask(
    function* loneFn(): aio.Coro<void> {
      yield* aio.sleep(3600);
    },
    { name: 'lone' },
  );
  return { parent, lone };
}

async function getJson(url: string): Promise<any> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return r.json();
}

eachLoop((lc) => {
  describe('monitor', () => {
    test('GET tasks: the live tasks with their state, age, awaits and awaiters; the monitor\'s own are not listed', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor();
        try {
          expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
          const { parent, lone } = startTree();
          await aio.sleep(0.05);
          const tasks: aio.TaskInfo[] = await getJson(`${m.url}tasks`);
          const by = new Map(tasks.map((t) => [t.name, t]));
          const p = by.get('parent')!;
          const a = by.get('child-a')!;
          const b = by.get('child-b')!;
          const l = by.get('lone')!;
          const mainTask = tasks.find((t) => t.coro === 'main')!;
          expect(tasks.map((t) => t.name).sort()).toEqual([mainTask.name, 'child-a', 'child-b', 'lone', 'parent'].sort());
          // main is the one running the request: it awaits fetch's Promise, not a loop Future.
          expect(mainTask.state).toBe('suspended');
          expect(p).toMatchObject({ state: 'waiting', form: 'async', coro: 'parentFn', cancelling: 0, awaitedBy: [] });
          expect(p.awaits.map((x) => [x.kind, x.detail])).toEqual([['gather', 'gather of 2 (0 done)']]);
          expect(a).toMatchObject({ state: 'waiting', coro: 'child', awaitedBy: [p.id] });
          expect(b.awaitedBy).toEqual([p.id]);
          expect(a.awaits[0]!.kind).toBe('sleep');
          expect(a.awaits[0]!.detail).toMatch(/^sleep, due in 3\d{3}\.\d{3} s$/);
          expect(l).toMatchObject({ state: 'waiting', form: 'generator', coro: 'loneFn', awaitedBy: [] });
          expect(l.callStack).toEqual([{ name: 'loneFn', kind: 'generator', fileName: null, lineNumber: null, columnNumber: null }]);
          for (const t of tasks) {
            expect(t.age).toBeGreaterThanOrEqual(0);
            expect(t.age).toBeLessThan(60);
            expect(t.createdAt).toBeNull();
            expect(new Set(tasks.map((x) => x.id)).size).toBe(tasks.length);
          }
          // The ids are stable from one request to the next.
          const again: aio.TaskInfo[] = await getJson(`${m.url}tasks`);
          expect(again.find((t) => t.name === 'parent')!.id).toBe(p.id);
          parent.cancel();
          lone.cancel();
        } finally {
          await m.close();
        }
      });
    });

    test('GET stats: counts, iterations, the probe\'s rate and lag', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor({ interval: 0.05 });
        try {
          const { parent, lone } = startTree();
          await aio.sleep(0.3);
          const s: aio.LoopStats = await getJson(`${m.url}stats`);
          expect(s.type).toBe(lc.name === 'pure' ? 'PureEventLoop' : 'NativeEventLoop');
          expect(s).toMatchObject({ running: true, closed: false, debug: false });
          expect(s.tasks).toBe(5); // main, parent, child-a, child-b, lone
          expect(s.timers).toBeGreaterThanOrEqual(3); // three sleeps and the probe
          expect(s.ready).toBeGreaterThanOrEqual(0);
          expect(s.iterations).toBeGreaterThan(3);
          expect(s.iterationsPerSecond).toBeGreaterThan(0);
          expect(s.lag!.history.length).toBeGreaterThan(1);
          expect(s.lag!.timerMs).toBeGreaterThanOrEqual(0);
          expect(s.lag!.history.some((h) => typeof h.callSoonMs === 'number')).toBe(true);
          // The pure loop's sockets are Node's; the native loop's are its own libuv handles.
          if (lc.name === 'native') expect(s.handles.native).toBeGreaterThan(0);
          else {
            expect(s.handles.node).toHaveProperty('TCPServerWrap');
            expect(s.handles.native).toBeNull();
          }
          expect(s.slowCallbacks).toEqual({ threshold: 0.1, count: 0, recent: [] });
          parent.cancel();
          lone.cancel();
        } finally {
          await m.close();
        }
      });
    });

    test('debug mode: slow callbacks, and where each task was made', async () => {
      await lc.run(
        async function main() {
          const loop = aio.getRunningLoop();
          loop.slowCallbackDuration = 0.02;
          const m = await aio.monitor();
          try {
            const sleeper = aio.createTask(async function napper() {
              await aio.sleep(3600);
            });
            await aio.createTask(
              function* hog(): aio.Coro<void> {
                const end = performance.now() + 40;
                while (performance.now() < end);
              },
              { name: 'hog' },
            );
            const s: aio.LoopStats = await getJson(`${m.url}stats`);
            expect(s.debug).toBe(true);
            expect(s.slowCallbacks.count).toBeGreaterThanOrEqual(1);
            expect(s.slowCallbacks.recent.some((c) => c.what.includes("name=\"hog\"") && c.seconds >= 0.02)).toBe(true);
            const tasks: aio.TaskInfo[] = await getJson(`${m.url}tasks`);
            const info = tasks.find((t) => t.coro === 'napper');
            expect(info, JSON.stringify(tasks)).toBeDefined();
            expect(info!.createdAt![0]!.name).toBe('main');
            expect(info!.createdAt![0]!.fileName).toMatch(/monitor\.test\.ts$/);
            sleeper.cancel();
          } finally {
            await m.close();
          }
        },
        { debug: true },
      );
    });

    test('GET tasks/{id}/graph and POST tasks/{id}/cancel', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor();
        try {
          const { parent, lone } = startTree();
          await aio.sleep(0);
          const tasks: aio.TaskInfo[] = await getJson(`${m.url}tasks`);
          const a = tasks.find((t) => t.name === 'child-a')!;
          const g = await fetch(`${m.url}tasks/${a.id}/graph`);
          expect(g.headers.get('content-type')).toBe('text/plain; charset=utf-8');
          const text = await g.text();
          expect(text).toMatch(/^\* Task\(name='child-a', id=0x[0-9a-f]+\)\n {2}\+ Call stack:\n {2}\| {3}in async child\(\)\n/);
          expect(text).toContain("    * Task(name='parent'");

          const l = tasks.find((t) => t.name === 'lone')!;
          expect((await fetch(`${m.url}tasks/${l.id}/cancel`, { method: 'POST' })).status).toBe(403);
          expect((await fetch(`${m.url}tasks/${l.id}/cancel`)).status).toBe(405);
          const c = await fetch(`${m.url}tasks/${l.id}/cancel`, { method: 'POST', headers: { 'X-Aloop-Monitor': 'cancel' } });
          expect(await c.json()).toEqual({ id: l.id, cancelled: true });
          await expect(lone).rejects.toThrow(aio.CancelledError);
          expect(lone.cancelled()).toBe(true);
          // Gone from the list, and no longer found.
          const after: aio.TaskInfo[] = await getJson(`${m.url}tasks`);
          expect(after.some((t) => t.name === 'lone')).toBe(false);
          expect((await fetch(`${m.url}tasks/${l.id}/graph`)).status).toBe(404);
          expect((await fetch(`${m.url}tasks/999999/cancel`, { method: 'POST', headers: { 'X-Aloop-Monitor': '1' } })).status).toBe(404);
          parent.cancel();
        } finally {
          await m.close();
        }
      });
    });

    test('GET {url} is the page, under a CSP that allows only its own script', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor();
        try {
          const r = await fetch(m.url);
          expect(r.status).toBe(200);
          expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
          const csp = r.headers.get('content-security-policy')!;
          const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
          const html = await r.text();
          expect(html).toContain(`<script nonce="${nonce}">`);
          expect(html).toContain('<title>aloop monitor</title>');
          const head = await raw(m.url, `HEAD / HTTP/1.1\r\nHost: ${new URL(m.url).host}\r\nConnection: close\r\n\r\n`);
          expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
          expect(head.endsWith('\r\n\r\n')).toBe(true);
        } finally {
          await m.close();
        }
      });
    });

    test('requests: kept alive, a foreign Host refused, bad requests answered 400, unknown paths 404', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor();
        try {
          const host = new URL(m.url).host;
          const two = await raw(m.url, `GET /stats HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /tasks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
          expect(two.match(/HTTP\/1\.1 200 OK/g)!.length).toBe(2);
          expect(two).toContain('Connection: keep-alive');
          const rebound = await raw(m.url, 'GET /tasks HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n');
          expect(rebound).toMatch(/^HTTP\/1\.1 403 /);
          expect(await raw(m.url, 'NONSENSE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
          expect(await raw(m.url, `GET /tasks HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n`)).toMatch(/^HTTP\/1\.1 501 /);
          expect((await fetch(`${m.url}nothing`)).status).toBe(404);
          expect((await fetch(`${m.url}tasks`, { method: 'DELETE' })).status).toBe(405);
        } finally {
          await m.close();
        }
      });
    });

    test('a token puts every URL under a secret path; off loopback one is made up', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor({ token: 'secret-token-1' });
        try {
          expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/secret-token-1\/$/);
          const root = m.url.replace('secret-token-1/', '');
          expect((await fetch(`${root}tasks`)).status).toBe(404);
          expect((await fetch(`${root}secret-token-2/tasks`)).status).toBe(404);
          expect((await fetch(`${m.url}tasks`)).status).toBe(200);
        } finally {
          await m.close();
        }
        const open = await aio.monitor({ host: '0.0.0.0' });
        try {
          const token = /^http:\/\/0\.0\.0\.0:\d+\/([A-Za-z0-9_-]{8,})\/$/.exec(open.url)![1]!;
          const port = new URL(open.url).port;
          expect((await fetch(`http://127.0.0.1:${port}/tasks`)).status).toBe(404);
          // Off loopback the token is the guard: any Host may ask with it.
          const ok = await raw(open.url.replace('0.0.0.0', '127.0.0.1'), `GET /${token}/stats HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n`);
          expect(ok).toMatch(/^HTTP\/1\.1 200 /);
        } finally {
          await open.close();
        }
      });
    });

    test('close(): stops listening; the same Future twice; asyncDispose', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor();
        const port = Number(new URL(m.url).port);
        const f = m.close();
        expect(m.close()).toBe(f);
        await f;
        await expect(aio.openConnection('127.0.0.1', port)).rejects.toThrow();
        {
          await using m2 = await aio.monitor();
          expect((await fetch(`${m2.url}stats`)).status).toBe(200);
        }
      });
    });

    test('bad options: TypeError naming the option, RangeError for bad values', async () => {
      await lc.run(async function main() {
        expect(() => aio.monitor(5 as never)).toThrow(TypeError);
        expect(() => aio.monitor({ port: 'x' as never })).toThrow(/port must be a number/);
        expect(() => aio.monitor({ port: 70000 })).toThrow(RangeError);
        expect(() => aio.monitor({ host: '' })).toThrow(/host/);
        expect(() => aio.monitor({ token: 5 as never })).toThrow(TypeError);
        expect(() => aio.monitor({ token: 'short' })).toThrow(RangeError);
        expect(() => aio.monitor({ token: 'has space in it' })).toThrow(RangeError);
        expect(() => aio.monitor({ interval: 0 })).toThrow(RangeError);
        expect(() => aio.monitor({ interval: '1' as never })).toThrow(/interval/);
      });
    });
  });
});
