import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateVote, type VoteResult, type VoteTally } from "./vote.js";

/** 90 owners holding 9000.00 m²; exactly 2/3 take part and exactly 3/4 of them vote yes. */
const atBoundary: VoteTally = {
  matter: "special",
  totalArea: "9000.00",
  totalOwners: 90,
  participatingArea: "6000.00",
  participatingOwners: 60,
  yesArea: "4500.00",
  yesOwners: 45,
};

function valid(r: VoteResult) {
  if (!r.valid) throw new Error(`invalid tally: ${JSON.stringify(r.issues)}`);
  return r;
}

describe("a special matter under art. 278 (adding an elevator)", () => {
  it("a special matter passes at exactly 2/3 participation and 3/4 approval", () => {
    const r = valid(evaluateVote(atBoundary));
    expect(r.passed).toBe(true);
    expect(r.failed).toEqual([]);
    expect(r.ratios).toEqual([
      {
        measure: "participation_area",
        numerator: "6000.00",
        denominator: "9000.00",
        ratio: "0.6666",
        threshold: "2/3",
        met: true,
      },
      {
        measure: "participation_owners",
        numerator: "60",
        denominator: "90",
        ratio: "0.6666",
        threshold: "2/3",
        met: true,
      },
      {
        measure: "approval_area",
        numerator: "4500.00",
        denominator: "6000.00",
        ratio: "0.7500",
        threshold: "3/4",
        met: true,
      },
      {
        measure: "approval_owners",
        numerator: "45",
        denominator: "60",
        ratio: "0.7500",
        threshold: "3/4",
        met: true,
      },
    ]);
  });

  it("fails when participating area is 0.01 m² short of 2/3", () => {
    const r = valid(evaluateVote({ ...atBoundary, participatingArea: "5999.99" }));
    expect(r).toMatchObject({ passed: false, failed: ["participation_area"] });
  });

  it("fails when one owner fewer takes part than 2/3", () => {
    const r = valid(evaluateVote({ ...atBoundary, participatingOwners: 59 }));
    expect(r).toMatchObject({ passed: false, failed: ["participation_owners"] });
  });

  it("fails when the yes area is 0.01 m² short of 3/4 of the participating area", () => {
    const r = valid(evaluateVote({ ...atBoundary, yesArea: "4499.99" }));
    expect(r).toMatchObject({ passed: false, failed: ["approval_area"] });
  });

  it("fails when one owner fewer than 3/4 of the participants votes yes", () => {
    const r = valid(evaluateVote({ ...atBoundary, yesOwners: 44 }));
    expect(r).toMatchObject({ passed: false, failed: ["approval_owners"] });
  });

  it("lists every measure that failed", () => {
    const r = valid(
      evaluateVote({
        ...atBoundary,
        participatingArea: "5000.00",
        participatingOwners: 50,
        yesArea: "10.00",
        yesOwners: 1,
      }),
    );
    expect(r.failed).toEqual([
      "participation_area",
      "participation_owners",
      "approval_area",
      "approval_owners",
    ]);
  });

  it("a unanimous vote of everyone passes", () => {
    const r = valid(
      evaluateVote({
        ...atBoundary,
        participatingArea: "9000",
        participatingOwners: 90,
        yesArea: "9000",
        yesOwners: 90,
      }),
    );
    expect(r.passed).toBe(true);
    expect(r.ratios.map((x) => x.ratio)).toEqual(["1.0000", "1.0000", "1.0000", "1.0000"]);
  });

  it("a vote nobody took part in fails, with approval ratios of 0.0000", () => {
    const r = valid(
      evaluateVote({
        ...atBoundary,
        participatingArea: "0.00",
        participatingOwners: 0,
        yesArea: "0",
        yesOwners: 0,
      }),
    );
    expect(r.passed).toBe(false);
    const approvals = r.ratios.filter((x) => x.measure.startsWith("approval"));
    expect(approvals.map((x) => [x.ratio, x.met])).toEqual([
      ["0.0000", false],
      ["0.0000", false],
    ]);
    expect(r.failed).toEqual([
      "participation_area",
      "participation_owners",
      "approval_area",
      "approval_owners",
    ]);
  });
});

