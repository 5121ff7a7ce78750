/**
 * The enterprise's projected cash flow as an inline SVG: a bar per year (net cash) and a line of
 * the cumulative cash, with the zero line. Accessible: role="img" named by its title and
 * described in words, and every figure in a table (inside <details>) for a screen reader or a
 * reader who wants the numbers. Money stays strings and Decimal; only pixel positions are numbers.
 */
import { Decimal } from "decimal.js";
import { formatYuan } from "../format.js";
import type { Lang } from "../i18n.js";
import { translator } from "../i18n.js";
import { words } from "./messages.js";

export interface CashFlowYear {
  year: number;
  revenue: string;
  costs: string;
  net: string;
  cumulative: string;
}

const W = 640;
const H = 300;
const PAD = { left: 12, right: 12, top: 28, bottom: 36 };

/** Whole yuan for an axis label ("-680000.00" → "-¥680,000"). */
function axisYuan(d: Decimal): string {
  return formatYuan(d.toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toFixed(2)).replace(/\.00$/, "");
}

export function CashFlowChart({
  years,
  paybackYear,
  capital,
  lang,
  id = "cash-flow",
}: {
  years: CashFlowYear[];
  paybackYear: number | null;
  capital: string;
  lang: Lang;
  id?: string;
}) {
  const t = translator(words, lang);
  const values = years.flatMap((y) => [new Decimal(y.net), new Decimal(y.cumulative)]);
  const max = Decimal.max(new Decimal(0), ...values);
  const min = Decimal.min(new Decimal(0), ...values);
  const span = max.minus(min).isZero() ? new Decimal(1) : max.minus(min);
  const plotH = H - PAD.top - PAD.bottom;
  const plotW = W - PAD.left - PAD.right;
  const y = (v: Decimal | string) =>
    PAD.top + new Decimal(max).minus(v).div(span).times(plotH).toDecimalPlaces(1).toNumber();
  const slot = plotW / Math.max(1, years.length);
  const barW = Math.max(4, Math.min(40, slot * 0.6));
  const cx = (i: number) => PAD.left + slot * i + slot / 2;
  const zero = y("0");
  const line = years.map((yr, i) => `${cx(i).toFixed(1)},${y(yr.cumulative)}`).join(" ");
  const desc =
    paybackYear === null
      ? t("chart_desc_never", { capital: formatYuan(capital) })
      : t("chart_desc", { capital: formatYuan(capital), year: paybackYear });
  // Label every year when they fit, else every few (a 30-year term on a phone).
  const every = Math.ceil(years.length / 15);
  return (
    <figure class="cash-flow">
      <svg
        class="chart"
        viewBox={`0 0 ${W} ${H}`}
        width={W}
        height={H}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
      >
        <title id={`${id}-title`}>{t("chart_title")}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        <text x={PAD.left} y={16} font-size="13" fill="#4d5660">
          {axisYuan(max)}
        </text>
        <text x={PAD.left} y={H - PAD.bottom + 30} font-size="13" fill="#4d5660">
          {axisYuan(min)}
        </text>
        {years.map((yr, i) => {
          const top = Math.min(y(yr.net), zero);
          const height = Math.max(1, Math.abs(y(yr.net) - zero));
          const negative = new Decimal(yr.net).isNegative();
          return (
            <rect
              x={(cx(i) - barW / 2).toFixed(1)}
              y={top.toFixed(1)}
              width={barW.toFixed(1)}
              height={height.toFixed(1)}
              fill={negative ? "#b42318" : "#1a7f37"}
            />
          );
        })}
        <line x1={PAD.left} x2={W - PAD.right} y1={zero} y2={zero} stroke="#1b1f24" stroke-width="1" />
        <polyline points={line} fill="none" stroke="#0b5cad" stroke-width="2.5" />
        {years.map((yr, i) => (
          <circle cx={cx(i).toFixed(1)} cy={y(yr.cumulative)} r="3" fill="#0b5cad" />
        ))}
        {years.map((yr, i) =>
          i % every === 0 ? (
            <text
              x={cx(i).toFixed(1)}
              y={H - PAD.bottom + 14}
              font-size="12"
              text-anchor="middle"
              fill="#1b1f24"
            >
              {yr.year}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption>
        <span class="legend net">{t("chart_legend_net")}</span>{" "}
        <span class="legend cumulative">{t("chart_legend_cumulative")}</span>
      </figcaption>
      <details>
        <summary>{t("chart_figures")}</summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{t("chart_title")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("chart_year")}</th>
                <th scope="col" class="num">
                  {t("chart_revenue")}
                </th>
                <th scope="col" class="num">
                  {t("chart_costs")}
                </th>
                <th scope="col" class="num">
                  {t("chart_net")}
                </th>
                <th scope="col" class="num">
                  {t("chart_cumulative")}
                </th>
              </tr>
            </thead>
            <tbody>
              {years.map((yr) => (
                <tr>
                  <th scope="row">{t("chart_year_n", { n: yr.year })}</th>
                  <td class="num">{formatYuan(yr.revenue)}</td>
                  <td class="num">{formatYuan(yr.costs)}</td>
                  <td class="num">{formatYuan(yr.net)}</td>
                  <td class="num">{formatYuan(yr.cumulative)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
