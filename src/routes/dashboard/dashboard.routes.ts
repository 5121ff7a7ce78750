import { z } from "@hono/zod-openapi";
import { CONTRACT_STATES } from "../../../contracts/index.js";
import {
  CalendarDate,
  createRoute,
  errorResponses,
  IdParams,
  jsonResponse,
  Money,
  security,
  Timestamp,
  Uuid,
} from "../../openapi.js";
import { Aging } from "../fees.schemas.js";

const tags = ["dashboard"];
const Count = z.number().int();

const Progress = z.object({
  retrofitted: Count.openapi({ description: "operating + transferred" }),
  underConstruction: Count,
  planned: Count,
  decommissioned: Count,
  total: Count.openapi({ description: "All but decommissioned" }),
  notRetrofitted: Count.openapi({ description: "total − retrofitted: still to do" }),
});
const AgainstTarget = Progress.extend({
  target: Count,
  toTarget: Count.openapi({ description: "max(0, target − retrofitted)" }),
});

export const Dashboard = z
  .object({
    streetId: Uuid,
    streetName: z.string(),
    today: CalendarDate,
    facilities: z.object({
      elevators: AgainstTarget,
      garages: AgainstTarget.extend({ bySize: z.object({ large: Progress, mini: Progress }) }),
    }),
    guidanceFunds: z.object({
      committed: Money.openapi({
        description: "Σ guidance funds of the terms in force of signed+ contracts",
      }),
      paid: Money,
      remaining: z.string(),
    }),
    contractsByState: z.object(
      Object.fromEntries(CONTRACT_STATES.map((s) => [s, Count])) as Record<
        (typeof CONTRACT_STATES)[number],
        typeof Count
      >,
    ),
    transfersDue: z.object({
      until: CalendarDate.openapi({
        description: "Transfers due on or before this day (12 months ahead), overdue ones included",
      }),
      total: Count,
      overdue: Count,
      items: z.array(
        z.object({
          contractId: Uuid,
          title: z.string(),
          communityId: Uuid,
          state: z.enum(CONTRACT_STATES),
          transferDate: CalendarDate,
          transferDueInDays: z
            .number()
            .int()
            .openapi({ description: "Days from today to the transfer date; negative when overdue" }),
          overdue: z.boolean(),
        }),
      ),
    }),
    receivables: z.object({
      outstanding: Money.openapi({ description: "Σ (total − credit applied − paid) of unpaid invoices" }),
      overdue: Money.openapi({ description: "Arrears: the part past its due date" }),
      invoicesOutstanding: Count,
      invoicesOverdue: Count,
      aging: Aging,
    }),
    incidents: z.object({
      from: Timestamp.openapi({ description: "The last 30 days: opened at or after this instant" }),
      to: Timestamp.openapi({ description: "… and before this one (now)" }),
      monitoredElevators: Count.openapi({ description: "Elevators with a sensor that is not revoked" }),
      ebikeIncidents: Count,
      halts: Count,
      perElevatorPerMonth: z
        .string()
        .nullable()
        .openapi({ description: "e-bike incidents ÷ monitored elevators over the last 30 days" }),
      falseAlarms: Count,
      classified: Count,
      falseAlarmRate: z.string().nullable().openapi({ description: "false alarms ÷ classified incidents" }),
    }),
  })
  .openapi("StreetDashboard");

export const getDashboard = createRoute({
  operationId: "getDashboard",
  method: "get",
  path: "/streets/{id}/dashboard",
  tags,
  security,
  summary: "The street's progress, money, transfers and incidents (street office, platform admin)",
  description:
    "Facilities retrofitted (operating + transferred), under construction and planned against the street's targets, large and mini garages apart; guidance funds committed (terms in force of signed, under construction, operating and transferred contracts) and paid; contracts by state; transfers due within 12 months (overdue ones included); receivables and arrears of the residents' invoices; e-bike incident rates over the last 30 days.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Dashboard, "The dashboard"), ...errorResponses },
});
