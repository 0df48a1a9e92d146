/**
 * Tasks and the functions of asyncio's tasks.py, gathered from their own modules: the coroutine
 * forms (coro.ts), Task and its two drivers (task.ts), sleep, gather, wait/waitFor/asCompleted,
 * shield.
 */
export { type Coro, type CoroLike, isCoroutine } from './coro.js';
/** @internal */ export { checkCoroLike } from './coro.js';
export { Task, createTask, ensureFuture, currentTask, allTasks } from './task.js';
/** @internal */ export { newTask } from './task.js';
export { sleep } from './sleep.js';
export { gather, type GatherOptions } from './gather.js';
export {
  wait,
  waitFor,
  asCompleted,
  AsCompleted,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  ALL_COMPLETED,
  type ReturnWhen,
  type WaitOptions,
  type AsCompletedOptions,
} from './wait.js';
export { shield } from './shield.js';
