import { z } from "@hono/zod-openapi";
import { SUBSCRIPTION_KINDS, SUBSCRIPTION_STATES } from "../../../contracts/index.js";
import {
  CalendarDate,
  createRoute,
  errorResponses,
  FeeCode,
  IdParams,
  jsonBody,
  jsonResponse,
  Money,
  Page,
  Pagination,
  security,
  Timestamp,
  Uuid,
  withConflicts,
} from "../../openapi.js";
import { SlotRef } from "../fees.schemas.js";

const tags = ["subscriptions"];

export const Subscription = z
  .object({
    id: Uuid,
    contractId: Uuid,
    subscriberKey: z.string().openapi({ example: "household:6f1c…" }),
    householdId: Uuid.nullable(),
    slotRef: z.string().nullable(),
    feeCode: z.string(),
    kind: z.enum(SUBSCRIPTION_KINDS),
    unitPrice: Money.openapi({ description: "Price per bill, from the schedule in force on the start date" }),
    priceVersionNo: z.number().int(),
    startDate: CalendarDate,
    endDate: CalendarDate.nullable().openapi({ description: "Last day of use, inclusive" }),
    state: z.enum(SUBSCRIPTION_STATES),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Subscription");

export const NewSubscription = z
  .strictObject({
    householdId: Uuid.optional().openapi({ description: "Elevator contracts: a household of the building" }),
    slotRef: SlotRef.optional().openapi({ description: "Garage contracts: the slot or card" }),
    feeCode: FeeCode.openapi({ description: "A monthly (包月) or yearly (包年) item of the fee schedule" }),
    startDate: CalendarDate,
  })
  .superRefine((v, ctx) => {
    if ((v.householdId === undefined) === (v.slotRef === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [v.householdId === undefined ? "householdId" : "slotRef"],
        message: "give exactly one of householdId and slotRef",
      });
    }
  })
  .openapi("NewSubscription");

export const CreditNoteRef = z
  .object({ id: Uuid, number: z.string(), amount: Money })
  .openapi("CreditNoteRef", { description: "A credit note issued by the command" });

/** What a cancellation answers: the subscription and what it credited. */
export const CancelAnswer = z.object({
  subscription: Subscription,
  refund: z.object({
    amount: Money,
    unusedWholeMonths: z.number().int(),
    rule: z.string(),
    creditNote: CreditNoteRef.nullable(),
  }),
});

export const SwitchAnswer = z.object({ ended: Subscription, subscription: Subscription });

export const createSubscription = createRoute({
  operationId: "createSubscription",
  method: "post",
  path: "/contracts/{id}/subscriptions",
  tags,
  security,
  summary: "Subscribe a household or a slot to a monthly or yearly fee (enterprise)",
  description:
    "Only on an operating contract (409 otherwise). The price is the item's price in the fee schedule version in force on the start date (per floor for an elevator's household). A subscriber holds at most one running subscription per contract (409 subscription_exists). The start date may not be before the operation start nor on or after the transfer date.",
  request: { params: IdParams, body: jsonBody(NewSubscription) },
  responses: { 201: jsonResponse(Subscription, "Subscribed"), ...withConflicts },
});

export const listSubscriptions = createRoute({
  operationId: "listSubscriptions",
  method: "get",
  path: "/contracts/{id}/subscriptions",
  tags,
  security,
  summary: "A contract's subscriptions",
  description:
    "The residents' subscriptions to the contract's fee items (monthly or yearly), for the parties of the contract; filter by state and fee item.",
  request: {
    params: IdParams,
    query: Pagination.extend({ state: z.enum(SUBSCRIPTION_STATES).optional(), feeCode: FeeCode.optional() }),
  },
  responses: {
    200: jsonResponse(
      Page(Subscription, "SubscriptionPage"),
      "A page of subscriptions, by subscriber, the latest start first (id breaks ties)",
    ),
    ...errorResponses,
  },
});

export const getSubscription = createRoute({
  operationId: "getSubscription",
  method: "get",
  path: "/subscriptions/{id}",
  tags,
  security,
  summary: "One subscription",
  description: "One subscription with its fee item, household, period and state.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Subscription, "The subscription"), ...errorResponses },
});

export const cancelSubscription = createRoute({
  operationId: "cancelSubscription",
  method: "post",
  path: "/subscriptions/{id}/cancel",
  tags,
  security,
  summary: "Cancel a subscription (enterprise)",
  description:
    "The cancel date is the last day of use. Monthly: no refund for the month of cancellation; a later month already billed is credited in full. Yearly: a credit note for the unused whole months after the cancel month (amount × months ÷ 12, rounded down to the fen).",
  request: {
    params: IdParams,
    body: jsonBody(z.strictObject({ cancelDate: CalendarDate }).openapi("CancelSubscription")),
  },
  responses: {
    200: jsonResponse(CancelAnswer, "Cancelled"),
    ...withConflicts,
  },
});

export const switchToYearly = createRoute({
  operationId: "switchToYearly",
  method: "post",
  path: "/subscriptions/{id}/switch-to-yearly",
  tags,
  security,
  summary: "Switch a monthly subscription to yearly (enterprise)",
  description:
    "The monthly subscription runs to the end of its current paid month (the later of the switch month and the last month billed); the yearly one starts on the 1st of the next month at the yearly item's price in force then.",
  request: {
    params: IdParams,
    body: jsonBody(z.strictObject({ switchDate: CalendarDate, feeCode: FeeCode }).openapi("SwitchToYearly")),
  },
  responses: {
    200: jsonResponse(SwitchAnswer, "Switched"),
    ...withConflicts,
  },
});
