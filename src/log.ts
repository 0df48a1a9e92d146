/**
 * Where the library reports what has no caller to throw to (asyncio logs to `logging.getLogger
 * ('asyncio')`): unhandled callback exceptions, slow callbacks in debug mode, never-retrieved
 * exceptions. Replace the sink with `setLogger` to route them elsewhere (tests capture them).
 */
export interface Logger {
  warning(message: string): void;
  error(message: string, exception?: unknown): void;
}

const consoleLogger: Logger = {
  warning: (message) => console.warn(message),
  error: (message, exception) => (exception === undefined ? console.error(message) : console.error(message, exception)),
};

export let logger: Logger = consoleLogger;

/** Replaces the logger; `null` restores the console. */
export function setLogger(l: Logger | null): void {
  logger = l ?? consoleLogger;
}
