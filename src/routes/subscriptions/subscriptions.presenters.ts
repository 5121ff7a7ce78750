import type { z } from "@hono/zod-openapi";
import type { SubscriptionRow } from "../../services/fees/store.js";
import type { Cancellation, SwitchToYearly } from "../../services/fees/subscriptions.js";
import type { CancelAnswer, CreditNoteRef, Subscription, SwitchAnswer } from "./subscriptions.routes.js";

export function subscriptionJson(s: SubscriptionRow): z.input<typeof Subscription> {
  return {
    id: s.id,
    contractId: s.contractId,
    subscriberKey: s.subscriberKey,
    householdId: s.householdId,
    slotRef: s.slotRef,
    feeCode: s.feeCode,
    kind: s.kind,
    unitPrice: s.unitPrice,
    priceVersionNo: s.priceVersionNo,
    startDate: s.startDate,
    endDate: s.endDate,
    state: s.state,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

/** The credit note a command issued, by reference. */
function creditNoteRefJson(note: {
  id: string;
  number: string;
  amount: string;
}): z.input<typeof CreditNoteRef> {
  return { id: note.id, number: note.number, amount: note.amount };
}

export function cancellationJson(c: Cancellation): z.input<typeof CancelAnswer> {
  return {
    subscription: subscriptionJson(c.subscription),
    refund: {
      amount: c.refund.amount,
      unusedWholeMonths: c.refund.unusedWholeMonths,
      rule: c.refund.rule,
      creditNote: c.refund.creditNote ? creditNoteRefJson(c.refund.creditNote) : null,
    },
  };
}

export function switchJson(s: SwitchToYearly): z.input<typeof SwitchAnswer> {
  return { ended: subscriptionJson(s.ended), subscription: subscriptionJson(s.subscription) };
}
