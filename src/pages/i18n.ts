/**
 * The portal's two languages. Chinese is the default (the people it serves read Chinese); English
 * is one click away on every page. Each area of the portal keeps its own catalogue beside its
 * pages (`<area>/messages.ts`), shaped by `defineMessages`, so the two languages can not drift:
 * an English catalogue must have exactly the Chinese keys.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";

export const LANGS = ["zh-CN", "en"] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = "zh-CN";
export const LANG_COOKIE = "lang";

export type Catalogue<K extends string> = Record<Lang, Record<K, string>>;

/** A catalogue whose English has exactly the Chinese keys (the compiler checks). */
export function defineMessages<K extends string>(zh: Record<K, string>, en: Record<K, string>): Catalogue<K> {
  return { "zh-CN": zh, en };
}

/** `{name}` placeholders filled from `params`. */
export function format(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  );
}

export type Translate<K extends string> = (key: K, params?: Record<string, string | number>) => string;

export function translator<K extends string>(catalogue: Catalogue<K>, lang: Lang): Translate<K> {
  const table = catalogue[lang];
  return (key, params) => format(table[key], params);
}

/** The language of this request: the `lang` cookie the switch sets, else Chinese. */
export function langOf(c: Context): Lang {
  const chosen = getCookie(c, LANG_COOKIE);
  return chosen === "en" ? "en" : DEFAULT_LANG;
}
