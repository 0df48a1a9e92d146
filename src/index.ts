/**
 * aloop: asyncio for TypeScript. Everything here runs on the pure-TypeScript loop by default;
 * `aloop/native` swaps in the native loop.
 * @module aloop
 */
export * from './errors.js';
export {
  Handle,
  TimerHandle,
  type AbstractEventLoop,
  type AbstractEventLoopPolicy,
  BaseDefaultEventLoopPolicy,
  type ExceptionContext,
  type ExceptionHandler,
  type TaskFactory,
  type TaskOptions,
  getRunningLoop,
  getEventLoop,
  setEventLoop,
  newEventLoop,
  getEventLoopPolicy,
  setEventLoopPolicy,
} from './events.js';
export { Future, isFuture, type DoneCallback } from './futures.js';
export {
  Task,
  type Coro,
  type CoroLike,
  isCoroutine,
  currentTask,
  allTasks,
  createTask,
  ensureFuture,
  sleep,
  gather,
  type GatherOptions,
  wait,
  type WaitOptions,
  type ReturnWhen,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  ALL_COMPLETED,
  waitFor,
  asCompleted,
  AsCompleted,
  type AsCompletedOptions,
  shield,
} from './tasks.js';
export { Timeout, timeout, timeoutAt, type TimeoutBody } from './timeouts.js';
export { TaskGroup, taskGroup } from './taskgroups.js';
export { run, Runner, type RunOptions } from './runners.js';
export {
  captureCallGraph,
  formatCallGraph,
  printCallGraph,
  futureAddToAwaitedBy,
  futureDiscardFromAwaitedBy,
  type FutureCallGraph,
  type FrameCallGraphEntry,
  type CallGraphOptions,
  type PrintCallGraphOptions,
} from './graph.js';
export { monitor, type Monitor, type MonitorOptions } from './monitor/monitor.js';
export type { TaskInfo, ProcessSnapshot } from './introspect/snapshot.js';
export type { LoopStats, LagSample } from './introspect/stats.js';
export type { AwaitInfo } from './introspect/awaits.js';
export type { SlowCallback } from './introspect/slow.js';
// Installs globalThis[Symbol.for('aloop.introspect')], which `aloop ps` reads through the inspector.
import './introspect/snapshot.js';
export { DefaultEventLoopPolicy } from './policy.js';
export { PureEventLoop } from './loops/pure/loop.js';
export { BaseEventLoop } from './loops/base.js';
export { setLogger, type Logger } from './log.js';
export {
  StreamReader,
  StreamWriter,
  StreamReaderProtocol,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  DEFAULT_LIMIT,
  type ClientConnected,
  type StreamOptions,
} from './streams.js';
export {
  createSubprocessExec,
  createSubprocessShell,
  Process,
  PIPE,
  STDOUT,
  DEVNULL,
  type CreateSubprocessOptions,
} from './subprocess.js';
export {
  type Address,
  type BytesLike,
  type BaseTransport,
  type ReadTransport,
  type WriteTransport,
  type Transport,
  type DatagramTransport,
  type Server,
  type ServerSocket,
  type SubprocessTransport,
  type SubprocessOptions,
  type StdioOption,
  type ProtocolFactory,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixServerOptions,
  type CreateDatagramEndpointOptions,
  type GetaddrinfoOptions,
  type AddrInfo,
  SOCK_STREAM,
  SOCK_DGRAM,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
} from './transports.js';
export { AF_INET, AF_INET6, AF_UNIX, SHUT_RD, SHUT_WR, SHUT_RDWR, Socket, socket, type SocketAddress } from './socket.js';
export {
  type BaseProtocol,
  type Protocol,
  type BufferedProtocol,
  type DatagramProtocol,
  type StreamProtocol,
  type SubprocessProtocol,
  isBufferedProtocol,
} from './protocols.js';
export { ThreadPoolExecutor, type Executor, type ExecutorFunction } from './executors.js';
export { toThread } from './threads.js';
export {
  Lock,
  Event,
  Condition,
  Semaphore,
  BoundedSemaphore,
  Barrier,
  Held,
  type SignalOptions,
} from './locks.js';
export {
  Queue,
  LifoQueue,
  PriorityQueue,
  defaultCompare,
  type Compare,
  type PriorityQueueOptions,
} from './queues.js';
