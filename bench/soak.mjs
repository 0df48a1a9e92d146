// Soak: many connections × seconds of random-size, checked echo against a server of each loop.
//
//   node bench/soak.mjs [--loops native,pure,node,c-libuv] [--modes protocol,streams] [--conns 1000]
//                       [--duration 10] [--max 262144] [--min 1] [--seed 1] [--client c|node] [--json]
//                       [--server-flags '--trace-gc ...']
//
// For each (loop, mode) it starts bench/echo-server.mjs in a child process and drives it with the
// C load client (bench/soak_client.c, built on demand; `--client node` uses node:net from this
// process instead, which is not fair itself at 1,000+ busy connections, see the C file): every
// connection sends a payload of a random size in [min, max] bytes and waits for all of it to come
// back, byte-checked, before sending the next. Payloads are slices of one random block at random
// offsets, so checking is a memcmp, not a hash. It prints, per
// server: bytes verified, errors, mismatched bytes, connections that made no progress for more
// than 1 s (after all had connected), the longest such gap, the server's RSS at start / peak /
// end, and its open fds before the clients connected and after they all closed.
//
// `--server-flags` passes Node flags to the aloop and node:net servers (e.g. `--trace-gc`, `--cpu-prof`);
// with it, what a server prints besides `listening` goes to stderr (without it, that is dropped:
// e.g. a streams server's reports of the resets the client's closing brings at the end).
//
// Fairness is part of the result: a server that moves many bytes while some connections sit idle
// for seconds fails the soak as surely as one that loses a byte.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildC } from './echo-client-c.mjs';
import { uvServer } from './workloads/echo.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);

export const defaults = { loops: 'native,pure,node', modes: 'protocol', conns: 1000, duration: 10, max: 256 * 1024, min: 1, seed: 1, stall: 1, client: 'c', 'server-flags': '' };

function parse(argv) {
  const opts = { ...defaults };
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'json') json = true;
    else if (k in opts) opts[k] = typeof defaults[k] === 'number' ? Number(argv[++i]) : argv[++i];
    else throw new Error(`soak: unknown option ${argv[i]}`);
  }
  return { opts, json };
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

/** A small seeded PRNG (mulberry32): the same seed gives the same sizes and offsets. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function fdsOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

function startServer(loop, mode, flags = '') {
  return new Promise((resolve, reject) => {
    // `c-libuv`: the plain C libuv echo server (bench/echo_server_uv.c), the physical limit.
    const uv = loop === 'c-libuv' ? uvServer() : null;
    if (loop === 'c-libuv' && !uv) throw new Error('soak: the C libuv echo server cannot be built here (needs libuv1-dev)');
    const [cmd, args] = uv ? [uv, []] : [process.execPath, [...flags.split(' ').filter(Boolean), path.join(here, 'echo-server.mjs'), '--loop', loop, '--mode', mode]];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('exit', (code) => reject(new Error(`server ${loop}/${mode} exited with ${code} before listening`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening (\d+)/.exec(line);
      if (m) resolve({ child, port: Number(m[1]) });
      else if (flags) process.stderr.write(`${line}\n`);
    });
  });
}

/** Opens `n` connections, at most `batch` connecting at a time (a 10k burst overflows the backlog). */
async function connectAll(port, n, batch = 256) {
  const socks = [];
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    const part = await Promise.all(
      Array.from({ length: k }, () =>
        new Promise((resolve, reject) => {
          const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
          s.once('error', reject);
        }),
      ),
    );
    socks.push(...part);
  }
  return socks;
}

/** Runs the C client against `port`; resolves to its JSON figures. */
function runCClient(bin, port, opts) {
  const args = ['--port', port, '--conns', opts.conns, '--duration', opts.duration, '--min', opts.min, '--max', opts.max,
    '--seed', opts.seed, '--stall-ms', Math.round(opts.stall * 1000)].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`soak_client exited with ${code}: ${err.trim()}`));
    });
  });
}

