/**
 * Operation report reconciliation: each figure the enterprise reports beside the platform's own
 * figure from the ledger and the incidents, with the difference and a flag when the difference
 * is beyond the tolerance.
 */
import { Decimal } from "decimal.js";

const NUMBER_RE = /^-?\d+(\.\d+)?$/;
const TOLERANCE_RE = /^\d+(\.\d+)?$/;

export interface Tolerance {
  /** Largest difference always accepted, in the figure's own unit ("1.00" yuan, "0" rides). */
  absolute: string;
  /** Largest difference accepted as a share of the platform's figure ("0.01" = 1 %). */
  relative: string;
}

export type ReconcileReason =
  | "within_tolerance"
  | "beyond_tolerance"
  | "missing_reported"
  | "missing_platform";

export interface ReconciledFigure {
  figure: string;
  reported: string | null;
  platform: string | null;
  /** reported − platform, with as many decimals as the more precise of the two; null if one is missing. */
  difference: string | null;
  /** The accepted difference for this figure: max(absolute, relative × |platform|). */
  allowed: string | null;
  flagged: boolean;
  reason: ReconcileReason;
}

export interface Reconciliation {
  figures: ReconciledFigure[];
  flaggedCount: number;
}

function scale(s: string): number {
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
}

function parseFigure(name: string, v: string): Decimal {
  if (typeof v !== "string" || !NUMBER_RE.test(v)) {
    throw new RangeError(`${name} must be a decimal string: ${JSON.stringify(v)}`);
  }
  return new Decimal(v);
}

/**
 * Compare the reported figures with the platform's, figure by figure (money, counts, kWh,
 * availability %, all as decimal strings). A figure is FLAGGED when
 *   |reported − platform| > max(absolute tolerance, relative tolerance × |platform|),
 * so a difference exactly at the tolerance passes. A figure present on only one side is
 * flagged as missing. Figures come out in the order of the reported figures, then the
 * platform's figures the report left out.
 * Throws a RangeError on a malformed figure or tolerance (tolerances must be ≥ 0).
 */
export function reconcile(
  reported: Record<string, string>,
  platform: Record<string, string>,
  tolerance: Tolerance,
): Reconciliation {
  for (const k of ["absolute", "relative"] as const) {
    if (typeof tolerance[k] !== "string" || !TOLERANCE_RE.test(tolerance[k])) {
      throw new RangeError(`tolerance.${k} must be a non-negative decimal string`);
    }
  }
  const abs = new Decimal(tolerance.absolute);
  const rel = new Decimal(tolerance.relative);
  const names = [
    ...Object.keys(reported),
    ...Object.keys(platform).filter((k) => !Object.hasOwn(reported, k)),
  ];
  const figures = names.map((figure): ReconciledFigure => {
    const r = Object.hasOwn(reported, figure) ? reported[figure] : undefined;
    const p = Object.hasOwn(platform, figure) ? platform[figure] : undefined;
    if (r === undefined || p === undefined) {
      if (r !== undefined) parseFigure(`reported.${figure}`, r);
      if (p !== undefined) parseFigure(`platform.${figure}`, p);
      return {
        figure,
        reported: r ?? null,
        platform: p ?? null,
        difference: null,
        allowed: null,
        flagged: true,
        reason: r === undefined ? "missing_reported" : "missing_platform",
      };
    }
    const rd = parseFigure(`reported.${figure}`, r);
    const pd = parseFigure(`platform.${figure}`, p);
    const diff = rd.minus(pd);
    const allowed = Decimal.max(abs, rel.times(pd.abs()));
    const flagged = diff.abs().gt(allowed);
    const places = Math.max(scale(r), scale(p));
    const d = diff.toFixed(places);
    return {
      figure,
      reported: r,
      platform: p,
      difference: /^-0(\.0+)?$/.test(d) ? d.slice(1) : d,
      allowed: allowed.toString(),
      flagged,
      reason: flagged ? "beyond_tolerance" : "within_tolerance",
    };
  });
  return { figures, flaggedCount: figures.filter((f) => f.flagged).length };
}
