/**
 * People of the portal: invitations by an organization's admins, the password a person chooses,
 * signing in (throttled per login and per address, counted in the database so every instance
 * shares the count), and the sessions a browser holds (in the database too, so signing out ends a
 * session everywhere at once).
 */
import { and, asc, count, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../db/database.js";
import { generateToken, hashKey } from "../../db/keys.js";
import { isUniqueViolation } from "../../db/pg-errors.js";
import {
  invitations,
  organizationCommunities,
  organizations,
  people,
  portalSessions,
  signInAttempts,
} from "../../db/schema.js";
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, verifyPassword } from "../auth/passwords.js";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { ServiceContext, SystemContext } from "./context.js";
import { findOrganization } from "./organizations.js";
import { type Page, type PageRequest, pageOf } from "./pages.js";
import { requirePlaceCommand } from "./place-permissions.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How long an invitation link works. */
export const INVITATION_TTL_MS = 7 * DAY_MS;
/** A session ends after this long unused, and in any case this long after signing in. */
export const SESSION_IDLE_MS = 14 * DAY_MS;
export const SESSION_MAX_MS = 30 * DAY_MS;
/** lastSeenAt is written at most this often per session (a page view is not a write). */
const LAST_SEEN_RESOLUTION_MS = 5 * 60_000;
/** Failed sign-ins counted over this window: past either limit, signing in waits for the window. */
export const SIGN_IN_WINDOW_MS = 15 * 60_000;
export const SIGN_IN_FAILURES_PER_LOGIN = 5;
export const SIGN_IN_FAILURES_PER_ADDRESS = 30;

export type PersonRow = typeof people.$inferSelect;
export type InvitationRow = typeof invitations.$inferSelect;

/** A login as stored: trimmed and lower-case (a phone number or an e-mail address). */
export function normalLogin(login: string): string {
  return login.trim().toLowerCase();
}

async function membersOwner(ctx: ServiceContext, orgId: string) {
  const org = await findOrganization(ctx.db, ctx.principal, orgId);
  requirePlaceCommand(ctx.principal, { type: "manage_members", organization: org });
  return org;
}

/** An invitation as issued: its row and the token of its link, shown this once. */
export interface IssuedInvitation {
  row: InvitationRow;
  token: string;
}

export async function invite(
  ctx: ServiceContext,
  orgId: string,
  input: { name: string; role: "admin" | "member" },
): Promise<IssuedInvitation> {
  const org = await membersOwner(ctx, orgId);
  const issued = generateToken();
  const now = ctx.clock();
  const [row] = await ctx.db
    .insert(invitations)
    .values({
      organizationId: org.id,
      name: input.name,
      role: input.role,
      tokenHash: issued.hash,
      invitedByPersonId: ctx.principal.person?.id ?? null,
      invitedByKeyId: ctx.principal.keyId,
      expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
    })
    .returning();
  if (!row) throw new Error("insert returned nothing");
  return { row, token: issued.token };
}

/** Every invitation of the organization, whatever became of it: newest first (id breaks ties). */
export async function listInvitations(
  ctx: ServiceContext,
  orgId: string,
  page?: PageRequest,
): Promise<Page<InvitationRow>> {
  const org = await membersOwner(ctx, orgId);
  const where = eq(invitations.organizationId, org.id);
  const query = ctx.db
    .select()
    .from(invitations)
    .where(where)
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(invitations, where), page);
}

/** One invitation of the organization, to its admins (404 for another organization's). */
export async function getInvitation(
  ctx: ServiceContext,
  orgId: string,
  invitationId: string,
): Promise<InvitationRow> {
  const org = await membersOwner(ctx, orgId);
  const [row] = await ctx.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.id, invitationId), eq(invitations.organizationId, org.id)));
  if (!row) throw ApiError.notFound("The invitation");
  return row;
}

export interface OrganizationMembers {
  people: PersonRow[];
  /** Invitations not accepted, revoked or expired. */
  pending: InvitationRow[];
}

