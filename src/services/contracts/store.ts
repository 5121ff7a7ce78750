/**
 * Reading and writing contracts: the queries every contract handler shares. Scope is applied
 * here, once, so no handler can forget it.
 */

import { and, asc, desc, eq, getTableColumns, ilike, inArray, type SQL, sql } from "drizzle-orm";
import { PgDialect, type PgTable } from "drizzle-orm/pg-core";
import {
  allowedActions,
  type ContractDocument,
  type ContractState,
  type ContractTerms,
  type FacilityKind,
  type FeeItem,
  formatMoney,
  money,
  type Party,
  requiredSigners,
  validateTerms,
} from "../../../contracts/index.js";
import { outer, type Queryable, type Tx } from "../../../db/database.js";
import {
  contractFacilities,
  contractMilestones,
  contractSignatures,
  contracts,
  contractVersions,
  contractVotes,
  facilities,
  feeItems,
  handbackChecks,
} from "../../../db/schema.js";
import { versionInForceId } from "../../../db/versions.js";
import type { Principal } from "../../auth/principal.js";
import { contractScope, preparedContractScope } from "../../auth/scope.js";
import { ApiError, type FieldError } from "../../errors.js";
import { snapshotOf } from "./command.js";

export type ContractRow = typeof contracts.$inferSelect;
export type VersionRow = typeof contractVersions.$inferSelect;
type FeeItemRow = typeof feeItems.$inferSelect;

/** The contract if the caller may see it; 404 otherwise. `lock` takes the row lock for a command. */
export async function findContract(
  db: Queryable,
  p: Principal,
  id: string,
  lock = false,
): Promise<ContractRow> {
  const query = db
    .select()
    .from(contracts)
    .where(and(eq(contracts.id, id), contractScope(p)));
  const [row] = lock ? await query.for("update") : await query;
  if (!row) throw ApiError.notFound("The contract");
  return row;
}

/** The caller's part in this contract, or null when it is only watching (or not a party at all). */
export function partyOf(p: Principal, c: ContractRow): Party | null {
  switch (p.role) {
    case "enterprise":
      return p.orgId === c.enterpriseOrgId ? "enterprise" : null;
    case "owners_committee":
      return p.orgId === c.ownersCommitteeOrgId ? "owners_committee" : null;
    case "property_company":
      return p.orgId === c.propertyCompanyOrgId ? "property_company" : null;
    case "street_office":
      // A party when it puts in guidance funds; otherwise it watches its street's contracts.
      return p.orgId === c.streetOfficeOrgId ? "street_office" : null;
    default:
      return null;
  }
}

export async function findVersion(db: Queryable, contractId: string, versionNo: number, lock = false) {
  const query = db
    .select()
    .from(contractVersions)
    .where(and(eq(contractVersions.contractId, contractId), eq(contractVersions.versionNo, versionNo)));
  const [row] = lock ? await query.for("update") : await query;
  if (!row) throw ApiError.notFound(`Version ${versionNo}`);
  return row;
}

/**
 * The signed terms that apply on `date`: the latest signed amendment effective on or before it,
 * else the originally signed version. (A superseded version still applied before its successor's
 * effective date.) Null when nothing is signed yet.
 */
export async function versionInForce(
  db: Queryable,
  contractId: string,
  date: string,
): Promise<VersionRow | null> {
  const [row] = await db
    .select()
    .from(contractVersions)
    .where(eq(contractVersions.id, versionInForceId(contractId, date)));
  return row ?? null;
}

export async function termsOf(db: Queryable, version: VersionRow): Promise<ContractTerms> {
  const items = await db
    .select()
    .from(feeItems)
    .where(eq(feeItems.versionId, version.id))
    .orderBy(asc(feeItems.position));
  return termsFrom(version, items);
}

/** A version's terms from its row and its fee items (in position order). */
function termsFrom(version: VersionRow, items: readonly FeeItemRow[]): ContractTerms {
  return {
    totalInvestment: version.totalInvestment,
    enterpriseCapital: version.enterpriseCapital,
    guidanceFunds: version.guidanceFunds,
    operationTermMonths: version.operationTermMonths,
    handbackConditions: version.handbackConditions,
    maintenanceObligations: version.maintenanceObligations,
    feeSchedule: items.map(
      (i): FeeItem => ({
        code: i.code,
        name: i.name,
        kind: i.kind,
        price: i.price,
        unit: i.unit,
        ...(i.floorPrices?.length ? { floorPrices: i.floorPrices } : {}),
      }),
    ),
  };
}

