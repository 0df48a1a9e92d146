// Echo workloads (issue 5): request/response ping-pong against an echo server in its own process,
// driven for ~1 s by a load client: the C one (bench/echo_client.c, built on demand by
// bench/echo-client-c.mjs) or, where it cannot be built or ALOOP_ECHO_CLIENT=node, the Node one
// (bench/echo-client.mjs), which is as slow per request as the servers and caps them all at about
// the same figure. Measurements carry `client` ('c' or 'node'). `run` serves with aloop on the loop
// under test (protocol, buffered protocol or streams); the baseline serves with plain node:net.
// Rows `echo-<mode>-<size>-c<C>`; figures are requests per second (higher is better), with the
// p50/p99 round-trip latency as the note. Where Python is installed, `echo-py-*` rows compare the
// same aloop server with a Python asyncio one (and uvloop, if it is installed).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { echoClientKind, fallbackWhy, runBestEchoClient } from '../echo-client-c.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const DURATION = 1.0;
// A fresh server process needs about a second to reach its steady state (JIT, socket buffers):
// with 0.2 s the same cell varied 73k–98k req/s (node:net) and 93k–132k (native), with 1.5 s
// 97k–108k and 120k–139k.
const WARMUP = 1.0;

/** Spawns a server command, resolves to `{ port, child }` once it prints `listening <port>`. */
function startServer(cmd, args) {
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

async function measure(cmd, args, conns, size) {
  const { port, child } = await startServer(cmd, args);
  try {
    const r = await runBestEchoClient({ port, conns, size, duration: DURATION, warmup: WARMUP });
    // Figures from the Node client are not comparable with the C client's: say so in the cell.
    const via = r.client === 'node' ? ', node client' : '';
    return { value: r.rps, note: `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${via}`, client: r.client };
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
rows.push(row('protocol', '10k', 10), row('protocol', '100k', 10));

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
  return echoClientKind() === 'c'
    ? 'echo rows: load client bench/echo_client.c (C, epoll, one process)'
    : `echo rows: load client bench/echo-client.mjs (Node, one process; ${fallbackWhy})`;
}

export default rows;
