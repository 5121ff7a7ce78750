import { describe, expect, it } from "vitest";
import { CONTRACT_STATES, isTerminal, type Party, requiredSigners, signatureStatus } from "./lifecycle.js";

describe("states", () => {
  it("transferred and terminated contracts are final", () => {
    expect(CONTRACT_STATES.filter(isTerminal)).toEqual(["transferred", "terminated"]);
  });
});

describe("signatures", () => {
  it("the street office signs only when it is a party and puts in guidance funds", () => {
    const base: Party[] = ["enterprise", "owners_committee", "property_company"];
    expect(requiredSigners({ guidanceFunds: "150000.00", hasStreetOffice: true })).toEqual([
      ...base,
      "street_office",
    ]);
    expect(requiredSigners({ guidanceFunds: "0.00", hasStreetOffice: true })).toEqual(base);
    expect(requiredSigners({ guidanceFunds: "0", hasStreetOffice: true })).toEqual(base);
    expect(requiredSigners({ guidanceFunds: "0.01", hasStreetOffice: true })).toEqual([
      ...base,
      "street_office",
    ]);
    expect(requiredSigners({ guidanceFunds: "150000.00", hasStreetOffice: false })).toEqual(base);
  });

  it("a contract is fully signed only when every required party has signed", () => {
    const required: Party[] = ["enterprise", "owners_committee", "property_company"];
    expect(signatureStatus(required, ["enterprise"])).toEqual({
      complete: false,
      missing: ["owners_committee", "property_company"],
    });
    expect(signatureStatus(required, ["property_company", "owners_committee", "enterprise"])).toEqual({
      complete: true,
      missing: [],
    });
    expect(signatureStatus(required, [...required, "street_office"]).complete).toBe(true);
  });
});
