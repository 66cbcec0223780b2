/** Where the worker says what it does. Each method takes a message and optional details. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const PREFIX = "[spool-worker]";

/** The default: the console, each line prefixed `[spool-worker]`, debug lines dropped. */
export const consoleLogger: Logger = {
  debug() {},
  info: (message, ...details) => console.info(PREFIX, message, ...details),
  warn: (message, ...details) => console.warn(PREFIX, message, ...details),
  error: (message, ...details) => console.error(PREFIX, message, ...details),
};

/** Says nothing: for tests and benchmarks that print their own lines. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
