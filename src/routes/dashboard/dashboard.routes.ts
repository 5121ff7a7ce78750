import { z } from "@hono/zod-openapi";
import { AGING_BUCKETS, CONTRACT_STATES } from "../../../contracts/index.js";
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
      until: CalendarDate,
      count: Count,
      overdue: Count,
      items: z.array(
        z.object({
          contractId: Uuid,
          title: z.string(),
          communityId: Uuid,
          state: z.string(),
          transferDate: CalendarDate,
          daysUntilTransfer: Count,
          overdue: z.boolean(),
        }),
      ),
    }),
    receivables: z.object({
      outstanding: Money.openapi({ description: "Σ (total − credit applied − paid) of unpaid invoices" }),
      overdue: Money.openapi({ description: "Arrears: the part past its due date" }),
      invoicesOutstanding: Count,
      invoicesOverdue: Count,
      aging: z.object(
        Object.fromEntries(AGING_BUCKETS.map((b) => [b, Money])) as Record<
          (typeof AGING_BUCKETS)[number],
          typeof Money
        >,
      ),
    }),
    incidents: z.object({
      from: Timestamp,
      to: Timestamp,
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
