import type { Logger } from "pino";
import { classifyDbError, type DbErrorClass, describeDbError } from "./pg-errors.js";

/**
 * How work that runs again and again (a sweep's tick, the ingest writer's retries) reports its
 * failures: once when they start or change kind, once when they end; not a stack trace a tick.
 * A transient failure (db/pg-errors.ts) is a warning: the next run does the same work again and
 * nothing is recorded against the data. Anything else is an error, with its stack, the first time.
 */
export interface FailureLog {
  /** The work succeeded: says so once if it was failing. */
  succeeded(): void;
  /** The work failed: logged if the failures just began or changed kind; returns their kind. */
  failed(err: unknown, fields?: Record<string, unknown>): DbErrorClass;
  /** The kind of the failures going on, or null when the last run succeeded. */
  readonly failing: DbErrorClass | null;
}

/** `what` names the work in the log lines ("offline sweeper", "arrears sweep"). */
export function createFailureLog(logger: Logger, what: string): FailureLog {
  let failing: DbErrorClass | null = null;
  return {
    succeeded() {
      if (failing) logger.info(`${what}: working again`);
      failing = null;
    },
    failed(err, fields = {}) {
      const kind = classifyDbError(err);
      if (kind === failing) {
        logger.debug({ ...fields, dbError: describeDbError(err) }, `${what}: still failing`);
        return kind;
      }
      failing = kind;
      if (kind === "transient") {
        logger.warn(
          { ...fields, dbError: describeDbError(err) },
          `${what}: database unavailable; retrying on the next run`,
        );
      } else logger.error({ ...fields, err }, `${what}: failed; retrying on the next run`);
      return kind;
    },
    get failing() {
      return failing;
    },
  };
}
