/**
 * E-bike incidents of one elevator, derived from its sensors' events. Pure: no I/O.
 *
 * The rule: an elevator's incidents are what you get by replaying its `ebike_detected` and
 * `ebike_cleared` events in occurredAt order (not arrival order):
 *   - `detected` with no incident open opens one; with one open, it attaches (detections + 1);
 *     a detection that reported `carHalted: true` marks its incident halted (see haltedCar);
 *   - `cleared` closes the open incident (halt = closedAt − openedAt, see haltSeconds); with none
 *     open it is ignored.
 * At one instant, every `detected` sorts before every `cleared`, so a bike detected and cleared in
 * the same millisecond still yields one closed incident.
 *
 * Ingest applies the rule incrementally: when a batch stores new events for an elevator, it
 * replays the events from the latest incident opened at or before the earliest new event (no
 * incident is open just before an incident's opening detection, so that is a safe starting state)
 * and reconciles the result with the stored incidents. Late, out-of-order and redelivered events
 * therefore all converge on the incidents a full replay would give.
 */

export type EbikeEventType = "ebike_detected" | "ebike_cleared";

export interface EbikeEvent {
  sensorId: string;
  eventId: string;
  type: EbikeEventType;
  occurredAt: Date;
  /** A detection's `carHalted` (false for a clear). */
  carHalted: boolean;
}

export interface DerivedIncident {
  /** The sensor whose detection opened the incident. */
  sensorId: string;
  openedAt: Date;
  closedAt: Date | null;
  detections: number;
  haltSeconds: number | null;
  /** Some detection within it reported the car halted (haltedCar). */
  halted: boolean;
}

export interface StoredIncident {
  id: string;
  /** The sensor whose detection opened it (a late, earlier detection of another sensor changes it). */
  sensorId: string;
  openedAt: Date;
  closedAt: Date | null;
  detections: number;
  haltSeconds: number | null;
  /** Some detection within it reported the car halted (haltedCar). */
  halted: boolean;
}

export function compareEvents(a: EbikeEvent, b: EbikeEvent): number {
  return (
    a.occurredAt.getTime() - b.occurredAt.getTime() ||
    rank(a.type) - rank(b.type) ||
    (a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : 0) ||
    (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0)
  );
}
const rank = (type: EbikeEventType) => (type === "ebike_detected" ? 0 : 1);

/**
 * The halt of a closed incident: from its first detection to the clear, in whole seconds, rounded
 * DOWN (a car halted 95.5 s is reported as 95 s; 0.999 s as 0). Whole seconds elapsed, as a
 * stopwatch shows them: a halt is never reported longer than it was, and the sum of halts in the
 * statistics counts only time that passed.
 */
export const haltSeconds = (openedAt: Date, closedAt: Date) =>
  Math.max(0, Math.floor((closedAt.getTime() - openedAt.getTime()) / 1000));

/** Replays events (any order given; sorted here) from a state with no incident open. */
export function deriveIncidents(events: readonly EbikeEvent[]): DerivedIncident[] {
  const out: DerivedIncident[] = [];
  let open: DerivedIncident | null = null;
  for (const e of [...events].sort(compareEvents)) {
    if (e.type === "ebike_detected") {
      if (open) {
        open.detections += 1;
        open.halted ||= e.carHalted;
      } else {
        open = {
          sensorId: e.sensorId,
          openedAt: e.occurredAt,
          closedAt: null,
          detections: 1,
          haltSeconds: null,
          halted: e.carHalted,
        };
        out.push(open);
      }
    } else if (open) {
      open.closedAt = e.occurredAt;
      open.haltSeconds = haltSeconds(open.openedAt, e.occurredAt);
      open = null;
    }
  }
  return out;
}

export interface IncidentPlan {
  /** Stored incidents whose fields change (ids kept, so acknowledgements survive). */
  updates: StoredIncident[];
  inserts: DerivedIncident[];
  /** Stored incidents no derived incident accounts for (only possible if events vanished). */
  deletes: string[];
}

/**
 * Matches derived incidents to the stored ones of the same window: a stored incident is the
 * derived incident whose span contains its opening instant (the span only ever grows backwards
 * or splits in two when late events arrive, so the opening detection stays inside it).
 */
