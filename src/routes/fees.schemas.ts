/**
 * Schemas of the residents' fees documents that several fee resources show: payments, credit
 * notes and refunds (answered by payments and listed in statements), and how a subscriber is
 * named (billing, subscriptions, payments, statements). Each resource's own schemas stay in its
 * folder; these are here so that no resource imports another's files.
 */
import { z } from "@hono/zod-openapi";
import type { AgingBucket } from "../../contracts/index.js";
import { CalendarDate, Money, Text, Timestamp, Uuid } from "../openapi.js";

/** A garage slot (or the resident's card) as the operator names it. */
export const SlotRef = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits, _ . : - only")
  .openapi({ example: "B1-017" });

const SUBSCRIBER_KEY_RE =
  /^(household:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|slot:\S{1,100})$/;
export const SubscriberKey = Text.regex(SUBSCRIBER_KEY_RE, "must be household:<uuid> or slot:<ref>").openapi({
  example: "slot:G3-017",
  description: "household:<uuid> (elevator) or slot:<ref> (garage)",
});

/**
 * Outstanding money by days past the due date (contracts/billing.ts `agingBucket`): one named key a
 * bucket (AGING_BUCKETS), so that a client can write `aging.days1To30`.
 */
export const Aging = z
  .object({
    current: Money.openapi({ description: "Not yet due (due today or later)" }),
    days1To30: Money.openapi({ description: "1 to 30 days past the due date" }),
    days31To60: Money.openapi({ description: "31 to 60 days past the due date" }),
    days61To90: Money.openapi({ description: "61 to 90 days past the due date" }),
    over90Days: Money.openapi({ description: "More than 90 days past the due date" }),
  } satisfies Record<AgingBucket, typeof Money>)
  .openapi("Aging");

export const PAYMENT_METHODS = ["cash", "wechat", "alipay", "bank_transfer", "card"] as const;
export const PaymentMethod = z.enum(PAYMENT_METHODS);

export const CreditNote = z
  .object({
    id: Uuid,
    number: z.string(),
    contractId: Uuid,
    subscriberKey: z.string(),
    reason: z.enum(["overpayment", "cancellation", "transfer", "adjustment"]),
    amount: Money,
    remaining: Money.openapi({ description: "Left to apply to later invoices or to refund" }),
    applied: Money.openapi({ description: "Applied to invoices so far" }),
    refunded: Money.openapi({ description: "Paid back so far" }),
    paymentId: Uuid.nullable().openapi({ description: "The payment whose excess it holds (overpayment)" }),
    subscriptionId: Uuid.nullable(),
    note: z.string(),
    createdAt: Timestamp,
  })
  .openapi("CreditNote");

export const Payment = z
  .object({
    id: Uuid,
    invoiceId: Uuid,
    contractId: Uuid,
    subscriberKey: z.string(),
    amount: Money,
    appliedAmount: Money.openapi({ description: "The part that paid the invoice" }),
    creditAmount: Money.openapi({ description: "The excess, held by an overpayment credit note" }),
    method: PaymentMethod,
    externalRef: z.string(),
    receivedOn: CalendarDate,
    creditNoteId: Uuid.nullable(),
    createdAt: Timestamp,
  })
  .openapi("Payment");

export const Refund = z
  .object({
    id: Uuid,
    creditNoteId: Uuid,
    amount: Money,
    method: PaymentMethod,
    externalRef: z.string(),
    paidOn: CalendarDate,
    createdAt: Timestamp,
  })
  .openapi("Refund");