/** The columns of a version that hold its terms (the fee items are rows of their own). */
function termColumns(t: ContractTerms) {
  return {
    totalInvestment: t.totalInvestment,
    enterpriseCapital: t.enterpriseCapital,
    guidanceFunds: t.guidanceFunds,
    operationTermMonths: t.operationTermMonths,
    maintenanceObligations: t.maintenanceObligations,
    handbackConditions: t.handbackConditions,
  };
}

async function writeFeeItems(tx: Tx, versionId: string, t: ContractTerms) {
  if (!t.feeSchedule.length) return;
  await tx.insert(feeItems).values(
    t.feeSchedule.map((item, position) => ({
      versionId,
      position,
      code: item.code,
      name: item.name,
      kind: item.kind,
      unit: item.unit,
      price: item.price,
      // Stored as JSON, so normalise here what numeric(14,2) normalises for the other amounts.
      floorPrices: item.floorPrices?.length
        ? [...item.floorPrices]
            .sort((a, b) => a.floor - b.floor)
            .map((fp) => ({ floor: fp.floor, price: formatMoney(money(fp.price)) }))
        : null,
    })),
  );
}

export async function insertVersion(
  tx: Tx,
  values: {
    contractId: string;
    versionNo: number;
    isAmendment: boolean;
    effectiveDate: string | null;
    summary: string;
  },
  terms: ContractTerms,
): Promise<VersionRow> {
  const [row] = await tx
    .insert(contractVersions)
    .values({ ...values, ...termColumns(terms) })
    .returning();
  if (!row) throw new Error("insert returned nothing");
  await writeFeeItems(tx, row.id, terms);
  return row;
}

export async function replaceTerms(
  tx: Tx,
  version: VersionRow,
  changes: { summary?: string | undefined; effectiveDate?: string | null | undefined; terms: ContractTerms },
  now: Date,
): Promise<VersionRow> {
  const [row] = await tx
    .update(contractVersions)
    .set({
      ...termColumns(changes.terms),
      ...(changes.summary !== undefined ? { summary: changes.summary } : {}),
      ...(changes.effectiveDate !== undefined && version.isAmendment
        ? { effectiveDate: changes.effectiveDate }
        : {}),
      revision: version.revision + 1,
      updatedAt: now,
    })
    .where(and(eq(contractVersions.id, version.id), eq(contractVersions.revision, version.revision)))
    .returning();
  if (!row) throw staleRevision();
  await tx.delete(feeItems).where(eq(feeItems.versionId, version.id));
  await writeFeeItems(tx, version.id, changes.terms);
  return row;
}

export function staleRevision() {
  return new ApiError(
    412,
    "stale_revision",
    "Precondition failed",
    "The draft was changed since you read it: GET it again, reapply your edit, and send the new ETag.",
  );
}

/**
 * A version's entity tag: the draft's revision (what an edit names in If-Match), and once frozen
 * the revision and the state too, so that a conditional GET sees a submitted or signed version
 * change although its terms did not.
 */
export const etagOf = (v: VersionRow) =>
  v.status === "draft" ? `"r${v.revision}"` : `"r${v.revision}-${v.status}"`;

export async function facilityIdsOf(db: Queryable, contractId: string): Promise<string[]> {
  const rows = await db
    .select({ id: contractFacilities.facilityId })
    .from(contractFacilities)
    .where(eq(contractFacilities.contractId, contractId));
  return rows.map((r) => r.id).sort();
}

/** What the parties sign for a version, in the form whose hash is fixed at signing. */
export async function documentOf(db: Queryable, c: ContractRow, v: VersionRow): Promise<ContractDocument> {
  const facilityIds = await facilityIdsOf(db, c.id);
  return documentFrom(c, v, facilityIds, await termsOf(db, v));
}

function documentFrom(
  c: ContractRow,
  v: VersionRow,
  facilityIds: string[],
  terms: ContractTerms,
): ContractDocument {
  return {
    contractId: c.id,
    title: c.title,
    versionNo: v.versionNo,
    isAmendment: v.isAmendment,
    effectiveDate: v.effectiveDate,
    communityId: c.communityId,
    parties: {
      enterprise: c.enterpriseOrgId,
      ownersCommittee: c.ownersCommitteeOrgId,
      propertyCompany: c.propertyCompanyOrgId,
      streetOffice: c.streetOfficeOrgId,
    },
    facilityIds,
    voteMatter: c.voteMatter,
    terms,
  };
}

