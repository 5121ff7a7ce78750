/**
 * The contract draft form with its fee schedule editor. Plain HTML: without a script it works as
 * it is. There is always one empty fee box and one empty handback row more than were saved: an
 * empty one is left out, so a clerk adds an item by filling it in (and gets a new empty one).
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { translator } from "../i18n.js";
import { Form, TableWrap } from "../layout.js";
import type { PortalEnv } from "../portal-env.js";
import { blankFee, type DraftForm, FEE_KIND_LIST, FEE_UNIT_LIST, type FeeRow, isBlankFee } from "./form.js";
import { drafting } from "./messages.js";

export interface Choice {
  value: string;
  label: string;
}

/** What the new-contract form offers to choose from (the parties and facilities of the street). */
export interface Choices {
  communities: Choice[];
  ownersCommittees: Choice[];
  propertyCompanies: Choice[];
  streetOffices: Choice[];
  facilities: Choice[];
}

export interface EditorProps {
  c: Context<PortalEnv>;
  action: string;
  form: DraftForm;
  errors: Map<string, string>;
  /** The new-contract form's choices; absent when a stored draft is edited. */
  choices?: Choices;
  /** Floors served by the contract's elevators (a price row each); 0: no per-floor prices. */
  floorsServed: number;
  /** Hidden fields of the edit (its revision). */
  hidden?: Record<string, string>;
  isAmendment?: boolean;
  submitLabel: string;
}

const idOf = (name: string) => `f-${name}`;

function ErrorText({ name, errors }: { name: string; errors: Map<string, string> }) {
  const e = errors.get(name);
  return e ? (
    <p class="fail" id={`${idOf(name)}-error`}>
      {e}
    </p>
  ) : null;
}

function describedBy(name: string, errors: Map<string, string>, hint?: boolean) {
  const ids = [hint ? `${idOf(name)}-hint` : "", errors.has(name) ? `${idOf(name)}-error` : ""].filter(
    Boolean,
  );
  return ids.length ? ids.join(" ") : undefined;
}

function Input(props: {
  name: string;
  label: string;
  value: string;
  errors: Map<string, string>;
  hint?: string;
  money?: boolean;
  whole?: boolean;
  required?: boolean;
  type?: string;
}) {
  const { name, label, value, errors, hint } = props;
  return (
    <div>
      <label for={idOf(name)}>
        {label}
        {hint ? (
          <span class="hint" id={`${idOf(name)}-hint`}>
            {hint}
          </span>
        ) : null}
      </label>
      <input
        id={idOf(name)}
        name={name}
        type={props.type ?? "text"}
        value={value}
        inputmode={props.money ? "decimal" : props.whole ? "numeric" : undefined}
        autocomplete="off"
        required={props.required}
        aria-invalid={errors.has(name) ? "true" : undefined}
        aria-describedby={describedBy(name, errors, !!hint)}
      />
      <ErrorText name={name} errors={errors} />
    </div>
  );
}

function TextArea(props: {
  name: string;
  label: string;
  value: string;
  errors: Map<string, string>;
  hint?: string;
}) {
  const { name, label, value, errors, hint } = props;
  return (
    <div>
      <label for={idOf(name)}>
        {label}
        {hint ? (
          <span class="hint" id={`${idOf(name)}-hint`}>
            {hint}
          </span>
        ) : null}
      </label>
      <textarea
        id={idOf(name)}
        name={name}
        rows={3}
        aria-invalid={errors.has(name) ? "true" : undefined}
        aria-describedby={describedBy(name, errors, !!hint)}
      >
        {value}
      </textarea>
      <ErrorText name={name} errors={errors} />
    </div>
  );
}

function Select(props: {
  name: string;
  label: string;
  value: string;
  options: Choice[];
  errors: Map<string, string>;
  placeholder?: string;
}) {
  const { name, label, value, options, errors } = props;
  return (
    <div>
      <label for={idOf(name)}>{label}</label>
      <select
        id={idOf(name)}
        name={name}
        aria-invalid={errors.has(name) ? "true" : undefined}
        aria-describedby={describedBy(name, errors)}
      >
        {props.placeholder !== undefined ? <option value="">{props.placeholder}</option> : null}
        {options.map((o) => (
          <option value={o.value} selected={o.value === value}>
            {o.label}
          </option>
        ))}
      </select>
      <ErrorText name={name} errors={errors} />
    </div>
  );
}

function Section({ title, lead, children }: { title: string; lead?: string; children?: Child }) {
  return (
    <fieldset class="card">
      <legend>
        <h2>{title}</h2>
      </legend>
      {lead ? <p class="hint">{lead}</p> : null}
      {children}
    </fieldset>
  );
}

