import { describe, expect, it } from "vitest";
import { formatMoney } from "./money.js";
import { type ContractTerms, type FeeItem, fundingSummary, priceFor, validateTerms } from "./terms.js";

function elevatorTerms(): ContractTerms {
  return {
    totalInvestment: "1000000.00",
    enterpriseCapital: "850000.00",
    guidanceFunds: "150000.00",
    operationTermMonths: 180,
    handbackConditions: [
      { code: "HB-1", description: "Elevator passes the annual inspection" },
      { code: "HB-2", description: "Maintenance records handed over" },
    ],
    maintenanceObligations: "Enterprise carries all maintenance until transfer.",
    feeSchedule: [
      {
        code: "EL-M",
        name: "Monthly elevator use",
        kind: "monthly",
        price: "60.00",
        unit: "household",
        floorPrices: [
          { floor: 2, price: "30.00" },
          { floor: 3, price: "45.00" },
          { floor: 4, price: "60.00" },
          { floor: 5, price: "75.00" },
          { floor: 6, price: "90.50" },
        ],
      },
      { code: "EL-Y", name: "Yearly elevator use", kind: "yearly", price: "600.00", unit: "household" },
    ],
  };
}

function garageTerms(): ContractTerms {
  return {
    totalInvestment: "300000.00",
    enterpriseCapital: "255000.00",
    guidanceFunds: "45000.00",
    operationTermMonths: 96,
    handbackConditions: [{ code: "G-1", description: "Chargers in working order" }],
    maintenanceObligations: "",
    feeSchedule: [
      { code: "PARK-M", name: "Monthly parking", kind: "monthly", price: "15.00", unit: "slot" },
      { code: "CHG", name: "Charging", kind: "per_use", price: "1.20", unit: "kWh" },
      { code: "CHG-H", name: "Charging by the hour", kind: "per_use", price: "0.50", unit: "hour" },
      { code: "CARD", name: "Access card", kind: "one_off", price: "20.00", unit: "household" },
    ],
  };
}

const paths = (t: ContractTerms, opts?: Parameters<typeof validateTerms>[1]) =>
  validateTerms(t, opts).map((i) => i.path);

