/**
 * The enterprise's drafting desk: its contracts before signing, a new draft, editing a draft
 * (at the revision it was read), revising after the owners committee asked for changes, and
 * submitting. Each POST calls the one service function the API's handler calls; what may be
 * done is the command table's (the contract's allowedActions, DRAFTING_PARTIES).
 */
import { type Context, Hono } from "hono";
import { type Action, type ContractState, DRAFTING_PARTIES } from "../../../contracts/index.js";
import { ApiError, type FieldError, fieldErrors } from "../../errors.js";
import { EditDraft, NewContract } from "../../routes/contracts/contracts.schemas.js";
import { createContract, editDraft } from "../../services/contracts/drafting.js";
import { revise, submit } from "../../services/contracts/lifecycle.js";
import { getContract, listContracts } from "../../services/contracts/reads.js";
import { etagOf } from "../../services/contracts/store.js";
import { type FacilityRow, getFacility, listFacilities } from "../../services/facilities.js";
import { listOrganizations } from "../../services/organizations.js";
import { listCommunities } from "../../services/places/places.js";
import { formatYuan } from "../format.js";
import { signedIn } from "../guards.js";
import { translator } from "../i18n.js";
import { Form, Layout, TableWrap } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { type Choices, Editor } from "./editor.js";
import {
  type Body,
  type DraftForm,
  editBody,
  errorsByInput,
  formOfTerms,
  newContractBody,
  newDraftForm,
  readForm,
  termsBody,
} from "./form.js";
import { drafting } from "./messages.js";

export const draftingPages = new Hono<PortalEnv>();
draftingPages.use("/drafts", signedIn);
draftingPages.use("/drafts/*", signedIn);

type Ctx = Context<PortalEnv>;

/** Only a drafting party (the command table's) opens the desk; anyone else gets the 403 page. */
function requireDrafter(c: Ctx) {
  const role = c.var.session?.principal.role;
  if (!(DRAFTING_PARTIES as readonly string[]).includes(role ?? "")) {
    throw ApiError.forbidden(translator(drafting, c.var.lang)("forbidden_draft"));
  }
}

/** The states a contract is drafted and reviewed in, before it is signed. */
const DRAFTING_STATES: readonly ContractState[] = ["draft", "changes_requested", "submitted", "approved"];