/** One soak run against one server; returns its figures. */
export async function soakOne(loop, mode, opts) {
  const { child, port } = await startServer(loop, mode, opts['server-flags']);
  const pid = child.pid;
  const fdsBefore = fdsOf(pid);
  const rssStart = rssOf(pid);
  let rssPeak = rssStart;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(pid))), 200);
  const finish = async (r) => {
    await sleep(1);
    clearInterval(rssTimer);
    r.rssStartMB = Math.round(rssStart / 1e6);
    r.rssPeakMB = Math.round(Math.max(rssPeak, rssOf(pid)) / 1e6);
    r.rssEndMB = Math.round(rssOf(pid) / 1e6);
    r.fdsBefore = fdsBefore;
    r.fdsAfter = fdsOf(pid);
    child.kill('SIGTERM');
    await new Promise((res) => (child.exitCode !== null ? res() : child.once('exit', res)));
    return r;
  };
  if (opts.client === 'c') {
    const built = buildC('soak_client');
    if (!built.ok) throw new Error(`cannot build the soak client: ${built.why} (--client node uses node:net)`);
    let c;
    try {
      c = await runCClient(built.binary, port, opts);
    } catch (e) {
      clearInterval(rssTimer);
      child.kill('SIGKILL');
      throw e;
    }
    return finish({ loop, mode, conns: opts.conns, ...c });
  }
  const random = rng(opts.seed);
  const block = Buffer.alloc(2 * opts.max + 1024 * 1024);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((random() * 4294967296) >>> 0, i);
  const r = { loop, mode, conns: opts.conns, seconds: opts.duration, bytes: 0, payloads: 0, errors: 0, mismatched: 0, stalled: 0, maxGapMs: 0 };
  let socks;
  try {
    socks = await connectAll(port, opts.conns);
  } catch (e) {
    clearInterval(rssTimer);
    child.kill('SIGKILL');
    throw e;
  }
  const conns = [];
  let running = true;
  const start = performance.now();
  for (const s of socks) {
    s.setNoDelay(true);
    const c = { s, off: 0, size: 0, got: 0, last: start, gapMax: 0, stalled: false, dead: false };
    conns.push(c);
    const next = () => {
      if (!running) return;
      c.size = opts.min + Math.floor(random() * (opts.max - opts.min + 1));
      c.off = Math.floor(random() * (block.length - c.size));
      c.got = 0;
      s.write(block.subarray(c.off, c.off + c.size));
    };
    s.on('data', (d) => {
      if (c.dead) return;
      const want = block.subarray(c.off + c.got, c.off + c.got + d.length);
      if (c.got + d.length > c.size || !want.equals(d)) {
        // Count the bytes that differ (or overflow) and drop the connection: the stream is off.
        let bad = Math.max(0, c.got + d.length - c.size);
        for (let i = 0; i < want.length; i++) if (want[i] !== d[i]) bad++;
        r.mismatched += bad;
        c.dead = true;
        r.errors++;
        s.destroy();
        return;
      }
      c.got += d.length;
      r.bytes += d.length;
      const now = performance.now();
      c.gapMax = Math.max(c.gapMax, now - c.last);
      c.last = now;
      if (c.got === c.size) {
        r.payloads++;
        next();
      }
    });
    s.on('error', () => {
      if (running && !c.dead) r.errors++;
      c.dead = true;
    });
    s.on('close', () => {
      if (running && !c.dead) r.errors++;
      c.dead = true;
    });
    next();
  }
  // Gaps are also checked while they last: a connection that never progresses again has no
  // 'data' to close its gap.
  const gapTimer = setInterval(() => {
    const now = performance.now();
    for (const c of conns) if (!c.dead) c.gapMax = Math.max(c.gapMax, now - c.last);
  }, 100);
  await sleep(opts.duration);
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  clearInterval(gapTimer);
  for (const c of conns) {
    if (c.gapMax > opts.stall * 1000) r.stalled++;
    r.maxGapMs = Math.max(r.maxGapMs, c.gapMax);
    c.s.destroy();
  }
  r.seconds = Math.round(elapsed * 100) / 100;
  r.maxGapMs = Math.round(r.maxGapMs);
  return finish(r);
}

function table(rows) {
  const head = ['loop', 'mode', 'conns', 's', 'GB verified', 'MB/s', 'errors', 'mismatched', 'stalled>1s', 'max gap ms', 'RSS MB start/peak/end', 'fds before/after'];
  const lines = [head, ...rows.map((r) => [r.loop, r.mode, r.conns, r.seconds, (r.bytes / 1e9).toFixed(2), Math.round(r.bytes / 1e6 / r.seconds), r.errors, r.mismatched, r.stalled, r.maxGapMs, `${r.rssStartMB}/${r.rssPeakMB}/${r.rssEndMB}`, `${r.fdsBefore}/${r.fdsAfter}`])];
  const w = head.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  return lines.map((l) => l.map((c, i) => String(c).padEnd(w[i])).join('  ')).join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { opts, json } = parse(process.argv.slice(2));
  const rows = [];
  for (const mode of opts.modes.split(',')) {
    for (const loop of opts.loops.split(',')) {
      if ((loop === 'node' || loop === 'c-libuv') && mode !== opts.modes.split(',')[0]) continue; // one mode each
      const r = await soakOne(loop, loop === 'node' ? 'protocol' : mode, opts);
      rows.push(r);
      if (!json) console.error(`${loop}/${r.mode}: ${(r.bytes / 1e9).toFixed(2)} GB, ${r.errors} errors, ${r.stalled} stalled`);
    }
  }
  if (json) console.log(JSON.stringify(rows, null, 2));
  else console.log(table(rows));
}
