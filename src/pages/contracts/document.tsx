/**
 * Parts of the contract as a document, shared by the contract page and its print view: the fee
 * tables, the funding, the vote's four ratios, and the words for states, parties and changes.
 */
import { Decimal } from "decimal.js";
import {
  type ContractTerms,
  DEFAULT_GUIDANCE_SHARE,
  type FeeItem,
  type FieldChange,
  fundingSummary,
  priceFor,
} from "../../../contracts/index.js";
import type { voteView } from "../../services/contracts/lifecycle.js";
import { formatDate, formatYuan } from "../format.js";
import { type Lang, type Translate, translator } from "../i18n.js";
import { type WordKey, words } from "./messages.js";

export type Vote = ReturnType<typeof voteView>;

/** A Decimal as a money string of the API ("1280.5" → "1280.50"). */
const money = (d: Decimal) => d.toFixed(2);

const kindColumn: Record<FeeItem["kind"], WordKey> = {
  monthly: "fees_per_month",
  yearly: "fees_per_year",
  per_use: "fees_per_use",
  one_off: "fees_one_off",
};

/**
 * Each per-floor item as a table (floor → fee) from the lowest floor to the highest priced one,
 * a floor without a price at ¥0.00 (as billing charges it); the other items in one table.
 */
export function FeeTables({ terms, lang }: { terms: ContractTerms; lang: Lang }) {
  const t = translator(words, lang);
  if (!terms.feeSchedule.length) return <p class="empty">{t("fees_none")}</p>;
  const byFloor = terms.feeSchedule.filter((item) => item.floorPrices?.length);
  const flat = terms.feeSchedule.filter((item) => !item.floorPrices?.length);
  return (
    <div>
      {byFloor.map((item) => {
        const listed = (item.floorPrices ?? []).map((fp) => fp.floor);
        const lowest = Math.min(1, ...listed);
        const highest = Math.max(...listed);
        const floors = Array.from({ length: highest - lowest + 1 }, (_, i) => lowest + i);
        return (
          <div class="table-wrap fee-table">
            <table data-fee={item.code}>
              <caption>{t("fees_by_floor_caption", { name: item.name })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("fees_floor")}</th>
                  <th scope="col" class="num">
                    {t(kindColumn[item.kind])}
                  </th>
                </tr>
              </thead>
              <tbody>
                {floors.map((floor) => (
                  <tr>
                    <th scope="row">{t("fees_floor_n", { n: floor })}</th>
                    <td class="num">{formatYuan(money(priceFor(item, floor)))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="hint">{t("fees_unlisted")}</p>
          </div>
        );
      })}
      {flat.length ? (
        <div class="table-wrap">
          <table>
            <caption>{t(byFloor.length ? "fees_flat_caption" : "fees_label")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("fees_item")}</th>
                <th scope="col">{t("fees_kind")}</th>
                <th scope="col" class="num">
                  {t("fees_price")}
                </th>
              </tr>
            </thead>
            <tbody>
              {flat.map((item) => (
                <tr>
                  <th scope="row">{item.name}</th>
                  <td>{t(`fee_kind_${item.kind}`)}</td>
                  <td class="num">
                    {formatYuan(money(priceFor(item)))} {t(`fee_unit_${item.unit}`)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

export function TermFacts({ terms, lang }: { terms: ContractTerms; lang: Lang }) {
  const t = translator(words, lang);
  const years = new Decimal(terms.operationTermMonths).div(12).toDecimalPlaces(1).toString();
  return (
    <dl class="facts">
      <dt>{t("term_months")}</dt>
      <dd>{t("term_months_value", { months: terms.operationTermMonths, years })}</dd>
      {terms.maintenanceObligations ? (
        <>
          <dt>{t("maintenance")}</dt>
          <dd>{terms.maintenanceObligations}</dd>
        </>
      ) : null}
    </dl>
  );
}

export function Funding({ terms, lang }: { terms: ContractTerms; lang: Lang }) {
  const t = translator(words, lang);
  const f = fundingSummary(terms);
  return (
    <div>
      <dl class="facts">
        <dt>{t("funding_total")}</dt>
        <dd>{formatYuan(f.totalInvestment)}</dd>
        <dt>{t("funding_enterprise")}</dt>
        <dd>{formatYuan(f.enterpriseCapital)}</dd>
        <dt>{t("funding_guidance")}</dt>
        <dd>{formatYuan(f.guidanceFunds)}</dd>
        {new Decimal(f.otherFunding).isZero() ? null : (
          <>
            <dt>{t("funding_other")}</dt>
            <dd>{formatYuan(f.otherFunding)}</dd>
          </>
        )}
      </dl>
      <p>{t("funding_share", { share: f.guidanceSharePercent, usual: DEFAULT_GUIDANCE_SHARE })}</p>
    </div>
  );
}

const thresholdKey = { "2/3": "threshold_2_3", "3/4": "threshold_3_4", "1/2": "threshold_1_2" } as const;

/** "0.6666" → "66.66%" (the ratio is already rounded down to 4 places). */
export function percent(ratio: string): string {
  return `${new Decimal(ratio).times(100).toFixed(2)}%`;
}

/** A recorded vote: the verdict, which threshold failed, and the four ratios against their thresholds. */
export function VoteResult({ vote, lang }: { vote: Vote; lang: Lang }) {
  const t = translator(words, lang);
  const failed = vote.failed.map((m) => t(`measure_${m}` as WordKey));
  return (
    <div class="vote-result" data-testid="vote-result">
      <p class={`vote-verdict ${vote.passed ? "pass" : "fail"}`} role="status">
        {vote.passed ? t("vote_passed") : t("vote_failed")}
      </p>
      {failed.length ? (
        <p class="fail" data-testid="vote-failed">
          {t("vote_failed_which", { list: failed.join("、") })}
        </p>
      ) : null}
      <p>
        {t("vote_held", { date: formatDate(vote.heldOn, lang), n: vote.versionNo })}
        <br />
        {t("vote_register", { owners: vote.totalOwners, area: vote.totalArea })}
      </p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t("vote_measure")}</th>
              <th scope="col" class="num">
                {t("vote_actual")}
              </th>
              <th scope="col">{t("vote_threshold")}</th>
              <th scope="col">{t("vote_result")}</th>
            </tr>
          </thead>
          <tbody>
            {vote.ratios.map((r) => (
              <tr data-measure={r.measure}>
                <th scope="row">{t(`measure_${r.measure}`)}</th>
                <td class="num">
                  {percent(r.ratio)}
                  <br />
                  <span class="hint">
                    {t(r.measure.endsWith("_area") ? "vote_fraction_area" : "vote_fraction_owners", {
                      num: r.numerator,
                      den: r.denominator,
                    })}
                  </span>
                </td>
                <td>{t(thresholdKey[r.threshold])}</td>
                <td class={r.met ? "pass" : "fail"}>{r.met ? t("vote_met") : t("vote_not_met")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

// ---- the diff between two versions -----------------------------------------------------------

const FIELD_WORDS: Record<string, WordKey> = {
  totalInvestment: "field_totalInvestment",
  enterpriseCapital: "field_enterpriseCapital",
  guidanceFunds: "field_guidanceFunds",
  operationTermMonths: "field_operationTermMonths",
  maintenanceObligations: "field_maintenanceObligations",
  feeSchedule: "field_feeSchedule",
  handbackConditions: "field_handbackConditions",
  floorPrices: "field_floorPrices",
  price: "field_price",
  name: "field_name",
  kind: "field_kind",
  unit: "field_unit",
};

/** "feeSchedule[EL-M].floorPrices[6]" → "收费项目 EL-M › 6 楼". */
export function describePath(path: string, t: Translate<WordKey>): string {
  return path
    .split(".")
    .map((segment) => {
      const m = /^(\w+)(?:\[(.+)\])?$/.exec(segment);
      if (!m?.[1]) return segment;
      const [, field, key] = m;
      if (field === "floorPrices" && key !== undefined) return t("fees_floor_n", { n: key });
      const word = FIELD_WORDS[field];
      const name = word ? t(word) : field;
      return key === undefined ? name : `${name} ${key}`;
    })
    .join(" › ");
}

/** A value of a change as a reader reads it: amounts as money, items as "key: value" lines. */
export function describeValue(value: unknown, t: Translate<WordKey>): string {
  if (value === undefined || value === null || value === "") return t("diff_empty");
  if (typeof value === "string") return /^-?\d+\.\d{2}$/.test(value) ? formatYuan(value) : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map((v) => describeValue(v, t)).join("\n");
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${FIELD_WORDS[k] ? t(FIELD_WORDS[k]) : k}: ${describeValue(v, t)}`)
    .join("\n");
}

export function DiffTable({ changes, lang }: { changes: FieldChange[]; lang: Lang }) {
  const t = translator(words, lang);
  if (!changes.length) return <p class="empty">{t("diff_none")}</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{t("diff_field")}</th>
            <th scope="col">{t("diff_before")}</th>
            <th scope="col">{t("diff_after")}</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((ch) => (
            <tr data-path={ch.path}>
              <th scope="row">
                {describePath(ch.path, t)}
                <br />
                <span class="badge">{t(`diff_${ch.change}`)}</span>
              </th>
              <td class="diff-change">{describeValue(ch.before, t)}</td>
              <td class="diff-change">{describeValue(ch.after, t)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
