/**
 * When a change or a date is a reason to tell someone: the pure rules behind the notification
 * causes (src/services/notifications/). No I/O; dates Asia/Shanghai.
 */
import type { ContractCommand, ContractSnapshot, Decision } from "./commands.js";
import { signersOf } from "./commands.js";
import { addDays, daysBetween, shanghaiDate } from "./dates.js";
import type { Party } from "./lifecycle.js";

/** The reminders before a transfer, in days, farthest first. */
export const TRANSFER_REMINDER_DAYS = [90, 30] as const;
export type TransferReminderDays = (typeof TRANSFER_REMINDER_DAYS)[number];

/**
 * The reminder due on `today` for a transfer on `transferDate`: the nearest step the countdown has
 * reached (30 once 30 days or fewer are left, 90 from 90 days on), so that a job that did not run
 * on the day itself catches up with one reminder, not two at once. None on or after the transfer
 * date is past (the day itself still counts: 0 days left), none beyond 90 days.
 */
export function transferReminderDue(today: string, transferDate: string): TransferReminderDays | null {
  const left = daysBetween(today, transferDate);
  if (left < 0) return null;
  let due: TransferReminderDays | null = null;
  for (const step of TRANSFER_REMINDER_DAYS) if (left <= step) due = step;
  return due;
}

/** The daily digest is sent from this Asia/Shanghai hour on. */
export const DIGEST_HOUR = 8;

/**
 * The day whose digest is due at `now`: yesterday (Asia/Shanghai) from 08:00 on, nothing before
 * (the digest of the day before yesterday was due yesterday; sent late it would only confuse).
 */
export function digestDayDue(now: Date): string | null {
  const shanghaiHour = new Date(now.getTime() + 8 * 3_600_000).getUTCHours();
  if (shanghaiHour < DIGEST_HOUR) return null;
  return addDays(shanghaiDate(now), -1);
}

/** What the owners committee must do next once a command has been applied, if it is its turn. */
export type CommitteeAction = "review" | "vote" | "sign";

/**
 * Whether the command `by` another party issued (and the command table allowed, `decision`) hands
 * the contract to the owners committee:
 * - a version submitted: the committee reviews it (requests changes, or holds the owners' vote and
 *   approves) → `review`;
 * - another party's signature that leaves the committee's missing (it must sign) → `sign`.
 * The committee's own commands never do (it knows), nor anything on a contract it does not sign.
 * `vote` is part of the review of a submitted version, so no command announces it on its own.
 */
export function committeeTurn(
  before: ContractSnapshot,
  command: ContractCommand,
  by: Party,
  decision: Extract<Decision, { ok: true }>,
): CommitteeAction | null {
  if (by === "owners_committee") return null;
  if (command.type === "submit" && decision.versionStatus === "submitted") return "review";
  if (command.type === "sign" && !decision.signatureCompletes) {
    const mustSign = signersOf(before).includes("owners_committee");
    if (mustSign && !before.signedBy.includes("owners_committee")) return "sign";
  }
  return null;
}
