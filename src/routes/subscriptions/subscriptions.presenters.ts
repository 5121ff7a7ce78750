import type { z } from "@hono/zod-openapi";
import type { subscriptions } from "../../../db/schema.js";
import type { CreditNoteRef, Subscription } from "./subscriptions.routes.js";

type SubscriptionRow = typeof subscriptions.$inferSelect;

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
export function creditNoteRefJson(note: {
  id: string;
  number: string;
  amount: string;
}): z.input<typeof CreditNoteRef> {
  return { id: note.id, number: note.number, amount: note.amount };
}
