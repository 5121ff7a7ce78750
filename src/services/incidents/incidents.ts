/**
 * Incidents: reading them in the caller's scope, and the property company acknowledging and
 * classifying an e-bike incident. Who may classify which incident is the permission table
 * (contracts/permissions.ts).
 */
import { and, count, desc, eq, getTableColumns, gte, isNotNull, isNull, lt, sql } from "drizzle-orm";
import type { Queryable } from "../../../db/database.js";
import { incidents } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import { exportBatches, type Window } from "../batches.js";
import type { ServiceContext } from "../context.js";
import { authorize, authorizeOrg } from "../permissions.js";
import { incidentScope } from "./scope.js";

export type IncidentRow = typeof incidents.$inferSelect;

export interface IncidentFilter {
  kind?: IncidentRow["kind"];
  state?: "open" | "closed";
  acknowledged?: boolean;
  communityId?: string;
  facilityId?: string;
  /** Opened at or after this instant (RFC 3339). */
  from?: string;
  /** Opened before this instant (RFC 3339). */
  to?: string;
  limit: number;
  offset: number;
}

export interface Acknowledgement {
  classification: NonNullable<IncidentRow["classification"]>;
  reason?: NonNullable<IncidentRow["falseAlarmReason"]>;
  note?: string;
}

async function findIncident(db: Queryable, p: Principal, id: string): Promise<IncidentRow> {
  const [row] = await db
    .select()
    .from(incidents)
    .where(and(eq(incidents.id, id), incidentScope(p)));
  if (!row) throw ApiError.notFound("The incident");
  return row;
}

/** The incidents in the principal's scope that match the filter: the one WHERE of the page and the export. */
function incidentsWhere(p: Principal, filter: Omit<IncidentFilter, "limit" | "offset">) {
  return and(
    incidentScope(p),
    filter.kind ? eq(incidents.kind, filter.kind) : undefined,
    filter.state === "open"
      ? isNull(incidents.closedAt)
      : filter.state === "closed"
        ? isNotNull(incidents.closedAt)
        : undefined,
    filter.acknowledged === true
      ? isNotNull(incidents.acknowledgedAt)
      : filter.acknowledged === false
        ? isNull(incidents.acknowledgedAt)
        : undefined,
    filter.communityId ? eq(incidents.communityId, filter.communityId) : undefined,
    filter.facilityId ? eq(incidents.facilityId, filter.facilityId) : undefined,
    filter.from ? gte(incidents.openedAt, new Date(filter.from)) : undefined,
    filter.to ? lt(incidents.openedAt, new Date(filter.to)) : undefined,
  );
}

/** Newest first; the id breaks ties (an export resumes after one of two incidents opened together). */
const NEWEST_FIRST = [desc(incidents.openedAt), desc(incidents.id)];

/** A page of the incidents in the caller's scope, newest first, and how many match in all. */
export async function listIncidents(
  ctx: ServiceContext,
  filter: IncidentFilter,
): Promise<{ items: IncidentRow[]; total: number }> {
  authorize(ctx.principal, { type: "read_incidents" });
  const where = incidentsWhere(ctx.principal, filter);
  const [items, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(incidents)
      .where(where)
      .orderBy(...NEWEST_FIRST)
      .limit(filter.limit)
      .offset(filter.offset),
    ctx.db.select({ n: count() }).from(incidents).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

/**
 * Every incident `listIncidents` would list on all its pages (or on the one page `window` names),
 * newest first, read in batches with the same filters and scope.
 */
export function exportIncidents(
  ctx: ServiceContext,
  filter: Omit<IncidentFilter, "limit" | "offset">,
  window?: Window,
): AsyncGenerator<IncidentRow[]> {
  authorize(ctx.principal, { type: "read_incidents" });
  const where = incidentsWhere(ctx.principal, filter);
  // The cursor is opened_at as PostgreSQL writes it (to the microsecond): a JS Date keeps only
  // milliseconds, and resuming after a rounded instant would skip or repeat rows.
  const batches = exportBatches<IncidentRow & { cursor: string }>(
    (after, limit, offset) =>
      ctx.db
        .select({ ...getTableColumns(incidents), cursor: sql<string>`${incidents.openedAt}::text` })
        .from(incidents)
        .where(
          and(
            where,
            after
              ? sql`(${incidents.openedAt}, ${incidents.id}) < (${after.cursor}::timestamptz, ${after.id}::uuid)`
              : undefined,
          ),
        )
        .orderBy(...NEWEST_FIRST)
        .limit(limit)
        .offset(offset),
    window,
  );
  return batches;
}

export async function getIncident(ctx: ServiceContext, id: string): Promise<IncidentRow> {
  const row = await findIncident(ctx.db, ctx.principal, id);
  authorize(ctx.principal, { type: "read_incidents" });
  return row;
}

/** The property company acknowledges an e-bike incident and classifies it (once). */
export async function acknowledgeIncident(
  ctx: ServiceContext,
  id: string,
  input: Acknowledgement,
): Promise<IncidentRow> {
  const incident = await findIncident(ctx.db, ctx.principal, id);
  const command = (acknowledged: boolean) =>
    ({
      type: "acknowledge_incident",
      incident: { kind: incident.kind, acknowledged },
      classification: input.classification,
      hasReason: Boolean(input.reason),
    }) as const;
  const p = authorizeOrg(ctx.principal, command(incident.acknowledgedAt !== null));
  const [row] = await ctx.db
    .update(incidents)
    .set({
      acknowledgedAt: ctx.clock(),
      acknowledgedByOrgId: p.orgId,
      acknowledgedByPersonId: ctx.principal.person?.id ?? null,
      acknowledgedByName: ctx.principal.person?.name ?? null,
      classification: input.classification,
      falseAlarmReason: input.reason ?? null,
      note: input.note ?? null,
      updatedAt: sql`now()`,
    })
    // Acknowledged by someone else between the read and the write: the same refusal as before it.
    .where(and(eq(incidents.id, incident.id), isNull(incidents.acknowledgedAt)))
    .returning();
  if (!row) {
    authorize(ctx.principal, command(true));
    throw new Error("the permission table allowed acknowledging an acknowledged incident");
  }
  return row;
}
