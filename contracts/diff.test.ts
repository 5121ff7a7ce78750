import { describe, expect, it } from "vitest";
import { diffTerms } from "./diff.js";
import type { ContractTerms } from "./terms.js";

function terms(): ContractTerms {
  return {
    totalInvestment: "1000000.00",
    enterpriseCapital: "850000.00",
    guidanceFunds: "150000.00",
    operationTermMonths: 180,
    handbackConditions: [
      { code: "HB-1", description: "Passes the annual inspection" },
      { code: "HB-2", description: "Records handed over" },
    ],
    maintenanceObligations: "Enterprise maintains until transfer.",
    feeSchedule: [
      {
        code: "EL-M",
        name: "Monthly use",
        kind: "monthly",
        price: "60.00",
        unit: "household",
        floorPrices: [
          { floor: 2, price: "30.00" },
          { floor: 6, price: "90.00" },
          { floor: 10, price: "120.00" },
        ],
      },
      { code: "EL-Y", name: "Yearly use", kind: "yearly", price: "600.00", unit: "household" },
    ],
  };
}

describe("differences between two versions of terms", () => {
  it("identical terms have no differences", () => {
    expect(diffTerms(terms(), terms())).toEqual([]);
  });

  it("amounts written differently but equal are not a change", () => {
    const after = terms();
    after.totalInvestment = "1000000";
    after.feeSchedule[0] = {
      ...after.feeSchedule[0],
      price: "60",
      floorPrices: [
        { floor: 2, price: "30" },
        { floor: 6, price: "90.0" },
        { floor: 10, price: "120.00" },
      ],
    } as ContractTerms["feeSchedule"][0];
    expect(diffTerms(terms(), after)).toEqual([]);
  });

  it("reordering fee items, floors or handback conditions is not a change", () => {
    const after = terms();
    after.feeSchedule.reverse();
    after.handbackConditions.reverse();
    after.feeSchedule.find((f) => f.code === "EL-M")?.floorPrices?.reverse();
    expect(diffTerms(terms(), after)).toEqual([]);
  });

  it("a sixth-floor price rise is reported at the floor", () => {
    const after = terms();
    const fp = after.feeSchedule[0]?.floorPrices?.[1];
    if (fp) fp.price = "95.00";
    expect(diffTerms(terms(), after)).toEqual([
      { path: "feeSchedule[EL-M].floorPrices[6]", change: "changed", before: "90.00", after: "95.00" },
    ]);
  });

  it("reports scalars, items, floors and handback conditions in a stable order", () => {
    const before = terms();
    const after = terms();
    after.handbackConditions = [
      { code: "HB-2", description: "All records handed over" },
      { code: "HB-0", description: "Keys handed over" },
    ];
    after.operationTermMonths = 120;
    after.enterpriseCapital = "800000.00";
    after.maintenanceObligations = "Enterprise maintains; owners insure.";
    after.feeSchedule = [
      { code: "EL-Y", name: "Yearly use", kind: "yearly", price: "580.00", unit: "household" },
      { code: "CARD", name: "Card", kind: "one_off", price: "20.00", unit: "household" },
      {
        code: "EL-M",
        name: "Monthly elevator use",
        kind: "monthly",
        price: "60.00",
        unit: "household",
        floorPrices: [
          { floor: 10, price: "125.00" },
          { floor: 6, price: "90.00" },
          { floor: 3, price: "45.00" },
        ],
      },
    ];
    const card = after.feeSchedule[1];
    expect(diffTerms(before, after)).toEqual([
      { path: "enterpriseCapital", change: "changed", before: "850000.00", after: "800000.00" },
      { path: "operationTermMonths", change: "changed", before: 180, after: 120 },
      {
        path: "maintenanceObligations",
        change: "changed",
        before: "Enterprise maintains until transfer.",
        after: "Enterprise maintains; owners insure.",
      },
      { path: "feeSchedule[CARD]", change: "added", after: card },
      {
        path: "feeSchedule[EL-M].name",
        change: "changed",
        before: "Monthly use",
        after: "Monthly elevator use",
      },
      { path: "feeSchedule[EL-M].floorPrices[2]", change: "removed", before: "30.00" },
      { path: "feeSchedule[EL-M].floorPrices[3]", change: "added", after: "45.00" },
      { path: "feeSchedule[EL-M].floorPrices[10]", change: "changed", before: "120.00", after: "125.00" },
      { path: "feeSchedule[EL-Y].price", change: "changed", before: "600.00", after: "580.00" },
      {
        path: "handbackConditions[HB-0]",
        change: "added",
        after: { code: "HB-0", description: "Keys handed over" },
      },
      {
        path: "handbackConditions[HB-1]",
        change: "removed",
        before: { code: "HB-1", description: "Passes the annual inspection" },
      },
      {
        path: "handbackConditions[HB-2].description",
        change: "changed",
        before: "Records handed over",
        after: "All records handed over",
      },
    ]);
  });

  it("a removed fee item is reported once with its content, and kind or unit changes per field", () => {
    const after = terms();
    after.feeSchedule = [
      { ...(after.feeSchedule[1] as ContractTerms["feeSchedule"][0]), kind: "monthly", unit: "slot" },
    ];
    expect(diffTerms(terms(), after)).toEqual([
      { path: "feeSchedule[EL-M]", change: "removed", before: terms().feeSchedule[0] },
      { path: "feeSchedule[EL-Y].kind", change: "changed", before: "yearly", after: "monthly" },
      { path: "feeSchedule[EL-Y].unit", change: "changed", before: "household", after: "slot" },
    ]);
  });

  it("dropping all floor prices removes each floor", () => {
    const after = terms();
    const item = after.feeSchedule[0];
    if (item) delete item.floorPrices;
    expect(diffTerms(terms(), after).map((c) => `${c.change} ${c.path}`)).toEqual([
      "removed feeSchedule[EL-M].floorPrices[2]",
      "removed feeSchedule[EL-M].floorPrices[6]",
      "removed feeSchedule[EL-M].floorPrices[10]",
    ]);
  });
});
