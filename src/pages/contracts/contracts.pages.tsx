/**
 * The contract as a document, for every party and first of all the owners committee: the list,
 * the contract page (parties, facilities, fees by floor, funding, the financial model, the owners'
 * vote, milestones, the transfer, versions, comments, the record), the diff between two versions
 * and the print view for the owners' meeting. Each action calls the service function the API's
 * handler calls; the buttons offered are the contract's `allowedActions` (the command table's).
 */
import { Decimal } from "decimal.js";
import type { Context } from "hono";
import { Hono } from "hono";
import { isUuid } from "../../../contracts/ids.js";
import {
  type AuditEntry,
  daysBetween,
  type FieldChange,
  MILESTONE_KINDS,
  type MilestoneKind,
  type Party,
  shanghaiDate,
} from "../../../contracts/index.js";
import { ApiError } from "../../errors.js";
import { Text } from "../../openapi.js";
import { VoteInput } from "../../routes/contracts/contracts.schemas.js";
import type { ServiceContext } from "../../services/context.js";
import {
  addComment,
  approve,
  confirmMilestone,
  listComments,
  listVotes,
  recordVote,
  requestChanges,
  sign,
} from "../../services/contracts/lifecycle.js";
import {
  auditOf,
  diffVersions,
  getContract,
  listContracts,
  listVersions,
} from "../../services/contracts/reads.js";
import { getFacility } from "../../services/facilities.js";
import { financialModel } from "../../services/finance/finance.js";
import { findOrganization } from "../../services/organizations.js";
import { formatDate, formatInstant, formatYuan } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { type Lang, type Translate, translator } from "../i18n.js";
import { Field, Form, Layout } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { problemWords } from "../problem-messages.js";
import { CashFlowChart } from "./cash-flow-chart.js";
import { DiffTable, FeeTables, Funding, TermFacts, type Vote, VoteResult } from "./document.js";
import { type WordKey, words } from "./messages.js";

export const contractPages = new Hono<PortalEnv>();
contractPages.use("/contracts", signedIn);
contractPages.use("/contracts/*", signedIn);

const STYLES = ["contracts.css"];
const LIST_LIMIT = 100;
/**
 * The path of one contract: only a UUID is one (other paths under /contracts, such as another
 * area's /contracts/new, are not this router's).
 */
const CONTRACT =
  "/contracts/:id{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}}";

const tr = (c: Context<PortalEnv>) => translator(words, c.var.lang);

/** The contract id of the path, or the not-found page (a malformed id names no contract). */
function contractId(c: Context<PortalEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) throw ApiError.notFound("The contract");
  return id;
}

// ---- the list --------------------------------------------------------------------------------