/** A version with the document it makes (what GET …/versions/{n} shows). */
export interface VersionParts {
  version: VersionRow;
  document: ContractDocument;
}

export async function versionParts(db: Queryable, c: ContractRow, v: VersionRow): Promise<VersionParts> {
  return { version: v, document: await documentOf(db, c, v) };
}

/** Several versions of one contract: the facility ids read once, all fee items in one statement. */
export async function versionsParts(
  db: Queryable,
  c: ContractRow,
  versions: readonly VersionRow[],
): Promise<VersionParts[]> {
  if (!versions.length) return [];
  const [facilityIds, items] = await Promise.all([
    facilityIdsOf(db, c.id),
    db
      .select()
      .from(feeItems)
      .where(
        inArray(
          feeItems.versionId,
          versions.map((v) => v.id),
        ),
      )
      .orderBy(asc(feeItems.position)),
  ]);
  return versions.map((v) => {
    const terms = termsFrom(
      v,
      items.filter((i) => i.versionId === v.id),
    );
    return { version: v, document: documentFrom(c, v, facilityIds, terms) };
  });
}

export function signersOf(c: ContractRow, v: VersionRow): Party[] {
  return requiredSigners({ guidanceFunds: v.guidanceFunds, hasStreetOffice: c.streetOfficeOrgId !== null });
}

/** Types the drivers hand drizzle as text, whose JSON form would differ (a number, another format). */
const DRIVER_TEXT = /^(numeric|decimal|date|timestamp|time|interval)/;

/**
 * A row of `table` as a JSON object keyed by the schema's property names. Columns the drivers
 * return as text (numeric, date, timestamptz) are sent as their text, so `rowOf` decodes each
 * field with its column's own decoder, exactly as a plain select does: money stays a decimal
 * string, an instant the same Date.
 */
function rowJson(table: PgTable): SQL {
  const fields = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const asText = DRIVER_TEXT.test(column.getSQLType());
    return sql`${sql.raw(`'${key}'`)}, ${outer(column)}${asText ? sql`::text` : sql``}`;
  });
  return sql`json_build_object(${sql.join(fields, sql`, `)})`;
}

function rowOf<T extends PgTable>(table: T, json: Record<string, unknown>): T["$inferSelect"] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = json[key];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T["$inferSelect"];
}

/** `table`'s rows where `where`, in `orderBy` order, as a JSON array (empty, not null, when none). */
function jsonRows(table: PgTable, where: SQL, orderBy: SQL): SQL {
  return sql`coalesce((select json_agg(${rowJson(table)} order by ${orderBy})
    from ${table} where ${where}), '[]'::json)`;
}

const dialect = new PgDialect();

/**
 * A fragment without parameters, rendered to its SQL text once. Drizzle otherwise walks every
 * chunk of it on every request; for the detail's ~80 columns that was a quarter of the API's CPU.
 */
function prerendered<T>(fragment: SQL): SQL<T> {
  const { sql: text, params } = dialect.sqlToQuery(fragment);
  if (params.length) throw new Error("a prerendered fragment takes no parameters");
  return sql<T>`${sql.raw(text)}`;
}

type Json = Record<string, unknown>;

/** The contract, its current version and everything its detail shows: one statement. */
const DETAIL = {
  contract: prerendered<Json>(rowJson(contracts)),
  version: prerendered<Json | null>(
    sql`case when ${outer(contractVersions.id)} is null then null else ${rowJson(contractVersions)} end`,
  ),
  facilityIds: prerendered<string[]>(
    sql`coalesce((select array_agg(${outer(contractFacilities.facilityId)}::text)
      from ${contractFacilities} where ${outer(contractFacilities.contractId)} = ${outer(contracts.id)}), '{}')`,
  ),
  feeItems: prerendered<Json[]>(
    jsonRows(
      feeItems,
      sql`${outer(feeItems.versionId)} = ${outer(contractVersions.id)}`,
      outer(feeItems.position),
    ),
  ),
  signatures: prerendered<Json[]>(
    jsonRows(
      contractSignatures,
      sql`${outer(contractSignatures.contractId)} = ${outer(contracts.id)}`,
      sql`${outer(contractSignatures.versionNo)}, ${outer(contractSignatures.signedAt)}`,
    ),
  ),
  milestones: prerendered<Json[]>(
    jsonRows(
      contractMilestones,
      sql`${outer(contractMilestones.contractId)} = ${outer(contracts.id)}`,
      outer(contractMilestones.kind),
    ),
  ),
  handback: prerendered<Json[]>(
    jsonRows(
      handbackChecks,
      sql`${outer(handbackChecks.contractId)} = ${outer(contracts.id)}`,
      outer(handbackChecks.code),
    ),
  ),
  /** The latest owners' vote on the current version (the one that counts). */
  vote: prerendered<{ heldOn: string; passed: boolean } | null>(
    sql`(select json_build_object('heldOn', ${outer(contractVotes.heldOn)}::text, 'passed', ${outer(contractVotes.passed)})
      from ${contractVotes} where ${outer(contractVotes.contractId)} = ${outer(contracts.id)}
        and ${outer(contractVotes.versionNo)} = ${outer(contracts.currentVersionNo)}
      order by ${outer(contractVotes.heldOn)} desc, ${outer(contractVotes.createdAt)} desc limit 1)`,
  ),
  /** When the contract itself (not an amendment) was signed by its last party. */
  firstSignedAt: prerendered<string | null>(
    sql`(select to_json(min(v.signed_at)) #>> '{}' from ${contractVersions} v
      where v.contract_id = ${outer(contracts.id)} and not v.is_amendment)`,
  ),
};

