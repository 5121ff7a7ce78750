import { and, count, desc, eq, gte, isNotNull, isNull, lt, type SQL, sql } from "drizzle-orm";
import { outer, type Queryable } from "../../../db/database.js";
import { incidents } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope, requireOrg } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { incidentJson } from "./incidents.presenters.js";
import type * as routes from "./incidents.routes.js";

type IncidentRow = typeof incidents.$inferSelect;

/** Street office: its street; OC/PC: their communities; enterprise: incidents of its own sensors. */
export function incidentScope(p: Principal): SQL {
  if (p.role === "enterprise") {
    return sql`exists (select 1 from sensors s where s.id = ${outer(incidents.sensorId)} and s.enterprise_org_id = ${p.orgId ?? ""})`;
  }
  return communityScope(p, incidents.streetId, incidents.communityId);
}

async function findIncident(db: Queryable, p: Principal, id: string): Promise<IncidentRow> {
  const [row] = await db
    .select()
    .from(incidents)
    .where(and(eq(incidents.id, id), incidentScope(p)));
  if (!row) throw ApiError.notFound("The incident");
  return row;
}

export const listIncidents: AppRouteHandler<typeof routes.listIncidents> = async (c) => {
  const q = c.req.valid("query");
  const where = and(
    incidentScope(c.var.principal),
    q.kind ? eq(incidents.kind, q.kind) : undefined,
    q.state === "open"
      ? isNull(incidents.closedAt)
      : q.state === "closed"
        ? isNotNull(incidents.closedAt)
        : undefined,
    q.acknowledged === "true"
      ? isNotNull(incidents.acknowledgedAt)
      : q.acknowledged === "false"
        ? isNull(incidents.acknowledgedAt)
        : undefined,
    q.communityId ? eq(incidents.communityId, q.communityId) : undefined,
    q.facilityId ? eq(incidents.facilityId, q.facilityId) : undefined,
    q.from ? gte(incidents.openedAt, new Date(q.from)) : undefined,
    q.to ? lt(incidents.openedAt, new Date(q.to)) : undefined,
  );
  const db = c.var.db;
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(incidents)
      .where(where)
      .orderBy(desc(incidents.openedAt), desc(incidents.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(incidents).where(where),
  ]);
  return c.json({ items: rows.map(incidentJson), total: total?.n ?? 0 }, 200);
};

export const getIncident: AppRouteHandler<typeof routes.getIncident> = async (c) => {
  const row = await findIncident(c.var.db, c.var.principal, c.req.valid("param").id);
  return c.json(incidentJson(row), 200);
};

export const acknowledgeIncident: AppRouteHandler<typeof routes.acknowledgeIncident> = async (c) => {
  const incident = await findIncident(c.var.db, c.var.principal, c.req.valid("param").id);
  const p = requireOrg(c.var.principal, ["property_company"], "acknowledge incidents");
  const body = c.req.valid("json");
  if (body.classification === "false_alarm" && !body.reason) {
    throw ApiError.validation([{ field: "body.reason", message: "is required for a false alarm" }]);
  }
  if (body.classification === "confirmed" && body.reason) {
    throw ApiError.validation([{ field: "body.reason", message: "is only for a false alarm" }]);
  }
  if (incident.kind !== "ebike") {
    throw ApiError.conflict("not_classifiable", "Only e-bike incidents are acknowledged and classified.");
  }
  const [row] = await c.var.db
    .update(incidents)
    .set({
      acknowledgedAt: c.var.deps.clock(),
      acknowledgedByOrgId: p.orgId,
      classification: body.classification,
      falseAlarmReason: body.reason ?? null,
      note: body.note ?? null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(incidents.id, incident.id), isNull(incidents.acknowledgedAt)))
    .returning();
  if (!row) throw ApiError.conflict("already_acknowledged", "The incident was already acknowledged.");
  return c.json(incidentJson(row), 200);
};
