/**
 * The periodic arrears sweep: applies the suspension rule (db/ledger.ts applyArrearsStanding) to
 * every running subscription, as of the Asia/Shanghai date of the injected clock. A payment
 * already reinstates its own subscriber at once; the sweep suspends the ones whose grace ran out
 * while nobody paid. Each tick is one idempotent UPDATE, so several instances may run it.
 *
 * The platform runs it on its own (a SystemContext, without a principal) over every contract:
 * nobody asks, so there is no scope to apply and no party for the command table to admit.
 */
import type { Logger } from "pino";
import { shanghaiDate } from "../../../contracts/index.js";
import { createFailureLog } from "../../../db/failure-log.js";
import { applyArrearsStanding, type StandingChange } from "../../../db/ledger.js";
import type { SystemContext } from "../context.js";

export const ARREARS_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

/**
 * One pass as of the clock's Asia/Shanghai date, logged when it changed a subscription: what the
 * hourly timer runs on Node and the Workers cron trigger runs hourly (src/scheduled.ts).
 */
export async function runArrearsPass(
  opts: SystemContext & { logger: Logger; only?: { contractId?: string } },
): Promise<StandingChange[]> {
  const changes = await applyArrearsStanding(opts.db, shanghaiDate(opts.clock()), opts.only);
  const suspended = changes.filter((ch) => ch.state === "suspended").length;
  if (changes.length) {
    opts.logger.info({ suspended, reinstated: changes.length - suspended }, "arrears sweep");
  }
  return changes;
}

export interface ArrearsSweep {
  /** Runs one sweep now (the timer calls it; tests too). */
  tick(): Promise<StandingChange[]>;
  stop(): void;
}

export function startArrearsSweep(
  opts: SystemContext & {
    logger: Logger;
    intervalMs?: number;
    /** Narrow the sweep (to one contract); the default is every running subscription. */
    only?: { contractId?: string };
  },
): ArrearsSweep {
  // Sweeps of this instance run one after another, each as of the clock when it starts.
  let queue: Promise<unknown> = Promise.resolve();
  let busy = false;
  const failures = createFailureLog(opts.logger, "arrears sweep");
  const sweepOnce = () => runArrearsPass(opts);
  const tick = () => {
    const run = queue.catch(() => undefined).then(sweepOnce);
    queue = run;
    return run;
  };
  const onTick = () => {
    if (busy) return; // a slow sweep is not piled up behind by the timer
    busy = true;
    // One idempotent statement: a failed tick wrote nothing, and the next one does it all again.
    tick()
      .then(
        () => failures.succeeded(),
        (err: unknown) => void failures.failed(err),
      )
      .finally(() => {
        busy = false;
      });
  };
  const first = setTimeout(onTick, 0);
  const timer = setInterval(onTick, opts.intervalMs ?? ARREARS_SWEEP_INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    tick,
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
