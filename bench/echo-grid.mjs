// The echo grid of issue 10: every server × message size × connection count, interleaved rounds,
// medians of requests/s and of the server's CPU µs per request (server pinned to one core).
//
//   node bench/echo-grid.mjs [--sizes 1k,10k,100k] [--conns 10,100] [--rounds 3] [--duration 1]
//                            [--servers c-libuv,uvloop,asyncio,native,native-streams,pure,node]
//                            [--with name=path/to/echo-server.mjs:loop:mode] [--json]
//
// Servers: `c-libuv` (bench/echo_server_uv.c, needs libuv1-dev), `uvloop`/`asyncio`
// (bench/echo_server.py protocol mode, where Python has them), aloop's `native`/`pure` in protocol
// mode and `native-streams`, and `node` (plain node:net). `--with` adds another echo-server.mjs
// (e.g. an older checkout's) to compare builds in the same run. After the table it checks the
// issue's goals for each cell: native ≥ uvloop req/s and ≤ its CPU/request, native ≤ 1.15 × the
// C server's CPU/request, native ≥ pure ≥ node:net, native streams ≥ 1.2 × node:net.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { measure, uvServer } from './workloads/echo.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const opts = { sizes: '1k,10k,100k', conns: '10,100', rounds: 3, duration: 1, servers: 'c-libuv,uvloop,asyncio,native,native-streams,pure,node' };
const extra = [];
let json = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'json') json = true;
  else if (k === 'with') extra.push(argv[++i]);
  else if (k in opts) opts[k] = typeof opts[k] === 'number' ? Number(argv[++i]) : argv[++i];
  else {
    console.error(`echo-grid: unknown option ${argv[i]}`);
    process.exit(2);
  }
}

const node = process.execPath;
const echoServer = path.join(here, 'echo-server.mjs');
const python = '/usr/bin/python3';
const pyHas = (mod) => spawnSync(python, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
const known = {
  'c-libuv': () => (uvServer() ? [uvServer(), []] : null),
  uvloop: () => (pyHas('uvloop') ? [python, [path.join(here, 'echo_server.py'), '--mode', 'protocol', '--uvloop']] : null),
  asyncio: () => (pyHas('asyncio') ? [python, [path.join(here, 'echo_server.py'), '--mode', 'protocol']] : null),
  native: () => [node, [echoServer, '--loop', 'native', '--mode', 'protocol']],
  'native-streams': () => [node, [echoServer, '--loop', 'native', '--mode', 'streams']],
  pure: () => [node, [echoServer, '--loop', 'pure', '--mode', 'protocol']],
  node: () => [node, [echoServer, '--loop', 'node']],
};
const servers = [];
for (const name of opts.servers.split(',')) {
  const make = known[name];
  if (!make) throw new Error(`echo-grid: unknown server ${name}`);
  const cmd = make();
  if (cmd) servers.push([name, cmd]);
  else console.error(`(echo-grid: ${name} is not available here, left out)`);
}
for (const w of extra) {
  const [name, rest] = w.split('=');
  const [file, loop, mode] = rest.split(':');
  servers.push([name, [node, [path.resolve(file), '--loop', loop, '--mode', mode ?? 'protocol']]]);
}

const sizeBytes = { '1k': 1024, '10k': 10 * 1024, '100k': 100 * 1024 };
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const cells = [];
for (const size of opts.sizes.split(',')) {
  for (const conns of opts.conns.split(',').map(Number)) {
    const got = Object.fromEntries(servers.map(([n]) => [n, { rps: [], cpu: [], p99: [] }]));
    for (let r = 0; r < opts.rounds; r++) {
      // Interleaved: each round measures every server once, so drift hits all alike.
      for (const [name, [cmd, args]] of servers) {
        const m = await measure(cmd, args, conns, sizeBytes[size], { duration: opts.duration });
        got[name].rps.push(m.value);
        got[name].cpu.push(m.cpuUs);
        got[name].p99.push(m.p99);
      }
    }
    const cell = { size, conns, servers: {} };
    for (const [name] of servers) cell.servers[name] = { rps: median(got[name].rps), cpuUs: median(got[name].cpu), p99: median(got[name].p99) };
    cells.push(cell);
    if (!json) process.stderr.write(`  ${size} c${conns} done\n`);
  }
}

if (json) {
  console.log(JSON.stringify(cells, null, 2));
} else {
  console.log(`Node ${process.version}, ${opts.rounds} interleaved rounds of ${opts.duration} s per cell, medians; servers pinned to one core.\n`);
  const names = servers.map(([n]) => n);
  console.log(`| cell | ${names.join(' | ')} |`);
  console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
  for (const c of cells) {
    const v = names.map((n) => {
      const s = c.servers[n];
      return `${Math.round(s.rps).toLocaleString('en-US')} req/s, ${s.cpuUs.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} ms`;
    });
    console.log(`| ${c.size} c${c.conns} | ${v.join(' | ')} |`);
  }
  const goals = [];
  for (const c of cells) {
    const s = c.servers;
    const check = (ok, what) => goals.push(`${ok ? 'met ' : 'MISS'}  ${c.size} c${c.conns}: ${what}`);
    if (s.native && s.uvloop) {
      check(s.native.rps >= s.uvloop.rps, `native ${Math.round(s.native.rps)} ≥ uvloop ${Math.round(s.uvloop.rps)} req/s`);
      check(s.native.cpuUs <= s.uvloop.cpuUs, `native ${s.native.cpuUs.toFixed(1)} ≤ uvloop ${s.uvloop.cpuUs.toFixed(1)} µs CPU/req`);
    }
    if (s.native && s['c-libuv']) check(s.native.cpuUs <= 1.15 * s['c-libuv'].cpuUs, `native ${s.native.cpuUs.toFixed(1)} ≤ 1.15 × C ${s['c-libuv'].cpuUs.toFixed(1)} µs CPU/req`);
    if (s.native && s.pure) check(s.native.rps >= s.pure.rps, `native ≥ pure req/s (${(s.native.rps / s.pure.rps).toFixed(2)}×)`);
    if (s.pure && s.node) check(s.pure.rps >= s.node.rps, `pure ≥ node:net req/s (${(s.pure.rps / s.node.rps).toFixed(2)}×)`);
    if (s['native-streams'] && s.node) check(s['native-streams'].rps >= 1.2 * s.node.rps, `native streams ≥ 1.2 × node:net req/s (${(s['native-streams'].rps / s.node.rps).toFixed(2)}×)`);
  }
  if (goals.length) console.log(`\nGoals (issue 10):\n${goals.join('\n')}`);
}
