/**
 * The figures of an operation report: the shape the reports routes accept and the reports service
 * stores as JSON and reads back (the detail's comparison, the financial model's actual costs).
 */
import { z } from "@hono/zod-openapi";
import { Decimal } from "decimal.js";
import { CalendarDate, FeeCodeKey, Money, Text } from "../../openapi.js";

const Count = z.number().int().min(0).max(1_000_000_000);
const PERCENT = /^\d{1,3}(\.\d{1,2})?$/;

export const Figures = z
  .strictObject({
    revenueByItem: z.record(FeeCodeKey, Money).openapi({
      description: "Revenue charged per fee code in the period (CNY)",
      example: { "EL-M": "2400.00" },
    }),
    costs: z.strictObject({ maintenance: Money, electricity: Money, insurance: Money, other: Money }),
    usage: z.strictObject({
      rides: Count,
      kWh: z
        .string()
        .regex(
          /^\d{1,11}(\.\d{1,3})?$/,
          "must be a non-negative decimal string with at most 3 decimal places",
        )
        .openapi({ example: "1520.500" }),
      chargingSessions: Count,
    }),
    availabilityPercent: z
      .string()
      .regex(PERCENT, "must be a decimal string with at most 2 decimal places")
      // zod runs this check after a failed regex too: only a decimal is compared.
      .refine((v) => !PERCENT.test(v) || new Decimal(v).lte(100), "must be at most 100")
      .openapi({ example: "99.50" }),
    maintenanceRecords: z
      .array(z.strictObject({ date: CalendarDate, description: Text.trim().min(1).max(2000) }))
      .max(500),
    safetyIncidents: Count,
  })
  .openapi("ReportFigures");

export type ReportFigures = z.output<typeof Figures>;