contractPages.get("/contracts", async (c) => {
  const t = tr(c);
  const ctx = personContext(c);
  const { total, items } = await listContracts(ctx, { limit: LIST_LIMIT, offset: 0 });
  const lang = c.var.lang;
  return c.html(
    <Layout c={c} title={t("list_title")} current="contracts" styles={STYLES}>
      <p class="lead">{t("list_lead", { org: c.var.session?.organizationName ?? "" })}</p>
      {items.length === 0 ? (
        <p class="empty">{t("list_empty")}</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("col_title")}</th>
                <th scope="col">{t("col_state")}</th>
                <th scope="col">{t("col_transfer")}</th>
                <th scope="col">{t("col_updated")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((k) => (
                <tr>
                  <th scope="row">
                    <a href={`/contracts/${k.id}`}>{k.title}</a>
                  </th>
                  <td class="state">{t(`state_${k.state}`)}</td>
                  <td>{k.transferDate ? formatDate(k.transferDate, lang) : t("not_yet")}</td>
                  <td>{formatInstant(k.updatedAt, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {total > items.length ? <p>{t("list_more", { total, shown: items.length })}</p> : null}
    </Layout>,
  );
});

// ---- reading the whole document --------------------------------------------------------------

async function orgNames(ctx: ServiceContext, ids: Iterable<string | null>): Promise<Map<string, string>> {
  const unique = [...new Set([...ids].filter((id): id is string => !!id))];
  const names = await Promise.all(
    unique.map((id) =>
      findOrganization(ctx.db, ctx.principal, id).then(
        (o) => [id, o.name] as const,
        () => [id, ""] as const,
      ),
    ),
  );
  return new Map(names.filter(([, name]) => name));
}

/** The model, or why there is none (the enterprise has not set its assumptions, or they no longer fit). */
async function modelOf(ctx: ServiceContext, id: string) {
  try {
    return { model: await financialModel(ctx, id, {}) };
  } catch (err) {
    if (err instanceof ApiError && err.code === "financial_assumptions_missing") {
      return { missing: "model_missing" as const };
    }
    if (err instanceof ApiError && err.status === 400) return { missing: "model_invalid" as const };
    throw err;
  }
}

async function loadDocument(ctx: ServiceContext, id: string) {
  const detail = await getContract(ctx, id);
  // The contract page shows its whole history: every comment, vote, audit row and version.
  const [{ items: comments }, { items: votes }, audit, { items: versions }, model, facilities] =
    await Promise.all([
      listComments(ctx, id),
      listVotes(ctx, id),
      auditOf(ctx, id),
      listVersions(ctx, id),
      modelOf(ctx, id),
      Promise.all(detail.document.facilityIds.map((f) => getFacility(ctx, f).catch(() => null))),
    ]);
  const parties = detail.document.parties;
  const names = await orgNames(ctx, [
    parties.enterprise,
    parties.ownersCommittee,
    parties.propertyCompany,
    parties.streetOffice,
    ...comments.map((k) => k.authorOrgId),
    ...audit.map((e) => e.actorOrgId),
  ]);
  return { detail, comments, votes, audit, versions, model, facilities, names };
}

type Loaded = Awaited<ReturnType<typeof loadDocument>>;

interface VoteForm {
  values: Record<string, string>;
  errors: Record<string, string>;
}

interface PageOptions {
  vote?: VoteForm;
  reasonError?: string;
  commentError?: string;
}

function partyOrgs(d: Loaded["detail"]): [Party, string | null][] {
  const p = d.document.parties;
  return [
    ["enterprise", p.enterprise],
    ["owners_committee", p.ownersCommittee],
    ["property_company", p.propertyCompany],
    ["street_office", p.streetOffice],
  ];
}

function Textarea({
  name,
  label,
  hint,
  error,
  required,
}: {
  name: string;
  label: string;
  hint?: string;
  error?: string | undefined;
  required?: boolean;
}) {
  const id = `f-${name}`;
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div>
      <label for={id}>
        {label}
        {hint ? (
          <span class="hint" id={`${id}-hint`}>
            {hint}
          </span>
        ) : null}
      </label>
      <textarea
        id={id}
        name={name}
        required={required}
        maxlength={4000}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {error ? (
        <p class="fail" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

function timelineWords(e: AuditEntry, t: Translate<WordKey>): string {
  const key = `action_${e.action.replace(/\./g, "_")}`;
  return key in words["zh-CN"] ? t(key as WordKey) : t("action_other");
}

function contractPage(c: Context<PortalEnv>, data: Loaded, opts: PageOptions = {}, status: 200 | 400 = 200) {
  const t = tr(c);
  const lang: Lang = c.var.lang;
  const { detail, names } = data;
  const k = detail.contract;
  const v = detail.version;
  const terms = detail.document.terms;
  const allowed = new Set<string>(detail.allowedActions);
  const base = `/contracts/${k.id}`;
  const orgName = (id: string | null) => (id ? (names.get(id) ?? t("party_unknown")) : t("party_unknown"));
  const signedNow = new Set(detail.signatures.filter((s) => s.versionNo === v.versionNo).map((s) => s.party));
  const voteNow: Vote | undefined = data.votes.filter((x) => x.versionNo === v.versionNo).at(-1);
  const earlierVotes = data.votes.filter((x) => x !== voteNow).reverse();
  const today = shanghaiDate(c.var.deps.clock());
  const toSign = (detail.requiredSigners as Party[]).filter((p) => !signedNow.has(p));
  const hasActions = allowed.has("approve") || allowed.has("request_changes") || allowed.has("sign");

  return c.html(
    <Layout c={c} title={k.title} current="contracts" styles={STYLES}>
      <div class="doc">
        <p class="doc-head">
          <span>
            {t("doc_state")}：
            <span class="state badge" data-testid="contract-state">
              {t(`state_${k.state}`)}
            </span>
          </span>
          <span>{t("doc_version", { n: v.versionNo })}</span>
          {v.isAmendment && v.effectiveDate ? (
            <span>{t("doc_amendment", { date: formatDate(v.effectiveDate, lang) })}</span>
          ) : null}
          <a href={`${base}/print`}>{t("doc_print")}</a>
        </p>
        {v.summary ? (
          <p>
            {t("doc_summary")}：{v.summary}
          </p>
        ) : null}

        <section class="card" aria-labelledby="actions-h">
          <h2 id="actions-h">{t("actions_title")}</h2>
          {!hasActions && !allowed.has("record_vote") ? <p class="empty">{t("actions_none")}</p> : null}
          {allowed.has("record_vote") && !allowed.has("approve") ? (
            <p>
              <a href="#vote">{t("go_vote")}</a>
            </p>
          ) : null}
          {allowed.has("approve") ? (
            <Form c={c} action={`${base}/approve`}>
              <h3>{t("approve_title")}</h3>
              <Textarea name="comment" label={t("approve_comment")} />
              <div>
                <button type="submit">{t("approve_button")}</button>
              </div>
            </Form>
          ) : null}
          {allowed.has("request_changes") ? (
            <Form c={c} action={`${base}/request-changes`}>
              <h3>{t("changes_title")}</h3>
              <Textarea
                name="reason"
                label={t("changes_reason")}
                hint={t("changes_hint")}
                error={opts.reasonError}
                required
              />
              <div>
                <button type="submit" class="secondary">
                  {t("changes_button")}
                </button>
              </div>
            </Form>
          ) : null}
          {allowed.has("sign") ? (
            <Form c={c} action={`${base}/sign`}>
              <p class="hint">{t("sign_hint")}</p>
              <div>
                <button type="submit">
                  {t("sign_button", { org: c.var.session?.organizationName ?? "" })}
                </button>
              </div>
            </Form>
          ) : null}
        </section>

        <section class="card" aria-labelledby="parties-h">
          <h2 id="parties-h">{t("parties_title")}</h2>
          <dl class="facts">
            {partyOrgs(detail).map(([party, id]) =>
              id ? (
                <>
                  <dt>{t(`party_${party}`)}</dt>
                  <dd>
                    {orgName(id)}
                    {signedNow.has(party) ? <span class="badge ok"> ✓ {t("state_signed")}</span> : null}
                  </dd>
                </>
              ) : null,
            )}
          </dl>
          {detail.signatures.length && toSign.length ? (
            <p>{t("doc_to_sign", { parties: toSign.map((p) => t(`party_${p}`)).join("、") })}</p>
          ) : null}
        </section>

        <section class="card" aria-labelledby="facilities-h">
          <h2 id="facilities-h">{t("facilities_title")}</h2>
          {data.facilities.length === 0 ? (
            <p class="empty">{t("facilities_none")}</p>
          ) : (
            <ul>
              {data.facilities.map((f) =>
                f ? (
                  <li>
                    {f.name}（{t(f.kind === "elevator" ? "facility_elevator" : "facility_garage")}
                    {f.kind === "elevator" && f.floorsServed
                      ? `，${t("facility_floors", { n: f.floorsServed })}`
                      : ""}
                    {f.kind === "garage" && f.parkingCapacity !== null
                      ? `，${t("facility_slots", { slots: f.parkingCapacity, points: f.chargingPoints ?? 0 })}`
                      : ""}
                    ）
                  </li>
                ) : null,
              )}
            </ul>
          )}
        </section>

        <section class="card" aria-labelledby="fees-h">
          <h2 id="fees-h">{t("fees_title")}</h2>
          <FeeTables terms={terms} lang={lang} />
          <TermFacts terms={terms} lang={lang} />
        </section>

        <section class="card" aria-labelledby="funding-h">
          <h2 id="funding-h">{t("funding_title")}</h2>
          <Funding terms={terms} lang={lang} />
        </section>

        <section class="card" aria-labelledby="model-h">
          <h2 id="model-h">{t("model_title")}</h2>
          {"model" in data.model && data.model.model ? (
            <ModelSection model={data.model.model} lang={lang} />
          ) : (
            <p class="empty">{t(data.model.missing ?? "model_missing")}</p>
          )}
        </section>

        <section class="card" id="vote" aria-labelledby="vote-h">
          <h2 id="vote-h">{t("vote_title")}</h2>
          <p class="hint">{t(k.voteMatter === "special" ? "vote_rule_special" : "vote_rule_ordinary")}</p>
          {voteNow ? <VoteResult vote={voteNow} lang={lang} /> : <p class="empty">{t("vote_none")}</p>}
          {allowed.has("record_vote") ? (
            <VoteFormPart c={c} base={base} today={today} form={opts.vote} />
          ) : null}
          {earlierVotes.length ? (
            <details>
              <summary>{t("vote_earlier")}</summary>
              {earlierVotes.map((x) => (
                <VoteResult vote={x} lang={lang} />
              ))}
            </details>
          ) : null}
        </section>

        <section class="card" aria-labelledby="milestones-h">
          <h2 id="milestones-h">{t("milestones_title")}</h2>
          {detail.milestones.length === 0 ? (
            <p class="empty">{t("milestones_none")}</p>
          ) : (
            <ul class="plain">
              {MILESTONE_KINDS.map((kind) => {
                const m = detail.milestones.find((x) => x.kind === kind);
                if (!m) return null;
                return (
                  <li data-milestone={kind}>
                    <strong>{t(`milestone_${kind}`)}</strong>：
                    {t("milestone_on", { date: formatDate(m.occurredOn, lang) })}
                    {m.note ? (
                      <>
                        <br />
                        {t("milestone_note", { note: m.note })}
                      </>
                    ) : null}
                    <br />
                    {m.confirmedAt ? (
                      <span class="pass">
                        {t("milestone_confirmed", { at: formatInstant(m.confirmedAt, lang) })}
                      </span>
                    ) : (
                      <span>{t("milestone_unconfirmed")}</span>
                    )}
                    {allowed.has(`confirm_${kind}`) ? (
                      <Form c={c} action={`${base}/milestones/${kind}/confirm`} class="inline">
                        {" "}
                        <button type="submit">
                          {t("milestone_confirm", { kind: t(`milestone_${kind}`) })}
                        </button>
                      </Form>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          )}
        </section>

        <section class="card" aria-labelledby="transfer-h">
          <h2 id="transfer-h">{t("transfer_title")}</h2>
          <TransferPart contract={k} today={today} termMonths={terms.operationTermMonths} t={t} lang={lang} />
          <h3>{t("handback_title")}</h3>
          {detail.handback.length || terms.handbackConditions.length ? (
            <ul class="plain" data-testid="handback">
              {(detail.handback.length
                ? detail.handback
                : terms.handbackConditions.map((h) => ({ ...h, checkedOn: null }))
              ).map((h) => (
                <li>
                  <span class={h.checkedOn ? "pass" : ""}>{h.checkedOn ? "☑" : "☐"}</span> {h.description}（
                  {h.checkedOn
                    ? t("handback_done", { date: formatDate(h.checkedOn, lang) })
                    : t("handback_open")}
                  ）
                </li>
              ))}
            </ul>
          ) : (
            <p class="empty">{t("handback_none")}</p>
          )}
        </section>

        <section class="card" aria-labelledby="versions-h">
          <h2 id="versions-h">{t("versions_title")}</h2>
          <ul>
            {data.versions.map((x) => (
              <li>
                {t("doc_version", { n: x.version.versionNo })}：{t(`version_status_${x.version.status}`)}
                {x.version.submittedAt ? `，${formatInstant(x.version.submittedAt, lang)}` : ""}
              </li>
            ))}
          </ul>
          {data.versions.length > 1 ? (
            <DiffPicker base={base} versions={data.versions.map((x) => x.version.versionNo)} t={t} />
          ) : null}
        </section>

        <section class="card" aria-labelledby="comments-h">
          <h2 id="comments-h">{t("comments_title")}</h2>
          {data.comments.length === 0 ? (
            <p class="empty">{t("comments_none")}</p>
          ) : (
            <ul class="plain">
              {data.comments.map((m) => (
                <li>
                  <span class="hint">
                    {t("comment_by", {
                      org: orgName(m.authorOrgId),
                      at: formatInstant(m.createdAt, lang),
                      n: m.versionNo,
                    })}
                  </span>
                  <p class="comment-body">{m.body}</p>
                </li>
              ))}
            </ul>
          )}
          {allowed.has("comment") ? (
            <Form c={c} action={`${base}/comments`}>
              <Textarea name="body" label={t("comment_label")} error={opts.commentError} required />
              <div>
                <button type="submit" class="secondary">
                  {t("comment_button")}
                </button>
              </div>
            </Form>
          ) : null}
        </section>

        <section class="card" aria-labelledby="timeline-h">
          <h2 id="timeline-h">{t("timeline_title")}</h2>
          {data.audit.length === 0 ? (
            <p class="empty">{t("timeline_none")}</p>
          ) : (
            <ol class="timeline" data-testid="timeline">
              {[...data.audit].reverse().map((e) => (
                <li data-action={e.action}>
                  <strong>{timelineWords(e, t)}</strong>
                  {e.versionNo !== null ? `（${t("timeline_version", { n: e.versionNo })}）` : ""}
                  <br />
                  {e.actorName
                    ? t("timeline_by", { name: e.actorName, org: orgName(e.actorOrgId) })
                    : t("timeline_by_key", { org: orgName(e.actorOrgId) })}
                  <span class="when">{formatInstant(new Date(e.createdAt), lang)}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </Layout>,
    status,
  );
}

function ModelSection({ model, lang }: { model: Awaited<ReturnType<typeof financialModel>>; lang: Lang }) {
  const t = translator(words, lang);
  const p = model.projection;
  return (
    <div>
      <dl class="facts">
        <dt>{t("model_payback")}</dt>
        <dd data-testid="payback">
          {p.paybackYear === null
            ? t("model_payback_never")
            : t("model_payback_year", { year: p.paybackYear })}
        </dd>
        <dt>{t("model_irr")}</dt>
        <dd data-testid="irr">{p.irr === null ? t("model_irr_none") : percentOf(p.irr)}</dd>
        <dt>{t("model_npv", { rate: percentNumber(p.discountRate) })}</dt>
        <dd>{formatYuan(p.npv)}</dd>
      </dl>
      <p class="hint">{t("model_basis", { n: model.versionNo })}</p>
      <CashFlowChart years={p.years} paybackYear={p.paybackYear} capital={p.enterpriseCapital} lang={lang} />
    </div>
  );
}

/** A rate of the model ("0.0712") as "7.12%" (decimal.js: no float ever holds the rate). */
function percentOf(rate: string): string {
  return `${percentNumber(rate)}%`;
}
function percentNumber(rate: string): string {
  return new Decimal(rate).times(100).toFixed(2);
}

function TransferPart({
  contract,
  today,
  termMonths,
  t,
  lang,
}: {
  contract: Loaded["detail"]["contract"];
  today: string;
  termMonths: number;
  t: Translate<WordKey>;
  lang: Lang;
}) {
  if (contract.transferredOn)
    return <p>{t("transfer_done", { date: formatDate(contract.transferredOn, lang) })}</p>;
  if (!contract.transferDate) return <p>{t("transfer_unknown", { months: termMonths })}</p>;
  const days = daysBetween(today, contract.transferDate);
  return (
    <dl class="facts">
      <dt>{t("transfer_date")}</dt>
      <dd>
        {formatDate(contract.transferDate, lang)}
        <br />
        <span class="countdown" data-testid="countdown">
          {days > 0
            ? t("transfer_days", { days })
            : days === 0
              ? t("transfer_today")
              : t("transfer_overdue", { days: -days })}
        </span>
      </dd>
    </dl>
  );
}

function DiffPicker({
  base,
  versions,
  t,
  from,
  to,
}: {
  base: string;
  versions: number[];
  t: Translate<WordKey>;
  from?: number;
  to?: number;
}) {
  const last = versions.at(-1) ?? 1;
  const selectedFrom = from ?? versions.at(-2) ?? 1;
  const selectedTo = to ?? last;
  return (
    <form method="get" action={`${base}/diff`} class="stack">
      <h3>{t("versions_compare")}</h3>
      <div>
        <label for="diff-from">{t("versions_from")}</label>
        <select id="diff-from" name="from">
          {versions.map((n) => (
            <option value={String(n)} selected={n === selectedFrom}>
              {t("doc_version", { n })}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="diff-to">{t("versions_to")}</label>
        <select id="diff-to" name="to">
          {versions.map((n) => (
            <option value={String(n)} selected={n === selectedTo}>
              {t("doc_version", { n })}
            </option>
          ))}
        </select>
      </div>
      <div>
        <button type="submit" class="secondary">
          {t("versions_button")}
        </button>
      </div>
    </form>
  );
}

const VOTE_FIELDS = ["heldOn", "participatingArea", "participatingOwners", "yesArea", "yesOwners"] as const;
type VoteField = (typeof VOTE_FIELDS)[number];

function VoteFormPart({
  c,
  base,
  today,
  form,
}: {
  c: Context<PortalEnv>;
  base: string;
  today: string;
  form?: VoteForm | undefined;
}) {
  const t = tr(c);
  const values = form?.values ?? {};
  const errors = form?.errors ?? {};
  const label: Record<VoteField, WordKey> = {
    heldOn: "vote_held_on",
    participatingArea: "vote_participating_area",
    participatingOwners: "vote_participating_owners",
    yesArea: "vote_yes_area",
    yesOwners: "vote_yes_owners",
  };
  return (
    <Form c={c} action={`${base}/votes`}>
      <h3>{t("vote_form_title")}</h3>
      <p class="hint">{t("vote_form_lead")}</p>
      {Object.keys(errors).length ? (
        <p class="notice error" role="alert">
          {t("vote_error_summary")}
        </p>
      ) : null}
      {VOTE_FIELDS.map((name) => (
        <Field
          name={name}
          label={t(label[name])}
          type={name === "heldOn" ? "date" : "text"}
          value={values[name] ?? (name === "heldOn" ? today : "")}
          error={errors[name]}
          required
          inputmode={name === "heldOn" ? undefined : name.endsWith("Area") ? "decimal" : "numeric"}
        />
      ))}
      <div>
        <button type="submit">{t("vote_button")}</button>
      </div>
    </Form>
  );
}

contractPages.get(CONTRACT, async (c) => {
  const id = contractId(c);
  return contractPage(c, await loadDocument(personContext(c), id));
});

// ---- actions: each one service call; a refusal of the command table is a page in words --------

function refusedPage(c: Context<PortalEnv>, id: string, err: ApiError) {
  const t = tr(c);
  return c.html(
    <Layout c={c} title={t("refused_title")} current="contracts" styles={STYLES}>
      <p class="notice error" role="alert" data-code={err.code}>
        {translator(problemWords, c.var.lang)(err.code)}
      </p>
      <p>
        <a href={`/contracts/${id}`}>{t("doc_back")}</a>
      </p>
    </Layout>,
    err.status === 403 ? 403 : 409,
  );
}

/** Runs a command; a 403/409 refusal becomes the refusal page, anything else the error page. */
async function act(
  c: Context<PortalEnv>,
  id: string,
  run: (ctx: ServiceContext) => Promise<unknown>,
  anchor = "",
) {
  try {
    await run(personContext(c));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 403 || err.status === 409)) return refusedPage(c, id, err);
    throw err;
  }
  return c.redirect(`/contracts/${id}${anchor}`, 303);
}

const FormText = Text.trim().min(1).max(4000);

contractPages.post(`${CONTRACT}/approve`, async (c) => {
  const id = contractId(c);
  const comment = field(await formOf(c), "comment").trim();
  const checked = comment ? FormText.safeParse(comment) : null;
  if (checked && !checked.success)
    throw ApiError.validation([{ field: "comment", message: "not valid text" }]);
  return act(c, id, (ctx) => approve(ctx, id, checked?.success ? { comment: checked.data } : {}));
});

contractPages.post(`${CONTRACT}/request-changes`, async (c) => {
  const id = contractId(c);
  const reason = FormText.safeParse(field(await formOf(c), "reason"));
  if (!reason.success) {
    return contractPage(
      c,
      await loadDocument(personContext(c), id),
      { reasonError: tr(c)("required_reason") },
      400,
    );
  }
  return act(c, id, (ctx) => requestChanges(ctx, id, reason.data));
});

contractPages.post(`${CONTRACT}/sign`, async (c) => {
  const id = contractId(c);
  return act(c, id, (ctx) => sign(ctx, id));
});

contractPages.post(`${CONTRACT}/milestones/:kind/confirm`, async (c) => {
  const id = contractId(c);
  const kind = c.req.param("kind") as MilestoneKind;
  if (!MILESTONE_KINDS.includes(kind)) throw ApiError.notFound("The milestone");
  return act(c, id, (ctx) => confirmMilestone(ctx, id, kind));
});

contractPages.post(`${CONTRACT}/comments`, async (c) => {
  const id = contractId(c);
  const body = FormText.safeParse(field(await formOf(c), "body"));
  if (!body.success) {
    return contractPage(
      c,
      await loadDocument(personContext(c), id),
      { commentError: tr(c)("required_comment") },
      400,
    );
  }
  return act(c, id, (ctx) => addComment(ctx, id, { body: body.data }), "#comments-h");
});

contractPages.post(`${CONTRACT}/votes`, async (c) => {
  const id = contractId(c);
  const t = tr(c);
  const body = await formOf(c);
  const values = Object.fromEntries(VOTE_FIELDS.map((name) => [name, field(body, name).trim()])) as Record<
    VoteField,
    string
  >;
  const count = (s: string) => (/^\d{1,10}$/.test(s) ? Number(s) : s);
  const parsed = VoteInput.safeParse({
    heldOn: values.heldOn,
    participatingArea: values.participatingArea,
    participatingOwners: count(values.participatingOwners),
    yesArea: values.yesArea,
    yesOwners: count(values.yesOwners),
  });
  const invalid = (fields: string[]) => {
    const errors: Record<string, string> = {};
    for (const f of fields) {
      if ((VOTE_FIELDS as readonly string[]).includes(f)) errors[f] = t(`vote_error_${f as VoteField}`);
    }
    if (!Object.keys(errors).length) errors.heldOn = t("vote_error_heldOn");
    return errors;
  };
  if (!parsed.success) {
    const errors = invalid(parsed.error.issues.map((i) => String(i.path[0])));
    return contractPage(c, await loadDocument(personContext(c), id), { vote: { values, errors } }, 400);
  }
  try {
    await recordVote(personContext(c), id, parsed.data);
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      const fieldErrors = (err.extra.errors as { field: string }[] | undefined) ?? [];
      const errors = invalid(fieldErrors.map((e) => e.field.replace(/^body\./, "")));
      return contractPage(c, await loadDocument(personContext(c), id), { vote: { values, errors } }, 400);
    }
    if (err instanceof ApiError && (err.status === 403 || err.status === 409)) return refusedPage(c, id, err);
    throw err;
  }
  return c.redirect(`/contracts/${id}#vote`, 303);
});

// ---- the diff between two versions -----------------------------------------------------------

contractPages.get(`${CONTRACT}/diff`, async (c) => {
  const id = contractId(c);
  const t = tr(c);
  const ctx = personContext(c);
  const detail = await getContract(ctx, id);
  const versions = (await listVersions(ctx, id)).items.map((x) => x.version.versionNo);
  const from = Number(c.req.query("from"));
  const to = Number(c.req.query("to"));
  const valid = Number.isInteger(from) && Number.isInteger(to) && from !== to && from >= 1 && to >= 1;
  const changes: FieldChange[] | null = valid ? await diffVersions(ctx, id, from, to) : null;
  const base = `/contracts/${id}`;
  return c.html(
    <Layout
      c={c}
      title={valid ? t("diff_title", { from, to }) : t("versions_compare")}
      current="contracts"
      styles={STYLES}
    >
      <p>
        <a href={base}>
          {t("doc_back")}：{detail.contract.title}
        </a>
      </p>
      {changes ? (
        <DiffTable changes={changes} lang={c.var.lang} />
      ) : (
        <p class="notice error" role="alert">
          {t("diff_bad")}
        </p>
      )}
      <DiffPicker base={base} versions={versions} t={t} {...(valid ? { from, to } : {})} />
    </Layout>,
    valid ? 200 : 400,
  );
});

// ---- the print view for the owners' meeting --------------------------------------------------

contractPages.get(`${CONTRACT}/print`, async (c) => {
  const id = contractId(c);
  const t = tr(c);
  const lang = c.var.lang;
  const ctx = personContext(c);
  const detail = await getContract(ctx, id);
  const [names, facilities] = await Promise.all([
    orgNames(
      ctx,
      partyOrgs(detail).map(([, org]) => org),
    ),
    Promise.all(detail.document.facilityIds.map((f) => getFacility(ctx, f).catch(() => null))),
  ]);
  const k = detail.contract;
  const v = detail.version;
  const terms = detail.document.terms;
  const special = k.voteMatter === "special";
  const measures = [
    "participation_area",
    "participation_owners",
    "approval_area",
    "approval_owners",
  ] as const;
  const threshold = (m: (typeof measures)[number]) =>
    m.startsWith("participation") ? "threshold_2_3" : special ? "threshold_3_4" : "threshold_1_2";
  return c.html(
    <Layout
      c={c}
      title={t("print_title", { title: k.title })}
      current="contracts"
      styles={STYLES}
      scripts={["contracts-print.js"]}
    >
      <div class="doc">
        <p class="lead">{t("print_lead")}</p>
        <p class="no-print">
          <button type="button" data-print hidden>
            {t("print_button")}
          </button>{" "}
          <span class="hint">{t("print_hint")}</span> <a href={`/contracts/${id}`}>{t("doc_back")}</a>
        </p>
        <section class="card" aria-labelledby="summary-h">
          <h2 id="summary-h">{t("print_summary")}</h2>
          <dl class="facts">
            <dt>{t("doc_state")}</dt>
            <dd>
              {t(`state_${k.state}`)}，{t("doc_version", { n: v.versionNo })}
            </dd>
            {partyOrgs(detail).map(([party, org]) =>
              org ? (
                <>
                  <dt>{t(`party_${party}`)}</dt>
                  <dd>{names.get(org) ?? t("party_unknown")}</dd>
                </>
              ) : null,
            )}
            <dt>{t("facilities_label")}</dt>
            <dd>
              {facilities
                .map((f) => f?.name)
                .filter(Boolean)
                .join("、") || t("facilities_none")}
            </dd>
          </dl>
          <TermFacts terms={terms} lang={lang} />
          <Funding terms={terms} lang={lang} />
        </section>
        <section class="card" aria-labelledby="print-fees-h">
          <h2 id="print-fees-h">{t("fees_label")}</h2>
          <FeeTables terms={terms} lang={lang} />
        </section>
        <section class="card sheet" aria-labelledby="sheet-h">
          <h2 id="sheet-h">{t("sheet_title")}</h2>
          <p>{t("sheet_matter", { title: k.title, n: v.versionNo })}</p>
          <p class="hint">{t(special ? "vote_rule_special" : "vote_rule_ordinary")}</p>
          <div class="table-wrap">
            <table>
              <tbody>
                <tr>
                  <th scope="row">{t("sheet_room")}</th>
                  <td />
                </tr>
                <tr>
                  <th scope="row">{t("sheet_area")}</th>
                  <td />
                </tr>
                <tr>
                  <th scope="row">{t("sheet_choice")}</th>
                  <td>
                    <span class="box" /> {t("sheet_yes")} <span class="box" /> {t("sheet_no")}{" "}
                    <span class="box" /> {t("sheet_abstain")}
                  </td>
                </tr>
                <tr>
                  <th scope="row">{t("sheet_owner")}</th>
                  <td />
                </tr>
                <tr>
                  <th scope="row">{t("sheet_date")}</th>
                  <td />
                </tr>
              </tbody>
            </table>
          </div>
          <h3>{t("sheet_tally_title")}</h3>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("vote_measure")}</th>
                  <th scope="col">{t("vote_actual")}</th>
                  <th scope="col">{t("vote_threshold")}</th>
                  <th scope="col">{t("vote_result")}</th>
                </tr>
              </thead>
              <tbody>
                {measures.map((m) => (
                  <tr>
                    <th scope="row">{t(`measure_${m}`)}</th>
                    <td />
                    <td>{t(threshold(m))}</td>
                    <td />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </Layout>,
  );
});
