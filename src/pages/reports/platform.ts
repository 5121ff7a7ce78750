/**
 * The platform's own figures for a contract and a period, to prefill a new operation report: the
 * reports service's `platformFigures` over the fee schedule of the period's end, for a contract
 * found in the caller's scope (404 otherwise). Read-only. (It belongs beside `fileReport` in
 * src/services/reports/reports.ts; it is here because that file is not this area's.)
 */
import type { FeeItem } from "../../../contracts/index.js";
import { parseReportPeriod, type ReportPeriod } from "../../../contracts/index.js";
import type { ServiceContext } from "../../services/context.js";
import { findContract } from "../../services/contracts/store.js";
import { type PlatformFigures, platformFigures, scheduleOn } from "../../services/reports/store.js";

export interface Prefill {
  period: ReportPeriod;
  schedule: FeeItem[];
  platform: PlatformFigures;
}

/** The prefill for `period` ('YYYY-MM'), or null when it is not a month or quarter. */
export async function platformFiguresFor(
  ctx: ServiceContext,
  contractId: string,
  period: string,
): Promise<Prefill | null> {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  const parsed = parseReportPeriod(period);
  if (!parsed) return null;
  const schedule = await scheduleOn(ctx.db, contract, parsed.end);
  return { period: parsed, schedule, platform: await platformFigures(ctx.db, contract, parsed, schedule) };
}
