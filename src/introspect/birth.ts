/**
 * When a task was made, for the ages the monitor and `aloop ps` show, at less than one clock read
 * per task: tasks made in the same iteration of a running loop share the time of the first of
 * them (a program starting 100k tasks in one step reads the clock once; a clock read costs
 * 25-100 ns, as much as a fifth of what making a task costs). An age is then late by at most the
 * time that iteration had run before the first task was made in it.
 */

/** What this module reads of a loop (BaseEventLoop has both). */
interface CountingLoop {
  _iterations?: number;
  isRunning(): boolean;
}

let lastLoop: object | null = null;
let lastIteration = -1;
let lastNow = 0;

/** Now, in whole milliseconds of `performance.now()` (a small integer, stored unboxed). */
export function birthTime(loop: CountingLoop): number {
  const it = loop._iterations;
  if (it === undefined || it !== lastIteration || loop !== lastLoop || !loop.isRunning()) {
    lastLoop = loop;
    lastIteration = it ?? -1;
    lastNow = Math.floor(performance.now());
  }
  return lastNow;
}
