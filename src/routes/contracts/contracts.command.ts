import type { Context } from "hono";
import type { ContractAction, Party, ReviewAction } from "../../../contracts/index.js";
import { TRANSITIONS, transition } from "../../../contracts/index.js";
import { appendAudit } from "../../../db/audit.js";
import type { Tx } from "../../../db/database.js";
import type { OrgPrincipal } from "../../auth/principal.js";
import type { AppEnv } from "../../context.js";
import { ApiError } from "../../errors.js";
import { type ContractRow, findContract, partyOf } from "./contracts.store.js";

export interface CommandScope {
  tx: Tx;
  contract: ContractRow;
  party: Party;
  actor: OrgPrincipal;
  now: Date;
  /** Appends the decision to the contract's hash-chained audit log. */
  audit: (
    action: string,
    data: { versionNo?: number | null; payload?: unknown; contentHash?: string | null },
  ) => Promise<void>;
}

/**
 * Runs one command on one contract: a transaction that locks the contract row (commands on one
 * contract are serialised; the audit chain never forks), after the checks every command shares:
 * in scope (else 404), acting for a party of the contract (else 403), and, when `action` is a
 * lifecycle action, a party that action admits (403) — before the state is looked at (409).
 */
export async function contractCommand<T>(
  c: Context<AppEnv>,
  id: string,
  what: { verb: string; action?: ContractAction | ReviewAction; parties?: readonly Party[] },
  run: (s: CommandScope) => Promise<T>,
): Promise<T> {
  const p = c.var.principal;
  const now = c.var.deps.clock();
  return c.var.db.transaction(async (tx) => {
    const contract = await findContract(tx, p, id, true);
    const party = partyOf(p, contract);
    if (!party || p.orgId === null || p.streetId === null || p.role === "platform_admin") {
      throw ApiError.forbidden(`Only a party to this contract may ${what.verb}.`);
    }
    const allowed = what.parties ?? (what.action ? TRANSITIONS[what.action].by : undefined);
    if (allowed && !allowed.includes(party)) {
      throw ApiError.forbidden(
        `A ${party.replaceAll("_", " ")} may not ${what.verb}; allowed: ${allowed.join(", ")}.`,
      );
    }
    const actor = p as OrgPrincipal;
    return run({
      tx,
      contract,
      party,
      actor,
      now,
      audit: async (action, data) => {
        await appendAudit(tx, {
          contractId: contract.id,
          action,
          actorOrgId: actor.orgId,
          actorKeyId: actor.keyId,
          versionNo: data.versionNo ?? null,
          payload: data.payload ?? {},
          contentHash: data.contentHash ?? null,
          at: now,
        });
      },
    });
  });
}

/** 409: the contract's state (or its open version's) does not allow this; says what it is and what it allows. */
export function stateConflict(
  contract: ContractRow,
  detail: string,
  extra: { allowedActions?: string[]; versionStatus?: string } = {},
) {
  return ApiError.conflict("illegal_transition", detail, {
    currentState: contract.state,
    allowedActions: [],
    ...extra,
  });
}

/** The lifecycle's verdict as an answer: 409 with the state and what it allows, or 403. */
export function checkTransition(contract: ContractRow, action: ContractAction, party: Party) {
  const result = transition(contract.state, action, party);
  if (result.ok) return result.to;
  if (result.error === "illegal_transition") {
    throw stateConflict(
      contract,
      `A contract in state "${result.current}" cannot ${action.replaceAll("_", " ")}.`,
      {
        allowedActions: result.allowed,
      },
    );
  }
  throw ApiError.forbidden(`Only ${result.allowedParties.join(", ")} may ${action.replaceAll("_", " ")}.`);
}