/**
 * Hot reads built once per database handle and shape instead of per request (drizzle spent a
 * quarter of the API's CPU rendering the detail). A shape is what changes the SQL text: the
 * caller's role and how many communities it serves (see preparedContractScope), and for the list
 * which filters are given; values are bound as placeholders. Prepared, so postgres.js also keeps
 * each parsed and planned per connection. Keyed weakly by the handle: a transaction's go with it.
 */
function statementCache<T>(build: (db: Queryable, where: SQL) => T) {
  const byDb = new WeakMap<Queryable, Map<string, T>>();
  return (db: Queryable, shape: string, where: () => SQL): T => {
    const statements = byDb.get(db) ?? new Map<string, T>();
    byDb.set(db, statements);
    let statement = statements.get(shape);
    if (!statement) {
      // Shapes are few (roles × filters); the bound only guards against a surprise.
      if (statements.size >= 256) statements.clear();
      statement = build(db, where());
      statements.set(shape, statement);
    }
    return statement;
  };
}

const detailStatement = statementCache((db, where) =>
  db
    .select(DETAIL)
    .from(contracts)
    .leftJoin(
      contractVersions,
      and(
        eq(contractVersions.contractId, contracts.id),
        eq(contractVersions.versionNo, contracts.currentVersionNo),
      ),
    )
    .where(and(eq(contracts.id, sql.placeholder("id")), where))
    .prepare("contract_detail"),
);

/** The contract's detail (GET /v1/contracts/{id}) if the caller may see it; 404 otherwise. */
/** Everything GET /v1/contracts/{id} shows, for the caller. */
export interface ContractDetailParts {
  contract: ContractRow;
  version: VersionRow;
  document: ContractDocument;
  allowedActions: string[];
  requiredSigners: string[];
  signatures: (typeof contractSignatures.$inferSelect)[];
  milestones: (typeof contractMilestones.$inferSelect)[];
  handback: (typeof handbackChecks.$inferSelect)[];
}

export async function contractDetail(
  db: Queryable,
  p: Principal,
  id: string,
  clock: () => Date,
): Promise<ContractDetailParts> {
  const scope = preparedContractScope(p);
  const [row] = await detailStatement(db, scope.shape, () => scope.where).execute({ id, ...scope.values });
  if (!row) throw ApiError.notFound("The contract");
  const c = rowOf(contracts, row.contract);
  if (!row.version) throw ApiError.notFound(`Version ${c.currentVersionNo}`);
  const version = rowOf(contractVersions, row.version);
  const facilityIds = [...row.facilityIds].sort();
  const terms = termsFrom(
    version,
    row.feeItems.map((json) => rowOf(feeItems, json)),
  );
  const signatures = row.signatures.map((json) => rowOf(contractSignatures, json));
  const milestones = row.milestones.map((json) => rowOf(contractMilestones, json));
  const handback = row.handback.map((json) => rowOf(handbackChecks, json));
  const snapshot = snapshotOf(c, version, {
    signedBy: signatures.filter((sig) => sig.versionNo === version.versionNo).map((sig) => sig.party),
    vote: row.vote,
    firstSignedAt: row.firstSignedAt ? new Date(row.firstSignedAt) : null,
    milestones,
    openHandback: handback.filter((h) => h.checkedOn === null).length,
  });
  return {
    contract: c,
    version,
    document: documentFrom(c, version, facilityIds, terms),
    allowedActions: allowedActions(snapshot, partyOf(p, c), clock),
    requiredSigners: signersOf(c, version),
    signatures,
    milestones,
    handback,
  };
}