describe("validating contract terms", () => {
  it("well-formed elevator and garage terms have no issues", () => {
    expect(validateTerms(elevatorTerms(), { facilityKinds: ["elevator"] })).toEqual([]);
    expect(validateTerms(garageTerms(), { facilityKinds: ["garage"] })).toEqual([]);
    expect(validateTerms(elevatorTerms())).toEqual([]);
  });

  it("a malformed price is reported at its path", () => {
    const t = garageTerms();
    (t.feeSchedule[2] as FeeItem).price = "0.505";
    expect(validateTerms(t)).toEqual([
      { path: "feeSchedule.2.price", message: "must be a decimal string with at most 2 decimal places" },
    ]);
  });

  it("a price above 100000.00 and a negative investment are refused", () => {
    const t = elevatorTerms();
    (t.feeSchedule[1] as FeeItem).price = "100000.01";
    t.totalInvestment = "-1";
    expect(validateTerms(t)).toEqual([
      { path: "totalInvestment", message: "must not be negative" },
      { path: "feeSchedule.1.price", message: "must be at most 100000.00" },
    ]);
  });

  it("enterprise capital plus guidance funds may not exceed the total investment", () => {
    const t = elevatorTerms();
    t.enterpriseCapital = "850000.01";
    expect(paths(t)).toEqual(["enterpriseCapital"]);
    t.enterpriseCapital = "800000.00"; // the rest may come from other sources
    expect(paths(t)).toEqual([]);
  });

  it("the operation term is a whole number of months from 1 to 600", () => {
    for (const bad of [0, 601, 12.5, Number.NaN, -12]) {
      const t = elevatorTerms();
      t.operationTermMonths = bad;
      expect(paths(t), String(bad)).toEqual(["operationTermMonths"]);
    }
    for (const ok of [1, 600]) {
      const t = elevatorTerms();
      t.operationTermMonths = ok;
      expect(paths(t)).toEqual([]);
    }
  });

  it("fee codes and handback codes must be unique", () => {
    const t = garageTerms();
    (t.feeSchedule[1] as FeeItem).code = "PARK-M";
    t.handbackConditions.push({ code: "G-1", description: "again" });
    expect(paths(t)).toEqual(["handbackConditions.1.code", "feeSchedule.1.code"]);
  });

  it("codes, names and descriptions must not be empty", () => {
    const t = garageTerms();
    (t.feeSchedule[0] as FeeItem).code = " ";
    (t.feeSchedule[0] as FeeItem).name = "";
    t.handbackConditions[0] = { code: "", description: "" };
    expect(paths(t)).toEqual([
      "handbackConditions.0.code",
      "handbackConditions.0.description",
      "feeSchedule.0.code",
      "feeSchedule.0.name",
    ]);
  });

  it("floor numbers are unique integers from -3 to 100", () => {
    const t = elevatorTerms();
    const item = t.feeSchedule[0] as FeeItem;
    item.floorPrices = [
      { floor: -3, price: "0.00" },
      { floor: 100, price: "1.00" },
      { floor: 3, price: "1.00" },
      { floor: 3, price: "2.00" },
      { floor: -4, price: "1.00" },
      { floor: 101, price: "1.00" },
      { floor: 2.5, price: "1.00" },
      { floor: 7, price: "1.001" },
    ];
    expect(validateTerms(t)).toEqual([
      { path: "feeSchedule.0.floorPrices.3.floor", message: "duplicate floor 3" },
      { path: "feeSchedule.0.floorPrices.4.floor", message: "must be an integer floor from -3 to 100" },
      { path: "feeSchedule.0.floorPrices.5.floor", message: "must be an integer floor from -3 to 100" },
      { path: "feeSchedule.0.floorPrices.6.floor", message: "must be an integer floor from -3 to 100" },
      {
        path: "feeSchedule.0.floorPrices.7.price",
        message: "must be a decimal string with at most 2 decimal places",
      },
    ]);
  });

  it("per-floor prices are refused for a garage-only contract", () => {
    expect(paths(elevatorTerms(), { facilityKinds: ["garage"] })).toEqual(["feeSchedule.0.floorPrices"]);
    expect(paths(elevatorTerms(), { facilityKinds: ["garage", "elevator"] })).toEqual([]);
  });

  it("a per-use fee is charged per ride, kWh or hour; a monthly or yearly fee per household or slot", () => {
    const t = garageTerms();
    (t.feeSchedule[0] as FeeItem).unit = "kWh";
    (t.feeSchedule[1] as FeeItem).unit = "slot";
    expect(validateTerms(t)).toEqual([
      { path: "feeSchedule.0.unit", message: "a monthly fee must use one of household, slot" },
      { path: "feeSchedule.1.unit", message: "a per_use fee must use one of ride, kWh, hour" },
    ]);
  });

  it("unknown kinds and units are refused", () => {
    const t = garageTerms();
    (t.feeSchedule[0] as unknown as { kind: string }).kind = "weekly";
    (t.feeSchedule[1] as unknown as { unit: string }).unit = "litre";
    expect(paths(t)).toEqual(["feeSchedule.0.kind", "feeSchedule.1.unit"]);
  });
});

describe("fee arithmetic by floor", () => {
  const item = elevatorTerms().feeSchedule[0] as FeeItem;

  it("a sixth-floor household pays the sixth-floor price to the fen", () => {
    expect(formatMoney(priceFor(item, 6))).toBe("90.50");
    expect(formatMoney(priceFor(item, 2))).toBe("30.00");
  });

  it("a ground-floor household without a floor price pays 0.00", () => {
    expect(formatMoney(priceFor(item, 1))).toBe("0.00");
  });

  it("without per-floor prices, or without a floor, the item price applies", () => {
    expect(formatMoney(priceFor(elevatorTerms().feeSchedule[1] as FeeItem, 6))).toBe("600.00");
    expect(formatMoney(priceFor(item))).toBe("60.00");
    expect(formatMoney(priceFor({ ...item, floorPrices: [] }, 6))).toBe("60.00");
  });

  it("a year of sixth-floor use is twelve times the monthly price, exactly", () => {
    expect(formatMoney(priceFor(item, 6).times(12))).toBe("1086.00");
  });
});

describe("funding summary", () => {
  it("splits the investment and shows the guidance share", () => {
    expect(fundingSummary(elevatorTerms())).toEqual({
      totalInvestment: "1000000.00",
      enterpriseCapital: "850000.00",
      guidanceFunds: "150000.00",
      otherFunding: "0.00",
      guidanceSharePercent: "15.00",
    });
  });

  it("counts what neither the enterprise nor the street office pays as other funding", () => {
    const t = {
      ...elevatorTerms(),
      totalInvestment: "823045.20",
      enterpriseCapital: "600000",
      guidanceFunds: "123456.78",
    };
    expect(fundingSummary(t)).toMatchObject({
      enterpriseCapital: "600000.00",
      otherFunding: "99588.42",
      guidanceSharePercent: "15.00",
    });
  });
});