export function planIncidents(
  stored: readonly StoredIncident[],
  derived: readonly DerivedIncident[],
): IncidentPlan {
  const plan: IncidentPlan = { updates: [], inserts: [], deletes: [] };
  const unmatched = [...stored].sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
  for (const d of derived) {
    const from = d.openedAt.getTime();
    const to = d.closedAt ? d.closedAt.getTime() : Number.POSITIVE_INFINITY;
    const index = unmatched.findIndex((s) => s.openedAt.getTime() >= from && s.openedAt.getTime() <= to);
    const match = index >= 0 ? unmatched.splice(index, 1)[0] : undefined;
    if (!match) {
      plan.inserts.push(d);
      continue;
    }
    const changed =
      match.sensorId !== d.sensorId ||
      match.openedAt.getTime() !== d.openedAt.getTime() ||
      (match.closedAt?.getTime() ?? null) !== (d.closedAt?.getTime() ?? null) ||
      match.detections !== d.detections ||
      match.haltSeconds !== d.haltSeconds ||
      match.halted !== d.halted;
    if (changed) plan.updates.push({ id: match.id, ...d });
  }
  plan.deletes = unmatched.map((s) => s.id);
  // Closing updates first, so the one-open-incident-per-elevator index never sees two open.
  plan.updates.sort((a, b) => Number(a.closedAt === null) - Number(b.closedAt === null));
  return plan;
}

// ---- halts: which incidents halted the car, and their figures ---------------------------------
// The replay above keeps `halted` on each incident; the statistics sum it in SQL (db/incidents.ts
// `haltFigures`). These are the rules stated on their own, against which
// test/iot/halts-property.test.ts checks the stored column and the SQL.

/** An `ebike_detected` event of an elevator (from any of its sensors): when, and whether the car halted. */
export interface HaltReport {
  occurredAt: Date;
  carHalted: boolean;
}

/**
 * Whether an e-bike incident halted the car: some detection on its elevator from its opening to its
 * closing, both included (while open: from its opening on), reported `carHalted: true`. A bike
 * detected twice may halt the car only the second time; a late detection may mark it afterwards.
 */
export function haltedCar(
  incident: { openedAt: Date; closedAt: Date | null },
  detections: readonly HaltReport[],
): boolean {
  const from = incident.openedAt.getTime();
  const to = incident.closedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return detections.some(
    (d) => d.carHalted && d.occurredAt.getTime() >= from && d.occurredAt.getTime() <= to,
  );
}

/** The halt figures of a group of e-bike incidents. */
export interface HaltFigures {
  /** Incidents that halted the car. */
  halts: number;
  /** Total seconds of the closed halts (an open halt has no duration yet). */
  haltSeconds: number;
  /** 95th percentile of the closed halts' seconds (`percentileCont`); null with none. */
  p95Seconds: number | null;
}

/**
 * The continuous percentile of PostgreSQL's `percentile_cont(fraction)` over `values`: the value at
 * position fraction × (n − 1) of the sorted values, interpolated linearly between its neighbours
 * (p95 of [120, 300, 600] is 300 + 0.9 × 300 = 570). Computed in doubles, as PostgreSQL does; null
 * for no values.
 */
export function percentileCont(values: readonly number[], fraction: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const below = sorted[Math.floor(position)] ?? 0;
  const above = sorted[Math.ceil(position)] ?? below;
  return above === below ? below : below + (above - below) * (position - Math.floor(position));
}

/** Halts, their total seconds and p95 over a group of e-bike incidents (`halted` from `haltedCar`). */
export function haltFigures(
  incidents: readonly { halted: boolean; haltSeconds: number | null }[],
): HaltFigures {
  const closedHalts = incidents.flatMap((i) => (i.halted && i.haltSeconds !== null ? [i.haltSeconds] : []));
  return {
    halts: incidents.filter((i) => i.halted).length,
    haltSeconds: closedHalts.reduce((sum, s) => sum + s, 0),
    p95Seconds: percentileCont(closedHalts, 0.95),
  };
}
