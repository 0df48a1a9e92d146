// The tutorial examples behave as the tutorial says. They run as separate processes against
// the built package (`npm test` builds first), on the default loop; those whose output does not
// depend on real time run on virtual time (`virtual`: the policy of test/fixtures/virtual-time-policy.mjs).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { expect, test } from 'vitest';
import { isAvailable } from '../src/native.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

async function example(name: string, env: Record<string, string> = {}, virtual = false, args: string[] = [], native = false): Promise<string> {
  const preload = virtual ? ['--import', path.join(root, 'test', 'fixtures', 'virtual-time-policy.mjs')] : [];
  if (native) preload.push('--import', path.join(root, 'test', 'fixtures', 'native-policy.mjs'));
  const { stdout } = await run(process.execPath, [...preload, path.join(root, 'examples', name), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  return stdout;
}

test('countasync: three One, then three Two, in about 1 s (not 3 s)', async () => {
  const out = await example('countasync.mjs');
  const lines = out.trim().split('\n');
  expect(lines.slice(0, 6)).toEqual(['One', 'One', 'One', 'Two', 'Two', 'Two']);
  const secs = Number(/executed in ([\d.]+) seconds/.exec(out)![1]);
  expect(secs).toBeGreaterThanOrEqual(0.99);
  expect(secs).toBeLessThan(2.5);
});

test('chained: chains run concurrently, total about the longest chain', async () => {
  const out = await example('chained.mjs', { SCALE: '0.05' });
  const chains = [...out.matchAll(/took ([\d.]+) seconds/g)].map((m) => Number(m[1]));
  expect(chains).toHaveLength(3);
  const total = Number(/Program finished in ([\d.]+) seconds/.exec(out)![1]);
  const longest = Math.max(...chains);
  expect(total).toBeGreaterThanOrEqual(longest - 0.01);
  expect(total).toBeLessThan(longest + 0.5);
  expect(total).toBeLessThan(chains.reduce((a, b) => a + b, 0));
});

test('rand: each makerandom finishes above its threshold', async () => {
  const out = await example('rand.mjs', {}, true);
  const m = /r1: (\d+), r2: (\d+), r3: (\d+)/.exec(out)!;
  expect(Number(m[1])).toBeGreaterThan(9);
  expect(Number(m[2])).toBeGreaterThan(8);
  expect(Number(m[3])).toBeGreaterThan(7);
});

test('callbacks: Hello World, then the date once a second until stop()', async () => {
  const out = await example('callbacks.mjs');
  const lines = out.trim().split('\n');
  expect(lines[0]).toBe('Hello World');
  const dates = lines.slice(1).map((l) => Date.parse(l));
  expect(dates.length).toBe(5);
  for (let i = 1; i < dates.length; i++) expect(dates[i]! - dates[i - 1]!).toBeGreaterThanOrEqual(990);
});

test('asyncq: every produced item is consumed, then consumers are cancelled and it ends', async () => {
  const out = await example('asyncq.mjs', {}, true);
  const added = [...out.matchAll(/added <(\w+)> to queue/g)].map((m) => m[1]).sort();
  const got = [...out.matchAll(/got element <(\w+)>/g)].map((m) => m[1]).sort();
  expect(got).toEqual(added);
  expect(out).toMatch(/Program completed in [\d.]+ seconds\./);
});

// The subprocess programs run on both loops (the native one through aloop/native's install();
// without the addon, test/loops.ts's suites already fail saying why).
for (const native of isAvailable() ? [false, true] : [false]) {
  const loop = native ? 'native' : 'pure';

  test(`subprocess-ls (${loop} loop): \`ls -l\` captured, and a failing ls reports its status and stderr`, async () => {
    const out = await example('subprocess-ls.mjs', {}, false, ['examples'], native);
    expect(out).toMatch(/\[ls -l 'examples'\] exited with 0\n\[stdout\]\ntotal \d+\n/);
    expect(out).toMatch(/-rw\S* .* subprocess-ls\.mjs\n/);
    expect(out).toMatch(/\[ls \/zzz-no-such-dir\] exited with [1-9]\d*\n\[stderr\]\nls: .*zzz-no-such-dir/);
  });

  test(`subprocess-lines (${loop} loop): each line arrives as the child prints it, 0.1 s apart`, async () => {
    const out = await example('subprocess-lines.mjs', {}, false, ['5'], native);
    const times = [...out.matchAll(/^([\d.]+) s: tick (\d)$/gm)].map((m) => Number(m[1]));
    expect(times).toHaveLength(5);
    // Spread over the child's 0.4 s of ticking, not delivered together at its exit.
    expect(times[4]! - times[0]!).toBeGreaterThan(0.3);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(out).toMatch(/child exited with 0 after/);
  });
}

test('sock-echo: the seed echo server on sockAccept/sockRecv/sockSendall echoes three clients, on both loops', async () => {
  for (const env of [{}, { ALOOP_NATIVE: '1' }]) {
    const out = await example('sock-echo.mjs', env);
    expect(out.trim().split('\n')).toEqual(['echoed: hello from a', 'echoed: hello from b', 'echoed: hello from c']);
  }
});
