import { z } from "@hono/zod-openapi";
import { AGING_BUCKETS, SUBSCRIPTION_KINDS, SUBSCRIPTION_STATES } from "../../../contracts/index.js";
import { CalendarDate, Money, Uuid } from "../../openapi.js";
import { Aging, CreditNote, Payment, Refund } from "../fees.schemas.js";

export const StatementInvoice = z
  .object({
    id: Uuid,
    number: z.string(),
    kind: z.enum(["subscription", "usage", "final"]),
    period: z.string(),
    issueDate: CalendarDate,
    dueDate: CalendarDate,
    total: Money,
    creditApplied: Money,
    paidAmount: Money,
    outstanding: Money,
  })
  .openapi("StatementInvoice");

export const StatementSubscription = z
  .object({
    id: Uuid,
    feeCode: z.string(),
    kind: z.enum(SUBSCRIPTION_KINDS),
    state: z.enum(SUBSCRIPTION_STATES),
    unitPrice: Money,
    startDate: CalendarDate,
    endDate: CalendarDate.nullable(),
  })
  .openapi("StatementSubscription");

const SignedMoney = z
  .string()
  .openapi({ example: "-12.50", description: "CNY, decimal string, may be negative" });

export const Statement = z
  .object({
    contractId: Uuid,
    subscriberKey: z.string(),
    subscriptions: z.array(StatementSubscription),
    invoices: z.array(StatementInvoice),
    payments: z.array(Payment),
    creditNotes: z.array(CreditNote),
    refunds: z.array(Refund),
    totals: z.object({
      invoiced: Money.openapi({ description: "Sum of the invoice totals" }),
      paid: Money.openapi({ description: "Sum of the payments received (including any excess)" }),
      credited: Money.openapi({
        description:
          "Sum of the credit notes that are not an overpayment's excess (cancellation, transfer, adjustment): that excess is already in `paid`",
      }),
      refunded: Money.openapi({ description: "Sum of the refunds paid out" }),
      balance: SignedMoney.openapi({
        description: "invoiced − paid − credited + refunded; positive: owed, negative: credit in hand",
      }),
      outstanding: Money.openapi({ description: "Still unpaid on the invoices" }),
      creditAvailable: Money.openapi({
        description: "Credit notes' remaining amounts (balance = outstanding − this)",
      }),
    }),
  })
  .openapi("Statement");

/**
 * One row of the receivables as CSV (GET …/receivables with Accept: text/csv): an invoice issued
 * by asOf, what was collected on it and what it still owed then, aged. Not a JSON shape.
 */
export const ReceivableInvoice = z.object({
  invoiceId: Uuid,
  number: z.string(),
  subscriberKey: z.string(),
  householdId: Uuid.nullable(),
  issueDate: CalendarDate,
  dueDate: CalendarDate,
  total: Money,
  creditApplied: Money,
  collected: Money,
  outstanding: Money,
  daysPastDue: z.number().int().min(0),
  agingBucket: z.enum(AGING_BUCKETS).nullable(),
});

export const Receivables = z
  .object({
    contractId: Uuid,
    asOf: CalendarDate,
    invoiceCount: z.number().int(),
    openInvoiceCount: z.number().int(),
    totals: z.object({
      invoiced: Money.openapi({ description: "Invoices issued up to asOf" }),
      creditApplied: Money,
      collected: Money.openapi({ description: "Payments received up to asOf that paid these invoices" }),
      received: Money.openapi({ description: "Every payment received up to asOf, including overpayments" }),
      outstanding: Money.openapi({
        description: "invoiced − creditApplied − collected = the sum of the aging buckets",
      }),
    }),
    aging: Aging,
  })
  .openapi("Receivables");
