/** Terms of a typical added-elevator contract: 800,000.00 invested, 15 % guidance funds, per-floor monthly fees. */
export function elevatorTerms(overrides: Record<string, unknown> = {}) {
  return {
    totalInvestment: "800000.00",
    enterpriseCapital: "680000.00",
    guidanceFunds: "120000.00",
    operationTermMonths: 13,
    handbackConditions: [
      { code: "INSPECTION", description: "特种设备定期检验合格证在有效期内" },
      { code: "MANUALS", description: "维保记录与技术资料移交业委会" },
    ],
    maintenanceObligations: "企业承担运营期内全部维保费用，每月两次例行保养。",
    feeSchedule: [
      {
        code: "EL-M",
        name: "电梯使用费(包月)",
        kind: "monthly",
        price: "0.00",
        unit: "household",
        floorPrices: [
          { floor: 2, price: "30" },
          { floor: 3, price: "40.00" },
          { floor: 4, price: "50.00" },
          { floor: 5, price: "60.00" },
          { floor: 6, price: "70.00" },
        ],
      },
      { code: "EL-Y", name: "电梯使用费(包年)", kind: "yearly", price: "600.00", unit: "household" },
    ],
    ...overrides,
  };
}
