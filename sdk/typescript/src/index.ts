export { Worker } from "./worker.js";
export type { JobHandler, WorkerOptions } from "./worker.js";
export { JobContext } from "./context.js";
export {
  AttemptAbortedError,
  AttemptCancelledError,
  AttemptLostError,
  AttemptTimeoutError,
  NonRetryableError,
  SpoolHttpError,
  WorkerStoppingError,
} from "./errors.js";
export type { AttemptOutcome, OutcomeKind } from "./attempt.js";
export type { RequestRecord, RouteKind } from "./http.js";
export { consoleLogger, silentLogger } from "./logger.js";
export type { Logger } from "./logger.js";