/** The floors shown for a fee item: every floor served, and any other floor it already prices. */
function floorsOf(fee: FeeRow, floorsServed: number): number[] {
  const floors = new Set<number>();
  for (let f = 1; f <= floorsServed; f++) floors.add(f);
  for (const f of Object.keys(fee.floors)) floors.add(Number(f));
  return [...floors].sort((a, b) => a - b);
}

function FeeBox({
  c,
  fee,
  i,
  errors,
  floorsServed,
}: {
  c: Context<PortalEnv>;
  fee: FeeRow;
  i: number;
  errors: Map<string, string>;
  floorsServed: number;
}) {
  const t = translator(drafting, c.var.lang);
  const p = `terms.feeSchedule.${i}`;
  const floors = floorsOf(fee, floorsServed);
  const floorErrors = floors.some((f) => errors.has(`${p}.floor.${f}`)) || errors.has(`${p}.floors`);
  const priced = Object.values(fee.floors).some((v) => v !== "");
  return (
    <fieldset class="fee-item">
      <legend>{t("fee_item", { n: i + 1 })}</legend>
      <div class="grid">
        <Input
          name={`${p}.code`}
          label={t("fee_code")}
          hint={t("fee_code_hint")}
          value={fee.code}
          errors={errors}
        />
        <Input name={`${p}.name`} label={t("fee_name")} value={fee.name} errors={errors} />
        <Select
          name={`${p}.kind`}
          label={t("fee_kind")}
          value={fee.kind}
          errors={errors}
          options={FEE_KIND_LIST.map((k) => ({ value: k, label: t(`kind_${k}`) }))}
        />
        <Select
          name={`${p}.unit`}
          label={t("fee_unit")}
          value={fee.unit}
          errors={errors}
          options={FEE_UNIT_LIST.map((u) => ({ value: u, label: t(`unit_${u}`) }))}
        />
        <Input
          name={`${p}.price`}
          label={t("fee_price")}
          hint={floors.length ? t("fee_price_hint") : undefined}
          value={fee.price}
          errors={errors}
          money
        />
      </div>
      {floors.length ? (
        <details open={priced || floorErrors || i === 0}>
          <summary>{t("floor_prices")}</summary>
          <ErrorText name={`${p}.floors`} errors={errors} />
          <TableWrap label={t("floor_prices")}>
            <table class="floor-prices">
              <thead>
                <tr>
                  <th scope="col">{t("floor_col")}</th>
                  <th scope="col">{t("floor_price_col")}</th>
                </tr>
              </thead>
              <tbody>
                {floors.map((floor) => {
                  const name = `${p}.floor.${floor}`;
                  return (
                    <tr>
                      <th scope="row">{t("floor_label", { floor })}</th>
                      <td>
                        <input
                          id={idOf(name)}
                          name={name}
                          value={fee.floors[floor] ?? ""}
                          inputmode="decimal"
                          autocomplete="off"
                          aria-label={t("floor_price_label", { floor })}
                          aria-invalid={errors.has(name) ? "true" : undefined}
                          aria-describedby={describedBy(name, errors)}
                        />
                        <ErrorText name={name} errors={errors} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        </details>
      ) : null}
    </fieldset>
  );
}

export function Editor(props: EditorProps) {
  const { c, form, errors, choices } = props;
  const t = translator(drafting, c.var.lang);
  const v = (name: keyof DraftForm) => String(form[name] ?? "");
  const listed = [...errors.entries()];
  const fees =
    form.fees.length && isBlankFee(form.fees[form.fees.length - 1] as FeeRow)
      ? form.fees
      : [...form.fees, blankFee()];
  const last = form.handbacks[form.handbacks.length - 1];
  const handbacks =
    last && !last.code && !last.description
      ? form.handbacks
      : [...form.handbacks, { code: "", description: "" }];
  return (
    <>
      {listed.length ? (
        <div class="notice error" role="alert">
          <p>{t("errors_title", { count: listed.length })}</p>
          <ul>
            {listed.map(([name, words]) => (
              <li>{name && name !== "facilityIds" ? <a href={`#${idOf(name)}`}>{words}</a> : words}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <Form c={c} action={props.action}>
        {Object.entries(props.hidden ?? {}).map(([k, val]) => (
          <input type="hidden" name={k} value={val} />
        ))}
        <input type="hidden" name="fees" value={String(fees.length)} />
        <input type="hidden" name="handbacks" value={String(handbacks.length)} />
        {choices ? (
          <Section title={t("section_parties")}>
            <Input name="title" label={t("title")} value={v("title")} errors={errors} required />
            <Select
              name="communityId"
              label={t("community")}
              value={v("communityId")}
              options={choices.communities}
              errors={errors}
              placeholder={t("choose")}
            />
            <Select
              name="ownersCommitteeOrgId"
              label={t("owners_committee")}
              value={v("ownersCommitteeOrgId")}
              options={choices.ownersCommittees}
              errors={errors}
              placeholder={t("choose")}
            />
            <Select
              name="propertyCompanyOrgId"
              label={t("property_company")}
              value={v("propertyCompanyOrgId")}
              options={choices.propertyCompanies}
              errors={errors}
              placeholder={t("choose")}
            />
            <Select
              name="streetOfficeOrgId"
              label={t("street_office")}
              value={v("streetOfficeOrgId")}
              options={choices.streetOffices}
              errors={errors}
              placeholder={t("street_office_none")}
            />
            <fieldset
              aria-describedby={errors.has("facilityIds") ? `${idOf("facilityIds")}-error` : undefined}
            >
              <legend>{t("facilities")}</legend>
              {choices.facilities.length ? (
                choices.facilities.map((f) => (
                  <div>
                    <label>
                      <input
                        type="checkbox"
                        name="facilityIds"
                        value={f.value}
                        checked={form.facilityIds.includes(f.value)}
                      />{" "}
                      {f.label}
                    </label>
                  </div>
                ))
              ) : (
                <p class="empty">{t("facilities_empty")}</p>
              )}
              <ErrorText name="facilityIds" errors={errors} />
            </fieldset>
            <fieldset>
              <legend>{t("vote_matter")}</legend>
              {(["special", "ordinary"] as const).map((m) => (
                <div>
                  <label>
                    <input type="radio" name="voteMatter" value={m} checked={v("voteMatter") === m} />{" "}
                    {t(`vote_${m}`)}
                  </label>
                </div>
              ))}
            </fieldset>
          </Section>
        ) : null}
        <Section title={t("section_money")}>
          <TextArea
            name="summary"
            label={t("summary")}
            hint={t("summary_hint")}
            value={v("summary")}
            errors={errors}
          />
          {props.isAmendment ? (
            <Input
              name="effectiveDate"
              label={t("effective_date")}
              type="date"
              value={v("effectiveDate")}
              errors={errors}
            />
          ) : null}
          <div class="grid">
            <Input
              name="terms.totalInvestment"
              label={t("total_investment")}
              value={v("totalInvestment")}
              errors={errors}
              money
            />
            <Input
              name="terms.enterpriseCapital"
              label={t("enterprise_capital")}
              value={v("enterpriseCapital")}
              errors={errors}
              money
            />
            <Input
              name="terms.guidanceFunds"
              label={t("guidance_funds")}
              hint={t("guidance_hint")}
              value={v("guidanceFunds")}
              errors={errors}
              money
            />
            <Input
              name="terms.operationTermMonths"
              label={t("term_months")}
              hint={t("term_hint")}
              value={v("operationTermMonths")}
              errors={errors}
              whole
            />
          </div>
          <TextArea
            name="terms.maintenanceObligations"
            label={t("maintenance")}
            value={v("maintenanceObligations")}
            errors={errors}
          />
        </Section>
        <Section title={t("section_fees")} lead={t("section_fees_lead")}>
          {fees.map((fee, i) => (
            <FeeBox c={c} fee={fee} i={i} errors={errors} floorsServed={props.floorsServed} />
          ))}
        </Section>
        <Section title={t("section_handback")} lead={t("section_handback_lead")}>
          {handbacks.map((h, i) => (
            <fieldset class="fee-item">
              <legend>{t("handback_n", { n: i + 1 })}</legend>
              <Input
                name={`terms.handbackConditions.${i}.code`}
                label={t("handback_code")}
                value={h.code}
                errors={errors}
              />
              <TextArea
                name={`terms.handbackConditions.${i}.description`}
                label={t("handback_description")}
                value={h.description}
                errors={errors}
              />
            </fieldset>
          ))}
        </Section>
        {props.isAmendment ? null : (
          <Section title={t("section_payment")}>
            <div class="grid">
              <Input
                name="invoiceDueDays"
                label={t("invoice_due_days")}
                value={v("invoiceDueDays")}
                errors={errors}
                whole
              />
              <Input
                name="paymentGraceDays"
                label={t("grace_days")}
                value={v("paymentGraceDays")}
                errors={errors}
                whole
              />
            </div>
          </Section>
        )}
        <div class="actions">
          <button type="submit" name="_do" value="save">
            {props.submitLabel}
          </button>
        </div>
      </Form>
    </>
  );
}
