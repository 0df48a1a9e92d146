// Echo workloads (issue 5): request/response ping-pong against an echo server in its own process,
// driven for ~1 s by a load client: the C one (bench/echo_client.c, built on demand by
// bench/echo-client-c.mjs) or, where it cannot be built or ALOOP_ECHO_CLIENT=node, the Node one
// (bench/echo-client.mjs), which is as slow per request as the servers and caps them all at about
// the same figure. Measurements carry `client` ('c' or 'node'). `run` serves with aloop on the loop
// under test (protocol, buffered protocol or streams); the baseline serves with plain node:net.
// Rows `echo-<mode>-<size>-c<C>`; figures are requests per second (higher is better), with the
// p50/p99 round-trip latency and the server's CPU µs per request as the note. Where Python is installed, `echo-py-*` rows compare the
// same aloop server with a Python asyncio one (and uvloop, if it is installed).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildC, echoClientKind, fallbackWhy, runBestEchoClient } from '../echo-client-c.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const DURATION = 1.0;
// A fresh server process needs about a second to reach its steady state (JIT, socket buffers):
// with 0.2 s the same cell varied 73k–98k req/s (node:net) and 93k–132k (native), with 1.5 s
// 97k–108k and 120k–139k.
const WARMUP = 1.0;

// The server runs pinned to the last core (taskset, where there is one and more than one core), so
// its CPU per request is one core's work and the client cannot steal its cycles mid-request.
const PIN = os.availableParallelism() > 1 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
  ? ['taskset', ['-c', String(os.availableParallelism() - 1)]]
  : null;

/** CPU seconds (user + system, every thread) a process has used, from /proc (Linux), or NaN. */
function cpuSeconds(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return NaN;
  }
}

/** Spawns a server command, resolves to `{ port, child }` once it prints `listening <port>`. */
export function startServer(cmd, args) {
  if (PIN) [cmd, args] = [PIN[0], [...PIN[1], cmd, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no "listening" line within 10 s`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited with code ${code} before listening`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), child });
      }
    });
  });
}

/**
 * One server, one client run: requests per second, latency, and the server's CPU per request
 * (its CPU time over the measured window, after the warm-up, divided by the requests served).
 */
export async function measure(cmd, args, conns, size, { duration = DURATION, warmup = WARMUP } = {}) {
  const { port, child } = await startServer(cmd, args);
  try {
    let cpu0 = NaN;
    const mark = setTimeout(() => (cpu0 = cpuSeconds(child.pid)), warmup * 1000);
    const r = await runBestEchoClient({ port, conns, size, duration, warmup });
    clearTimeout(mark);
    const cpuUs = ((cpuSeconds(child.pid) - cpu0) * 1e6) / (r.rps * duration);
    // Figures from the Node client are not comparable with the C client's: say so in the cell.
    const via = r.client === 'node' ? ', node client' : '';
    const cpu = Number.isFinite(cpuUs) ? `, ${cpuUs.toFixed(1)} µs CPU/req` : '';
    return { value: r.rps, note: `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${cpu}${via}`, client: r.client, cpuUs, p99: r.p99 };
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
}

const node = process.execPath;
const server = path.join(here, '..', 'echo-server.mjs');
const sizes = { '1k': 1024, '10k': 10 * 1024, '100k': 100 * 1024 };

function row(mode, sizeName, conns) {
  return {
    name: `echo-${mode}-${sizeName}-c${conns}`,
    unit: 'req/s',
    higherIsBetter: true,
    baseline: 'node:net',
    run: ({ loopName }) => measure(node, [server, '--loop', loopName, '--mode', mode], conns, sizes[sizeName]),
    runBaseline: () => measure(node, [server, '--loop', 'node'], conns, sizes[sizeName]),
  };
}

const rows = [];
for (const mode of ['protocol', 'buffered', 'streams']) {
  for (const conns of [10, 100]) rows.push(row(mode, '1k', conns));
}
// Bigger messages: one mode is enough to show the copy/throughput side.
rows.push(row('protocol', '10k', 10), row('protocol', '100k', 10), row('protocol', '100k', 100));

// The physical limit: the same protocol server against a plain C libuv echo server
// (bench/echo_server_uv.c, built on demand where libuv's headers are: Debian's libuv1-dev).
/** Builds the C libuv echo server; its path, or null with the reason in `uvServerWhy`. */
export function uvServer() {
  const b = buildC('echo_server_uv', ['-luv']);
  uvServerWhy = b.ok ? '' : b.why;
  return b.ok ? b.binary : null;
}
export let uvServerWhy = '';
if (uvServer()) {
  for (const [sizeName, conns] of [['1k', 10], ['100k', 10]]) {
    rows.push({
      name: `echo-limit-protocol-${sizeName}-c${conns}`,
      unit: 'req/s',
      higherIsBetter: true,
      baseline: 'C libuv',
      run: ({ loopName }) => measure(node, [server, '--loop', loopName, '--mode', 'protocol'], conns, sizes[sizeName]),
      runBaseline: () => measure(uvServer(), [], conns, sizes[sizeName]),
    });
  }
}

// Python reference rows, only where Python's asyncio (and optionally uvloop) is installed.
const python = '/usr/bin/python3';
const has = (mod) => spawnSync(python, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
const pyServer = path.join(here, '..', 'echo_server.py');
const pyLoops = [];
if (has('asyncio')) pyLoops.push(['asyncio', []]);
if (has('uvloop')) pyLoops.push(['uvloop', ['--uvloop']]);
for (const [pyName, pyArgs] of pyLoops) {
  for (const mode of ['protocol', 'streams']) {
    rows.push({
      name: `echo-py-${pyName}-${mode}-1k-c10`,
      unit: 'req/s',
      higherIsBetter: true,
      baseline: `python ${pyName}`,
      run: ({ loopName }) => measure(node, [server, '--loop', loopName, '--mode', mode], 10, 1024),
      runBaseline: () => measure(python, [pyServer, '--mode', mode, ...pyArgs], 10, 1024),
    });
  }
}

/** Called once by bench/run.mjs before the first echo row: builds the C client (or falls back,
 * once, with a message) and returns a line for under the table. */
export function prepare() {
  const pin = PIN ? `; servers pinned to core ${PIN[1][1]} (taskset)` : '';
  const limit = uvServerWhy ? `; no echo-limit rows: ${uvServerWhy} (install libuv1-dev)` : '';
  return echoClientKind() === 'c'
    ? `echo rows: load client bench/echo_client.c (C, epoll, one process)${pin}${limit}`
    : `echo rows: load client bench/echo-client.mjs (Node, one process; ${fallbackWhy})${pin}${limit}`;
}

export default rows;
