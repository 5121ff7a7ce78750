/**
 * A job the Node process runs on a timer: at start and then every `intervalMs`, never overlapping
 * itself; a failed run is retried by the next and logged once per change (db/failure-log.ts),
 * never thrown. The Workers cron runs the same function (src/scheduled.ts).
 */
import type { Logger } from "pino";
import { createFailureLog } from "../db/failure-log.js";

export interface PeriodicJob {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startPeriodicJob(opts: {
  name: string;
  logger: Logger;
  intervalMs: number;
  run: () => Promise<unknown>;
}): PeriodicJob {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const failures = createFailureLog(opts.logger, opts.name);
  const tick = () => {
    timer = null;
    running = opts
      .run()
      .then(
        () => failures.succeeded(),
        (err: unknown) => void failures.failed(err),
      )
      .finally(() => {
        running = null;
        if (!stopped) schedule(opts.intervalMs);
      });
  };
  const schedule = (ms: number) => {
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  schedule(0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