export async function listMembers(ctx: ServiceContext, orgId: string): Promise<OrganizationMembers> {
  const org = await membersOwner(ctx, orgId);
  const [members, pending] = await Promise.all([
    ctx.db.select().from(people).where(eq(people.organizationId, org.id)).orderBy(asc(people.createdAt)),
    ctx.db
      .select()
      .from(invitations)
      .where(
        and(
          eq(invitations.organizationId, org.id),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
          gt(invitations.expiresAt, ctx.clock()),
        ),
      )
      .orderBy(asc(invitations.createdAt)),
  ]);
  return { people: members, pending };
}

export async function revokeInvitation(ctx: ServiceContext, orgId: string, invitationId: string) {
  const org = await membersOwner(ctx, orgId);
  const [row] = await ctx.db
    .update(invitations)
    .set({ revokedAt: sql`coalesce(${invitations.revokedAt}, now())` })
    .where(and(eq(invitations.id, invitationId), eq(invitations.organizationId, org.id)))
    .returning();
  if (!row) throw ApiError.notFound("The invitation");
  return row;
}

/** Stops a member from signing in and ends their sessions. */
export async function disableMember(ctx: ServiceContext, orgId: string, personId: string) {
  const org = await membersOwner(ctx, orgId);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(people)
      .set({ disabledAt: sql`coalesce(${people.disabledAt}, now())` })
      .where(and(eq(people.id, personId), eq(people.organizationId, org.id)))
      .returning();
    if (!row) throw ApiError.notFound("The member");
    await tx
      .update(portalSessions)
      .set({ endedAt: sql`now()` })
      .where(and(eq(portalSessions.personId, row.id), isNull(portalSessions.endedAt)));
    return row;
  });
}

/** What the invitation page shows before the person chooses a login and password. */
export interface OpenInvitation {
  invitation: InvitationRow;
  organizationName: string;
}

/** The invitation a link's token opens, or null when it is unknown, used, revoked or expired. */
export async function openInvitation(sys: SystemContext, token: string): Promise<OpenInvitation | null> {
  const [row] = await sys.db
    .select({ invitation: invitations, organizationName: organizations.name })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.organizationId))
    .where(eq(invitations.tokenHash, hashKey(token)));
  if (!row || row.invitation.acceptedAt || row.invitation.revokedAt) return null;
  if (row.invitation.expiresAt <= sys.clock()) return null;
  return row;
}

/** Why a password or login is refused, in the words the form shows (keys of the page's messages). */
export type CredentialProblem = "login_invalid" | "login_taken" | "password_short" | "password_long";

const LOGIN = /^[\p{L}\p{N}._%+@-]{3,100}$/u;

export function credentialProblems(login: string, password: string): CredentialProblem[] {
  const problems: CredentialProblem[] = [];
  if (!LOGIN.test(normalLogin(login))) problems.push("login_invalid");
  if ([...password].length < PASSWORD_MIN_LENGTH) problems.push("password_short");
  if ([...password].length > PASSWORD_MAX_LENGTH) problems.push("password_long");
  return problems;
}

export type AcceptOutcome =
  | { ok: true; person: PersonRow }
  | { ok: false; problems: CredentialProblem[] }
  | { ok: false; gone: true };

/**
 * Turns an invitation into a person with the login and password they chose. The invitation is
 * used once: a second acceptance (another tab, a replayed link) finds it accepted.
 */
