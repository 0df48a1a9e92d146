// The package's `install` script. node-gyp-build does the work: it loads the prebuilt binary
// shipped in prebuilds/<platform>-<arch>/ (made by prebuildify at `npm pack`) and builds from
// source with node-gyp only when none loads. This wrapper adds two things node-gyp-build lacks:
// a failed build keeps the install succeeding (the pure-TypeScript loop needs no addon) with one
// line saying so, and the build's own reason (node-gyp's last error lines, e.g. "Could not find
// any Python") is saved to build/aloop-build-failed.txt, which `aloop/native` quotes when it is
// used. node-gyp's output still streams through as it runs.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const marker = path.join(root, 'build', 'aloop-build-failed.txt');
const require = createRequire(import.meta.url);

const env = { ...process.env };
// A git checkout (a clone of aloop, not the installed package) builds the C++ every time, as
// `node-gyp rebuild` did: node-gyp-build would otherwise load a build/Release left from before
// and hide C++ changes. Clones carry no prebuilds, so this is only about stale builds.
if (existsSync(path.join(root, '.git'))) env.npm_config_build_from_source = 'true';

let bin;
try {
  bin = require.resolve('node-gyp-build/bin.js');
  // node-gyp-build runs `node-gyp-build-test` through PATH; npm puts it there, a manual run may not.
  const binDir = path.join(path.dirname(require.resolve('node-gyp-build/package.json')), '..', '.bin');
  env.PATH = `${binDir}${path.delimiter}${env.PATH ?? ''}`;
} catch (e) {
  fail(`node-gyp-build is not installed (${e.message.split('\n')[0]})`);
}

if (bin !== undefined) {
  rmSync(marker, { force: true });
  const child = spawn(process.execPath, [bin], { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
  const lines = [];
  let partial = '';
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop();
    lines.push(...parts);
    if (lines.length > 400) lines.splice(0, lines.length - 200);
  });
  child.on('error', (e) => fail(`node-gyp-build could not be started: ${e.message}`));
  child.on('close', (code, signal) => {
    if (code === 0) return;
    if (partial) lines.push(partial);
    fail(`building it failed (${signal ?? `exit code ${code}`})`, reasonLines(lines));
  });
}

/** The lines that say why: node-gyp's errors and the compiler's, without its boilerplate. */
function reasonLines(all) {
  const noise = /gyp ERR! (stack\s+at |System |command |cwd |node -v|node-gyp -v|\$npm_|not ok)|gyp ERR! find Python\s*(\*+)?$|^gyp (info|http|verb)/;
  const kept = all.map((l) => l.trimEnd()).filter((l) => l.trim() && !noise.test(l));
  return kept.slice(-15);
}

/** One line: the compiler's first error, else node-gyp's own (`gyp ERR! stack Error: ...`). */
function headline(details) {
  const compiler = details.find((l) => !l.startsWith('gyp ') && /error|not found|No such file/i.test(l));
  const gyp = details.find((l) => /^gyp ERR! stack \w*Error: /.test(l))?.replace(/^gyp ERR! stack /, '');
  return compiler?.trim() ?? gyp?.replace(/^\w*Error: /, '');
}

function fail(what, details = []) {
  const where = `node ${process.version}, ${process.platform}-${process.arch}`;
  const summary = env.npm_config_build_from_source === 'true'
    ? `the native loop was to be built from source (${where}; --build-from-source or a git checkout) and ${what}`
    : `no prebuilt native loop matched (${where}) and ${what}`;
  try {
    mkdirSync(path.dirname(marker), { recursive: true });
    const lines = [`${summary} at ${new Date().toISOString()}.`];
    if (headline(details)) lines.push(`Reason: ${headline(details)}`);
    if (details.length) lines.push("node-gyp's last lines:", ...details);
    writeFileSync(marker, lines.join('\n') + '\n');
  } catch {
    // The line below is what matters at install; aloop/native still says what it tried.
  }
  const last = headline(details);
  const line =
    `aloop: ${summary}${last ? ` — ${last}` : ''}; the pure-TypeScript loop will be used ('aloop/native' ` +
    `throws saying why; after installing Python 3, make and a C++17 compiler, \`npm rebuild aloop\` builds it).\n`;
  process.stderr.write(line);
  // npm (7 and later) shows a dependency's install output only when the script fails, and this
  // one must not fail; so during `npm install` the line also goes to the terminal, if there is one.
  if (!process.stderr.isTTY && process.env.npm_lifecycle_event === 'install') {
    try {
      const tty = openSync('/dev/tty', 'w');
      writeSync(tty, line);
      closeSync(tty);
    } catch {
      // No terminal (CI, Windows): the line is in npm's log and in aloop/native's error.
    }
  }
  process.exitCode = 0;
}
