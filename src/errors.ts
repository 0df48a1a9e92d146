/**
 * Every error class of the public contract (SPEC "Errors"). Each has `name` equal to its class
 * name so that `err.name === 'CancelledError'` works across realms and after structured cloning.
 */

/** Thrown into a coroutine when its task is cancelled; a Future's result when cancelled. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** A deadline passed (`waitFor`, `timeout`, `wait`'s callers, `asCompleted`). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** A Future or Task was used in a state that does not allow the operation. */
export class InvalidStateError extends Error {
  override name = 'InvalidStateError';
}

/** A loop method this loop does not provide (asyncio raises NotImplementedError the same way). */
export class NotImplementedError extends Error {
  override name = 'NotImplementedError';
}

/** `readExactly`/`readUntil` hit EOF first; `partial` holds what was read. */
export class IncompleteReadError extends Error {
  override name = 'IncompleteReadError';
  readonly partial: Buffer;
  readonly expected: number | null;
  constructor(partial: Buffer, expected: number | null) {
    super(
      `${partial.length} bytes read on a total of ${expected === null ? 'undefined' : expected} expected bytes`,
    );
    this.partial = partial;
    this.expected = expected;
  }
}

/** A separator was not found within the reader's limit. */
export class LimitOverrunError extends Error {
  override name = 'LimitOverrunError';
  readonly consumed: number;
  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}

export class QueueEmpty extends Error {
  override name = 'QueueEmpty';
}

export class QueueFull extends Error {
  override name = 'QueueFull';
}

export class QueueShutDown extends Error {
  override name = 'QueueShutDown';
}

export class BrokenBarrierError extends Error {
  override name = 'BrokenBarrierError';
}

/** Several failures thrown together (TaskGroup); `.exceptions` lists them, as in Python. */
export class ExceptionGroup extends AggregateError {
  override name = 'ExceptionGroup';
  readonly exceptions: unknown[];
  constructor(message: string, exceptions: unknown[]) {
    super(exceptions, message);
    this.exceptions = exceptions;
  }
}

export function isCancelledError(e: unknown): e is CancelledError {
  return e instanceof CancelledError;
}