describe("an ordinary matter", () => {
  const ordinary: VoteTally = { ...atBoundary, matter: "ordinary", yesArea: "3000.01", yesOwners: 31 };

  it("passes with more than half of the participants by area and by headcount", () => {
    const r = valid(evaluateVote(ordinary));
    expect(r.passed).toBe(true);
    expect(r.ratios.map((x) => x.threshold)).toEqual(["2/3", "2/3", "1/2", "1/2"]);
  });

  it("exactly half is not a majority, on either measure", () => {
    expect(valid(evaluateVote({ ...ordinary, yesArea: "3000.00" }))).toMatchObject({
      passed: false,
      failed: ["approval_area"],
    });
    expect(valid(evaluateVote({ ...ordinary, yesOwners: 30 }))).toMatchObject({
      passed: false,
      failed: ["approval_owners"],
    });
  });

  it("still needs 2/3 participation", () => {
    expect(valid(evaluateVote({ ...ordinary, participatingOwners: 59 }))).toMatchObject({
      passed: false,
      failed: ["participation_owners"],
    });
  });
});

describe("validating a tally", () => {
  it("reports every malformed field", () => {
    const r = evaluateVote({
      matter: "urgent" as VoteTally["matter"],
      totalArea: "-5",
      totalOwners: 1.5,
      participatingArea: "12.345",
      participatingOwners: -1,
      yesArea: "1e3",
      yesOwners: Number.NaN,
    });
    expect(r).toEqual({
      valid: false,
      issues: [
        { field: "matter", message: 'must be "special" or "ordinary"' },
        { field: "totalArea", message: "must not be negative" },
        {
          field: "participatingArea",
          message: "must be a decimal string (m²) with at most 2 decimal places",
        },
        { field: "yesArea", message: "must be a decimal string (m²) with at most 2 decimal places" },
        { field: "totalOwners", message: "must be a non-negative integer" },
        { field: "participatingOwners", message: "must be a non-negative integer" },
        { field: "yesOwners", message: "must be a non-negative integer" },
      ],
    });
  });

  it("yes may not exceed participating, nor participating the total", () => {
    const r = evaluateVote({
      ...atBoundary,
      participatingArea: "9000.01",
      yesArea: "9000.02",
      participatingOwners: 91,
      yesOwners: 92,
    });
    expect(r).toEqual({
      valid: false,
      issues: [
        { field: "participatingArea", message: "must not exceed totalArea" },
        { field: "yesArea", message: "must not exceed participatingArea" },
        { field: "participatingOwners", message: "must not exceed totalOwners" },
        { field: "yesOwners", message: "must not exceed participatingOwners" },
      ],
    });
  });

  it("an empty building cannot vote", () => {
    const r = evaluateVote({
      matter: "special",
      totalArea: "0",
      totalOwners: 0,
      participatingArea: "0",
      participatingOwners: 0,
      yesArea: "0",
      yesOwners: 0,
    });
    expect(r).toEqual({
      valid: false,
      issues: [
        { field: "totalArea", message: "must be greater than 0" },
        { field: "totalOwners", message: "must be greater than 0" },
      ],
    });
  });
});

describe("the decision is exact (property)", () => {
  const toArea = (cents: bigint) => `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;

  /** Independent reference: rational comparisons on integers (area in fen of m², i.e. ×100). */
  function reference(matter: "special" | "ordinary", n: bigint[]): boolean {
    const [tA, pA, yA, tO, pO, yO] = n as [bigint, bigint, bigint, bigint, bigint, bigint];
    const part = (p: bigint, t: bigint) => 3n * p >= 2n * t;
    const appr = (y: bigint, p: bigint) => p > 0n && (matter === "special" ? 4n * y >= 3n * p : 2n * y > p);
    return part(pA, tA) && part(pO, tO) && appr(yA, pA) && appr(yO, pO);
  }

  const nested = (max: bigint) =>
    fc
      .bigInt({ min: 1n, max })
      .chain((t) =>
        fc
          .bigInt({ min: 0n, max: t })
          .chain((p) => fc.tuple(fc.constant(t), fc.constant(p), fc.bigInt({ min: 0n, max: p }))),
      );

  it("matches the BigInt cross-multiplication on scaled integers", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("special" as const, "ordinary" as const),
        fc.oneof(nested(1_000_000_000_000n), nested(400n)),
        fc.oneof(nested(100_000n), nested(12n)),
        (matter, [tA, pA, yA], [tO, pO, yO]) => {
          const r = evaluateVote({
            matter,
            totalArea: toArea(tA),
            participatingArea: toArea(pA),
            yesArea: toArea(yA),
            totalOwners: Number(tO),
            participatingOwners: Number(pO),
            yesOwners: Number(yO),
          });
          expect(r.valid).toBe(true);
          if (r.valid) expect(r.passed).toBe(reference(matter, [tA, pA, yA, tO, pO, yO]));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
