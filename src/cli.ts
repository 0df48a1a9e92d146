#!/usr/bin/env node
/**
 * `aloop ps <pid | monitor URL>` and `aloop pstree <pid | monitor URL>`: the tasks of a running
 * Node process that uses aloop, as `python -m asyncio ps` / `pstree` show an asyncio program's.
 * How the process is reached (its inspector, or its monitor) is in cli/inspector.ts.
 *
 * The command itself runs on aloop: the inspector's WebSocket and the HTTP requests are aloop
 * streams.
 */
import { run } from './index.js';
import { ReachError, snapshotOfMonitor, snapshotOfPid } from './cli/inspector.js';
import { CycleError, describeProcess, psTable, psTree } from './cli/render.js';

const USAGE = `usage: aloop ps <pid | monitor URL> [--json]
       aloop pstree <pid | monitor URL>

Shows the tasks of a running Node process that uses aloop (as python -m asyncio ps / pstree):
  ps       a table: each task, its state and age, what it waits on, and the tasks waiting on it
  pstree   a tree: each task under the tasks waiting on it, with their frames between
  --json   the snapshot as JSON (ps only)

<pid> is reached through the Node inspector (opened with SIGUSR1 if it is not open, and closed
again); a monitor URL (from aloop's monitor()) is read over HTTP. See the README, "Seeing what
tasks wait on", for which processes can be reached.`;

async function main(argv: string[]): Promise<number> {
  const [command, target, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const json = rest.includes('--json');
  const unknown = rest.filter((a) => a !== '--json');
  if ((command !== 'ps' && command !== 'pstree') || target === undefined || unknown.length > 0 || (json && command !== 'ps')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let snapshot;
  try {
    if (/^https?:\/\//.test(target)) snapshot = await run(() => snapshotOfMonitor(target));
    else {
      const pid = Number(target);
      if (!Number.isInteger(pid) || pid <= 0) {
        process.stderr.write(`aloop ${command}: <pid> must be a process id or a monitor URL, not ${JSON.stringify(target)}\n`);
        return 2;
      }
      snapshot = await run(() => snapshotOfPid(pid, (line) => process.stderr.write(`aloop ${command}: ${line}\n`)));
    }
  } catch (e) {
    const message = e instanceof ReachError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    process.stderr.write(`aloop ${command}: ${message}\n`);
    return 1;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    return 0;
  }
  if (command === 'ps') {
    process.stdout.write(`${describeProcess(snapshot)}\n\n${psTable(snapshot)}\n`);
    return 0;
  }
  try {
    process.stdout.write(`${psTree(snapshot)}\n`);
  } catch (e) {
    if (!(e instanceof CycleError)) throw e;
    process.stderr.write(`ERROR: await-graph contains cycles - cannot print a tree!\n\n${e.message}\n`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`aloop: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
