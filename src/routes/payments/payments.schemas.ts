import { z } from "@hono/zod-openapi";
import { checkMoney, Decimal } from "../../../contracts/index.js";
import { CalendarDate, Money, Text, Uuid } from "../../openapi.js";
import { CreditNote, Payment, PaymentMethod, Refund, SubscriberKey } from "../fees.schemas.js";

/** The largest payment, refund or manual credit one request may record (a sane limit, CNY). */
export const SINGLE_AMOUNT_MAX = new Decimal("100000.00");

/** An amount of money a request moves: > 0, at most 2 places, at most SINGLE_AMOUNT_MAX. */
export const PositiveAmount = z
  .string()
  .superRefine((value, ctx) => {
    const reason = checkMoney(value, { max: SINGLE_AMOUNT_MAX, allowZero: false });
    if (reason) ctx.addIssue({ code: "custom", message: reason });
  })
  .openapi({
    example: "128.50",
    description: "CNY, decimal string, > 0, at most 2 places, at most 100000.00",
  });

export const ExternalRef = Text.trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .openapi({
    example: "WX-4200001234202612010001",
    description: "The payment provider's or cashier's reference",
  });

export const NewPayment = z
  .strictObject({
    amount: PositiveAmount,
    method: PaymentMethod,
    externalRef: ExternalRef,
    receivedOn: CalendarDate.openapi({
      description: "Asia/Shanghai date the money came in; not in the future",
    }),
  })
  .openapi("NewPayment");

export const NewRefund = z
  .strictObject({
    amount: PositiveAmount.openapi({ description: "At most the credit note's remaining amount" }),
    method: PaymentMethod,
    externalRef: ExternalRef,
    paidOn: CalendarDate.openapi({ description: "Asia/Shanghai date the money went out; not in the future" }),
  })
  .openapi("NewRefund");

export const NewCreditNote = z
  .strictObject({
    subscriberKey: SubscriberKey,
    amount: PositiveAmount,
    note: Text.trim().min(1, "must say why").max(2000),
  })
  .openapi("NewCreditNote");

export const InvoiceSummary = z
  .object({
    id: Uuid,
    number: z.string(),
    period: z.string(),
    total: Money,
    creditApplied: Money,
    paidAmount: Money,
    outstanding: Money.openapi({ description: "total − creditApplied − paidAmount" }),
    dueDate: CalendarDate,
  })
  .openapi("InvoiceBalance");

export const PaymentResult = Payment.extend({
  invoice: InvoiceSummary,
  creditNote: CreditNote.nullable(),
}).openapi("PaymentResult");

export const RefundResult = Refund.extend({ creditNote: CreditNote }).openapi("RefundResult");
