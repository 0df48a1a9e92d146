// The C load client for the echo rows (bench/echo_client.c): built on demand, run as a child
// process. The Node client (echo-client.mjs) costs about as much CPU per request as the servers it
// measures, and on a 2-core machine it shares the cores with them, so it capped every server at
// the same ~100k req/s; the C one costs a fraction of that.
//
// Which client runs is set by ALOOP_ECHO_CLIENT: `c` (the C client, an error if it cannot be
// built), `node` (the Node client), or unset (the C client if it builds, otherwise the Node
// client, with one line on stderr saying so).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { runEchoClient } from './echo-client.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
export const source = path.join(here, 'echo_client.c');
export const binary = path.resolve(here, '..', 'build', 'bench', 'echo_client');

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Compiles bench/<name>.c to build/bench/<name> unless the binary is newer than the source.
 * Returns `{ ok: true, binary }` or `{ ok: false, why }`.
 */
export function buildC(name, libs = []) {
  const src = path.join(here, `${name}.c`);
  const bin = path.resolve(here, '..', 'build', 'bench', name);
  if (mtime(bin) >= mtime(src) && mtime(src) >= 0) return { ok: true, binary: bin };
  const cc = process.env.CC || 'cc';
  // Compile to a private name and rename: concurrent builds (two bench runs) never see half a file.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(bin), { recursive: true });
    execFileSync(cc, ['-O2', '-o', tmp, src, ...libs], { stdio: ['ignore', 'pipe', 'pipe'] });
    renameSync(tmp, bin);
    return { ok: true, binary: bin };
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e.code === 'ENOENT') return { ok: false, why: `no C compiler (${cc} not found)` };
    const lines = String(e.stderr ?? '').trim().split('\n');
    const msg = lines.find((l) => /error/.test(l)) ?? (lines[0] || `exit status ${e.status}`);
    return { ok: false, why: `\`${cc} -O2 -o build/bench/${name} bench/${name}.c${libs.map((l) => ` ${l}`).join('')}\` failed: ${msg}` };
  }
}

/** Compiles bench/echo_client.c to build/bench/echo_client (see buildC). */
export function buildEchoClient() {
  return buildC('echo_client');
}

let chosen = null;
/** Why the Node client was chosen, when it was: for the table's note. */
export let fallbackWhy = '';

/**
 * Which client the echo rows use in this process, `'c'` or `'node'`, building the C one if needed.
 * On a fallback it says so once on stderr and sets ALOOP_ECHO_CLIENT=node, so child processes
 * (bench/run.mjs runs each measurement in one) neither retry the build nor repeat the message.
 */
export function echoClientKind() {
  if (chosen) return chosen;
  const want = process.env.ALOOP_ECHO_CLIENT;
  if (want === 'node') {
    fallbackWhy = process.env.ALOOP_ECHO_CLIENT_WHY || 'ALOOP_ECHO_CLIENT=node';
    return (chosen = 'node');
  }
  if (want && want !== 'c') throw new Error(`ALOOP_ECHO_CLIENT must be c or node, not ${want}`);
  const b = buildEchoClient();
  if (b.ok) return (chosen = 'c');
  if (want === 'c') throw new Error(`ALOOP_ECHO_CLIENT=c but the C echo client cannot be built: ${b.why}`);
  process.stderr.write(`(echo rows: using the Node load client, slower than the servers it measures; ${b.why})\n`);
  process.env.ALOOP_ECHO_CLIENT = 'node';
  process.env.ALOOP_ECHO_CLIENT_WHY = fallbackWhy = b.why;
  return (chosen = 'node');
}

/** Runs the C client once; resolves to `{ rps, p50, p99, requests }` like runEchoClient. */
export function runCEchoClient({ port, host = '127.0.0.1', conns = 10, size = 1024, duration = 1, warmup = 0.2 }) {
  const args = ['--port', String(port), '--host', host, '--conns', String(conns), '--size', String(size),
    '--duration', String(duration), '--warmup', String(warmup), '--json'];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`echo_client ${code === null ? `killed by ${signal}` : `exited with ${code}`}: ${err.trim()}`));
        return;
      }
      if (err) process.stderr.write(err); // warnings, e.g. connections still waiting at the end
      const r = JSON.parse(out.trim().split('\n').pop());
      // JSON has no NaN; the Node client reports NaN percentiles when nothing was measured.
      resolve({ rps: r.rps, p50: r.p50 ?? NaN, p99: r.p99 ?? NaN, requests: r.requests });
    });
  });
}

/** Runs whichever client echoClientKind() picks; resolves to runEchoClient's shape plus `client`. */
export async function runBestEchoClient(opts) {
  const client = echoClientKind();
  const r = client === 'c' ? await runCEchoClient(opts) : await runEchoClient(opts);
  return { ...r, client };
}
