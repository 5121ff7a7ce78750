/** How the portal writes dates, instants and money for a reader (Asia/Shanghai, the reader's language). */
import type { Lang } from "./i18n.js";

const instantFormats = new Map<Lang, Intl.DateTimeFormat>();

/** An instant as a Shanghai wall-clock time: "2026年12月5日 13:05" / "5 Dec 2026, 13:05". */
export function formatInstant(at: Date, lang: Lang): string {
  let f = instantFormats.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, {
      timeZone: "Asia/Shanghai",
      dateStyle: "medium",
      timeStyle: "short",
      hourCycle: "h23",
    });
    instantFormats.set(lang, f);
  }
  return f.format(at);
}

/** A business date ('YYYY-MM-DD', already a Shanghai calendar date): "2026年12月5日" / "5 Dec 2026". */
export function formatDate(date: string, lang: Lang): string {
  const [y, m, d] = date.split("-").map(Number);
  if (!y || !m || !d) return date;
  return lang === "en"
    ? new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" }).format(Date.UTC(y, m - 1, d))
    : `${y}年${m}月${d}日`;
}

/** A money string of the API ("1280.50") as the reader reads it: "¥1,280.50". Never via a number. */
export function formatYuan(amount: string): string {
  const negative = amount.startsWith("-");
  const [whole = "0", cents = "00"] = amount.replace(/^-/, "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}¥${grouped}.${cents.padEnd(2, "0").slice(0, 2)}`;
}