/**
 * One statement: the total of the matching contracts and one page of them, from one snapshot.
 * The page's ids are read from the (scope, state, updated_at desc, id) index alone, skipping
 * `offset` entries without visiting the table; then each of the page's rows by its id, in a
 * correlated subquery that stays an index lookup whatever plan a prepared statement gets (as a
 * join, a generic plan that cannot see the limit chose a hash join over the whole table).
 */
const listStatement = statementCache((db, where) => {
  const counted = db
    .select({ total: sql<number>`count(*)::int`.as("total") })
    .from(contracts)
    .where(where)
    .as("counted");
  const page = db
    .select({ id: contracts.id, updatedAt: contracts.updatedAt })
    .from(contracts)
    .where(where)
    .orderBy(desc(contracts.updatedAt), asc(contracts.id))
    .limit(sql.placeholder("limit"))
    .offset(sql.placeholder("offset"))
    .as("page");
  return db
    .select({
      total: counted.total,
      contract: sql<Json | null>`(select ${DETAIL.contract} from ${contracts} where ${outer(contracts.id)} = ${page.id})`,
    })
    .from(counted)
    .leftJoin(page, sql`true`)
    .orderBy(desc(page.updatedAt), asc(page.id))
    .prepare("contract_list");
});

/** GET /v1/contracts: a page of the contracts in the caller's scope, and how many there are. */
/** A page of the contract list and its filters. */
export interface ContractListFilter {
  limit: number;
  offset: number;
  state?: ContractState;
  communityId?: string;
  facilityKind?: FacilityKind;
  /** Words in the title. */
  q?: string;
}

export async function listContractsPage(db: Queryable, p: Principal, q: ContractListFilter) {
  const scope = preparedContractScope(p);
  const values: Record<string, unknown> = { ...scope.values, limit: q.limit, offset: q.offset };
  const bind = (name: string, value: unknown) => {
    values[name] = value;
    return sql.placeholder(name);
  };
  const filters = [
    scope.where,
    q.state ? eq(contracts.state, bind("state", q.state)) : undefined,
    q.communityId ? eq(contracts.communityId, bind("communityId", q.communityId)) : undefined,
    q.facilityKind
      ? sql`exists (select 1 from ${contractFacilities} cf join ${facilities} f on f.id = cf.facility_id
          where cf.contract_id = ${outer(contracts.id)} and f.kind = ${bind("facilityKind", q.facilityKind)})`
      : undefined,
    q.q ? ilike(contracts.title, bind("title", `%${q.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`)) : undefined,
  ];
  const shape = `${scope.shape}|${["state", "communityId", "facilityKind", "title"].filter((name) => name in values).join(",")}`;
  const rows = await listStatement(db, shape, () => and(...filters) ?? sql`true`).execute(values);
  return {
    total: rows[0]?.total ?? 0,
    items: rows.flatMap((r) => (r.contract ? [rowOf(contracts, r.contract)] : [])),
  };
}

/** Sets the contract's state (and stamps updatedAt). */
export async function setContract(
  tx: Tx,
  id: string,
  values: Partial<typeof contracts.$inferInsert>,
  now: Date,
) {
  await tx
    .update(contracts)
    .set({ ...values, updatedAt: now })
    .where(eq(contracts.id, id));
}

export async function setVersion(
  tx: Tx,
  id: string,
  values: Partial<typeof contractVersions.$inferInsert>,
  now: Date,
) {
  await tx
    .update(contractVersions)
    .set({ ...values, updatedAt: now })
    .where(eq(contractVersions.id, id));
}

/** Field errors for terms that break the domain's rules (beyond their JSON shape). */
export function termsErrors(
  terms: ContractTerms,
  facilityKinds: FacilityKind[],
  prefix = "body.terms",
): FieldError[] {
  return validateTerms(terms, { facilityKinds }).map((i) => ({
    field: `${prefix}.${i.path}`,
    message: i.message,
  }));
}

export async function facilityKindsOf(db: Queryable, contractId: string): Promise<FacilityKind[]> {
  const rows = await db
    .selectDistinct({ kind: facilities.kind })
    .from(facilities)
    .innerJoin(contractFacilities, eq(contractFacilities.facilityId, facilities.id))
    .where(eq(contractFacilities.contractId, contractId));
  return rows.map((r) => r.kind);
}