draftingPages.get("/drafts", async (c) => {
  requireDrafter(c);
  const t = translator(drafting, c.var.lang);
  const ctx = personContext(c);
  const page = await listContracts(ctx, { limit: 100, offset: 0 });
  const open = page.items.filter((k) => DRAFTING_STATES.includes(k.state));
  const details = await Promise.all(open.map((k) => getContract(ctx, k.id)));
  const submittedId = c.req.query("submitted");
  const submitted = submittedId ? open.find((k) => k.id === submittedId) : undefined;
  return c.html(
    <Layout c={c} title={t("drafts_title")} current="drafts">
      <p class="lead">{t("drafts_lead")}</p>
      {submitted ? (
        <p class="notice ok" role="status">
          {t("submitted_notice", { title: submitted.title })}
        </p>
      ) : null}
      <p>
        <a class="button" href="/drafts/new">
          {t("drafts_new")}
        </a>
      </p>
      {details.length ? (
        <TableWrap label={t("drafts_title")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("drafts_col_title")}</th>
                <th scope="col">{t("drafts_col_state")}</th>
                <th scope="col">{t("drafts_col_version")}</th>
                <th scope="col">{t("drafts_col_actions")}</th>
              </tr>
            </thead>
            <tbody>
              {details.map((d) => (
                <tr>
                  <th scope="row">
                    <a href={`/contracts/${d.contract.id}`}>{d.contract.title}</a>
                  </th>
                  <td>{t(`state_${d.contract.state}`)}</td>
                  <td>{t("version_n", { n: d.version.versionNo })}</td>
                  <td>
                    <DraftActions c={c} id={d.contract.id} actions={d.allowedActions as Action[]} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : (
        <p class="empty">{t("drafts_empty")}</p>
      )}
    </Layout>,
  );
});

/** The drafting commands the command table offers this person now, as buttons. */
function DraftActions({ c, id, actions }: { c: Ctx; id: string; actions: readonly Action[] }) {
  const t = translator(drafting, c.var.lang);
  const shown = [
    actions.includes("edit_draft") ? (
      <a class="button secondary" href={`/drafts/${id}/edit`}>
        {t("edit_draft")}
      </a>
    ) : null,
    actions.includes("submit") ? (
      <Form c={c} action={`/drafts/${id}/submit`} class="inline">
        <button type="submit">{t("submit")}</button>
      </Form>
    ) : null,
    actions.includes("revise") ? (
      <Form c={c} action={`/drafts/${id}/revise`} class="inline">
        <button type="submit">{t("revise")}</button>
      </Form>
    ) : null,
  ].filter(Boolean);
  return shown.length ? <div class="actions">{shown}</div> : <span class="hint">{t("drafts_none_now")}</span>;
}

// ---- a new draft ------------------------------------------------------------------------------

async function newChoices(c: Ctx): Promise<{ choices: Choices; floorsServed: number }> {
  const t = translator(drafting, c.var.lang);
  const ctx = personContext(c);
  const [communities, orgs, planned] = await Promise.all([
    listCommunities(ctx, { limit: 500, offset: 0 }),
    listOrganizations(ctx, {}),
    listFacilities(ctx, { status: "planned", limit: 500, offset: 0 }),
  ]);
  const communityName = new Map(communities.items.map((k) => [k.id, k.name]));
  const of = (kind: string) =>
    orgs.items.filter((o) => o.kind === kind).map((o) => ({ value: o.id, label: o.name }));
  const free = planned.items.filter(
    (f) => f.operatorOrgId === null || f.operatorOrgId === ctx.principal.orgId,
  );
  return {
    choices: {
      communities: communities.items.map((k) => ({ value: k.id, label: k.name })),
      ownersCommittees: of("owners_committee"),
      propertyCompanies: of("property_company"),
      streetOffices: of("street_office"),
      facilities: free.map((f) => ({
        value: f.id,
        label: t("facility_label", {
          name: f.name,
          community: communityName.get(f.communityId) ?? "",
          kind: t(f.kind === "elevator" ? "kind_elevator" : "kind_garage"),
        }),
      })),
    },
    floorsServed: maxFloors(free),
  };
}

function maxFloors(facilities: readonly FacilityRow[]): number {
  return facilities.reduce((m, f) => (f.kind === "elevator" ? Math.max(m, f.floorsServed ?? 0) : m), 0);
}

async function newPage(c: Ctx, form: DraftForm, errors: Map<string, string>, status: 200 | 400) {
  const t = translator(drafting, c.var.lang);
  const { choices, floorsServed } = await newChoices(c);
  return c.html(
    <Layout c={c} title={t("new_title")} current="drafts">
      <Editor
        c={c}
        action="/drafts/new"
        form={form}
        errors={errors}
        choices={choices}
        floorsServed={floorsServed}
        submitLabel={t("create_draft")}
      />
    </Layout>,
    status,
  );
}

draftingPages.get("/drafts/new", async (c) => {
  requireDrafter(c);
  return newPage(c, newDraftForm(), new Map(), 200);
});

/** The API's field errors of a refused command, or the error itself when it is not one. */
function validationErrors(err: unknown): FieldError[] {
  if (err instanceof ApiError && err.code === "validation_failed") {
    return (err.extra.errors as FieldError[] | undefined) ?? [];
  }
  throw err;
}

function worded(c: Ctx, form: DraftForm, body: Body, errors: FieldError[]) {
  return errorsByInput(translator(drafting, c.var.lang), form, body, errors, formatYuan);
}

draftingPages.post("/drafts/new", async (c) => {
  requireDrafter(c);
  const form = readForm(await c.req.parseBody({ all: true }));
  const body = termsBody(form);
  const parsed = NewContract.safeParse(newContractBody(form, body));
  if (!parsed.success) return newPage(c, form, worded(c, form, body, fieldErrors(parsed.error, "body")), 400);
  try {
    const created = await createContract(personContext(c), parsed.data);
    return c.redirect(`/drafts/${created.contract.id}/edit?saved=1`, 303);
  } catch (err) {
    return newPage(c, form, worded(c, form, body, validationErrors(err)), 400);
  }
});

// ---- editing a draft --------------------------------------------------------------------------

async function editPage(
  c: Ctx,
  id: string,
  given?: { form: DraftForm; errors: Map<string, string>; status: 400 | 409 | 412; notice?: string },
) {
  const t = translator(drafting, c.var.lang);
  const ctx = personContext(c);
  const detail = await getContract(ctx, id);
  if (!detail.allowedActions.includes("edit_draft")) throw ApiError.forbidden(t("not_editable"));
  const version = detail.version;
  const facilities = await Promise.all(detail.document.facilityIds.map((f) => getFacility(ctx, f)));
  const form =
    given?.form ??
    formOfTerms(
      {
        summary: version.summary,
        effectiveDate: version.effectiveDate ?? "",
        invoiceDueDays: String(detail.contract.invoiceDueDays),
        paymentGraceDays: String(detail.contract.paymentGraceDays),
      },
      detail.document.terms,
    );
  const saved = !given && c.req.query("saved") === "1";
  return c.html(
    <Layout c={c} title={t("edit_title", { title: detail.contract.title })} current="drafts">
      <p class="lead">{t("edit_lead", { version: version.versionNo })}</p>
      {saved ? (
        <p class="notice ok" role="status">
          {t("saved_notice")}
        </p>
      ) : null}
      {given?.notice ? (
        <p class="notice error" role="alert">
          {given.notice}
        </p>
      ) : null}
      <Editor
        c={c}
        action={`/drafts/${id}/edit`}
        form={form}
        errors={given?.errors ?? new Map()}
        floorsServed={maxFloors(facilities)}
        isAmendment={version.isAmendment}
        hidden={{ versionNo: String(version.versionNo), revision: etagOf(version) }}
        submitLabel={t("save_draft")}
      />
      {detail.allowedActions.includes("submit") && !given ? (
        <div class="card">
          <Form c={c} action={`/drafts/${id}/submit`}>
            <button type="submit">{t("submit")}</button>
          </Form>
        </div>
      ) : null}
    </Layout>,
    given?.status ?? 200,
  );
}

draftingPages.get("/drafts/:id/edit", async (c) => {
  requireDrafter(c);
  return editPage(c, c.req.param("id"));
});

draftingPages.post("/drafts/:id/edit", async (c) => {
  requireDrafter(c);
  const t = translator(drafting, c.var.lang);
  const id = c.req.param("id");
  const raw = await c.req.parseBody({ all: true });
  const form = readForm(raw);
  const body = termsBody(form);
  const versionNo = Number(typeof raw.versionNo === "string" ? raw.versionNo : "");
  const revision = typeof raw.revision === "string" ? raw.revision : undefined;
  const isAmendment = (await getContract(personContext(c), id)).version.isAmendment;
  const parsed = EditDraft.safeParse(editBody(form, body, isAmendment));
  if (!parsed.success) {
    const errors = worded(c, form, body, fieldErrors(parsed.error, "body"));
    return editPage(c, id, { form, errors, status: 400 });
  }
  try {
    await editDraft(personContext(c), id, Number.isInteger(versionNo) ? versionNo : 0, parsed.data, revision);
  } catch (err) {
    if (err instanceof ApiError && err.code === "stale_revision") {
      return editPage(c, id, { form, errors: new Map(), status: 412, notice: t("stale") });
    }
    return editPage(c, id, { form, errors: worded(c, form, body, validationErrors(err)), status: 400 });
  }
  return c.redirect(`/drafts/${id}/edit?saved=1`, 303);
});

// ---- review ------------------------------------------------------------------------------------

draftingPages.post("/drafts/:id/submit", async (c) => {
  requireDrafter(c);
  const id = c.req.param("id");
  const ctx = personContext(c);
  try {
    await submit(ctx, id);
  } catch (err) {
    // The stored draft is not complete enough: the editor shows where.
    const errors = validationErrors(err);
    const detail = await getContract(ctx, id);
    const form = formOfTerms(
      {
        summary: detail.version.summary,
        effectiveDate: detail.version.effectiveDate ?? "",
        invoiceDueDays: String(detail.contract.invoiceDueDays),
        paymentGraceDays: String(detail.contract.paymentGraceDays),
      },
      detail.document.terms,
    );
    const body = termsBody(form);
    return editPage(c, id, { form, errors: worded(c, form, body, errors), status: 400 });
  }
  return c.redirect(`/drafts?submitted=${encodeURIComponent(id)}`, 303);
});

draftingPages.post("/drafts/:id/revise", async (c) => {
  requireDrafter(c);
  const id = c.req.param("id");
  await revise(personContext(c), id);
  return c.redirect(`/drafts/${id}/edit`, 303);
});