export async function acceptInvitation(
  sys: SystemContext,
  token: string,
  input: { login: string; password: string },
): Promise<AcceptOutcome> {
  const problems = credentialProblems(input.login, input.password);
  if (problems.length) return { ok: false, problems };
  const passwordHash = await hashPassword(input.password);
  try {
    return await sys.db.transaction(async (tx) => {
      const [invitation] = await tx
        .select()
        .from(invitations)
        .where(eq(invitations.tokenHash, hashKey(token)))
        .for("update");
      if (
        !invitation ||
        invitation.acceptedAt ||
        invitation.revokedAt ||
        invitation.expiresAt <= sys.clock()
      ) {
        return { ok: false as const, gone: true as const };
      }
      const [person] = await tx
        .insert(people)
        .values({
          organizationId: invitation.organizationId,
          name: invitation.name,
          login: normalLogin(input.login),
          passwordHash,
          role: invitation.role,
        })
        .returning();
      if (!person) throw new Error("insert returned nothing");
      await tx
        .update(invitations)
        .set({ acceptedAt: sys.clock(), personId: person.id })
        .where(eq(invitations.id, invitation.id));
      return { ok: true as const, person };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, problems: ["login_taken"] };
    throw err;
  }
}

/** A new session: the cookie's token (only its hash is stored) and when it ends at the latest. */
export interface NewSession {
  token: string;
  expiresAt: Date;
}

export type SignInOutcome =
  | { ok: true; session: NewSession; person: PersonRow }
  | { ok: false; reason: "wrong" }
  | { ok: false; reason: "throttled"; retryAfterS: number };

async function recentFailures(db: Database, column: "login" | "address", value: string, since: Date) {
  const [row] = await db
    .select({ n: count(), first: sql<Date | null>`min(${signInAttempts.at})`.mapWith(signInAttempts.at) })
    .from(signInAttempts)
    .where(
      and(
        eq(column === "login" ? signInAttempts.login : signInAttempts.address, value),
        eq(signInAttempts.succeeded, false),
        gt(signInAttempts.at, since),
      ),
    );
  return { n: row?.n ?? 0, first: row?.first ?? null };
}

/**
 * Signs a person in. Past SIGN_IN_FAILURES_PER_LOGIN failures for the login, or
 * SIGN_IN_FAILURES_PER_ADDRESS for the address, within SIGN_IN_WINDOW_MS, no password is checked
 * until the oldest of them leaves the window: a guesser gets a handful of tries per quarter hour,
 * and the person is told how long to wait. An unknown login and a wrong password look the same.
 */
export async function signIn(
  sys: SystemContext,
  input: { login: string; password: string; address: string },
): Promise<SignInOutcome> {
  const login = normalLogin(input.login);
  const now = sys.clock();
  const since = new Date(now.getTime() - SIGN_IN_WINDOW_MS);
  const [byLogin, byAddress] = await Promise.all([
    recentFailures(sys.db, "login", login, since),
    input.address ? recentFailures(sys.db, "address", input.address, since) : { n: 0, first: null },
  ]);
  const blockedBy = [
    byLogin.n >= SIGN_IN_FAILURES_PER_LOGIN ? byLogin.first : null,
    byAddress.n >= SIGN_IN_FAILURES_PER_ADDRESS ? byAddress.first : null,
  ].filter((d): d is Date => d !== null);
  if (blockedBy.length) {
    const until = Math.max(...blockedBy.map((d) => d.getTime() + SIGN_IN_WINDOW_MS));
    return {
      ok: false,
      reason: "throttled",
      retryAfterS: Math.max(1, Math.ceil((until - now.getTime()) / 1000)),
    };
  }
  const [person] = await sys.db.select().from(people).where(eq(people.login, login));
  const usable = person && !person.disabledAt ? person : undefined;
  const matches = await verifyPassword(
    input.password.slice(0, PASSWORD_MAX_LENGTH * 4),
    usable?.passwordHash ?? null,
  );
  await sys.db.insert(signInAttempts).values({ login, address: input.address, succeeded: matches, at: now });
  if (!usable || !matches) return { ok: false, reason: "wrong" };
  const issued = generateToken();
  const expiresAt = new Date(now.getTime() + SESSION_IDLE_MS);
  await sys.db.insert(portalSessions).values({
    tokenHash: issued.hash,
    personId: usable.id,
    createdAt: now,
    lastSeenAt: now,
    expiresAt,
  });
  return { ok: true, session: { token: issued.token, expiresAt }, person: usable };
}

/** A signed-in person as every request of the session sees them. */
export interface SessionOf {
  sessionId: string;
  principal: Principal;
  person: { id: string; name: string; login: string; role: "admin" | "member" };
  organizationName: string;
}

/**
 * The session a cookie's token names, as its person's principal, or null when it is unknown,
 * ended, expired, or its person was disabled. Each use moves the idle end forward (written at most
 * every few minutes), never past SESSION_MAX_MS from signing in.
 */
export async function resolveSession(sys: SystemContext, token: string): Promise<SessionOf | null> {
  const now = sys.clock();
  const [row] = await sys.db
    .select({
      sessionId: portalSessions.id,
      createdAt: portalSessions.createdAt,
      lastSeenAt: portalSessions.lastSeenAt,
      personId: people.id,
      name: people.name,
      login: people.login,
      role: people.role,
      orgId: organizations.id,
      kind: organizations.kind,
      organizationName: organizations.name,
      streetId: organizations.streetId,
      communityIds: sql<string[]>`coalesce((select array_agg(oc.community_id::text)
        from ${organizationCommunities} oc where oc.organization_id = ${organizations.id}), '{}')`,
    })
    .from(portalSessions)
    .innerJoin(people, eq(people.id, portalSessions.personId))
    .innerJoin(organizations, eq(organizations.id, people.organizationId))
    .where(
      and(
        eq(portalSessions.tokenHash, hashKey(token)),
        isNull(portalSessions.endedAt),
        gt(portalSessions.expiresAt, now),
        isNull(people.disabledAt),
      ),
    );
  if (!row) return null;
  if (now.getTime() - row.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    const expiresAt = new Date(
      Math.min(now.getTime() + SESSION_IDLE_MS, row.createdAt.getTime() + SESSION_MAX_MS),
    );
    await sys.db
      .update(portalSessions)
      .set({ lastSeenAt: now, expiresAt })
      .where(eq(portalSessions.id, row.sessionId));
  }
  return {
    sessionId: row.sessionId,
    organizationName: row.organizationName,
    person: { id: row.personId, name: row.name, login: row.login, role: row.role },
    principal: Object.freeze({
      role: row.kind,
      orgId: row.orgId,
      keyId: null,
      keyRole: row.role,
      streetId: row.streetId,
      communityIds: Object.freeze(row.communityIds),
      person: Object.freeze({ id: row.personId, name: row.name }),
    }),
  };
}

export async function signOut(sys: SystemContext, token: string): Promise<void> {
  await sys.db
    .update(portalSessions)
    .set({ endedAt: sys.clock() })
    .where(and(eq(portalSessions.tokenHash, hashKey(token)), isNull(portalSessions.endedAt)));
}

/** How long an ended or expired session's row is kept (to see who was signed in when). */
export const ENDED_SESSION_KEPT_MS = 90 * DAY_MS;

/**
 * The portal's hourly upkeep: forgets sign-in attempts older than a day (the throttle reads a
 * quarter hour of them) and sessions that ended or expired ENDED_SESSION_KEPT_MS ago. Idempotent
 * deletes: safe on several instances and the Workers cron at once.
 */
export async function runPortalUpkeep(sys: SystemContext): Promise<{ attempts: number; sessions: number }> {
  const now = sys.clock().getTime();
  const attempts = await sys.db
    .delete(signInAttempts)
    .where(lt(signInAttempts.at, new Date(now - DAY_MS)))
    .returning({ id: signInAttempts.id });
  const keptSince = new Date(now - ENDED_SESSION_KEPT_MS);
  const sessions = await sys.db
    .delete(portalSessions)
    .where(or(lt(portalSessions.expiresAt, keptSince), lt(portalSessions.endedAt, keptSince)))
    .returning({ id: portalSessions.id });
  return { attempts: attempts.length, sessions: sessions.length };
}
