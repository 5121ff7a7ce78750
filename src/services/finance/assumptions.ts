/**
 * The enterprise's assumptions behind a contract's financial model: the shape the finance routes
 * accept and the finance service stores as JSON and reads back when it projects the model.
 */
import { z } from "@hono/zod-openapi";
import { FeeCodeKey, Text } from "../../openapi.js";

/** Amounts, rates and quantities are decimal strings; their ranges are the domain's (validateFinancialInputs). */
const DecimalString = Text.max(24);

export const Assumptions = z
  .strictObject({
    takeUp: z.strictObject({
      rates: z
        .record(FeeCodeKey, DecimalString)
        .optional()
        .openapi({
          description: "Share of the households taking each fee item, 0–1",
          example: { "EL-M": "0.60" },
        }),
      slots: z.record(FeeCodeKey, z.number().int()).optional().openapi({
        description: "A fixed number of subscribers (garage slots) by fee code; wins over a rate",
      }),
      householdsByFloor: z
        .array(z.strictObject({ floor: z.number().int().min(-3).max(100), households: z.number().int() }))
        .max(110)
        .optional()
        .openapi({ description: "Default: the household register of the contract's elevator buildings" }),
    }),
    yearlyCosts: z.strictObject({
      maintenance: DecimalString,
      electricity: DecimalString,
      insurance: DecimalString,
      other: DecimalString,
    }),
    usagePerYear: z
      .record(FeeCodeKey, DecimalString)
      .optional()
      .openapi({ description: "Units per year of per_use items (kWh, rides, hours)" }),
    discountRate: DecimalString.openapi({ description: "A decimal fraction 0–1 a year", example: "0.05" }),
  })
  .openapi("FinancialAssumptions");

export type FinancialAssumptions = z.output<typeof Assumptions>;
