/**
 * The repository's Markdown documents work in a fresh clone: every relative link and image
 * resolves to a file or folder inside the repository, every `#anchor` names a heading of its
 * target (GitHub's slugs), and nothing points at the product brief kept outside the repository
 * (`../shared`). The rule tables of docs/ name files that exist and functions they define, so a
 * reader who follows one lands on the rule.
 *
 * Plain text, no Markdown library: ATX headings (`## …`), inline links and images, reference
 * definitions and `<a href>` / `<img src>`; fenced code blocks and code spans are not links.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Folders that are not the project's documents: dependencies, local data, build output. */
const SKIPPED_DIRS = new Set(["node_modules", "data", "dist"]);
/** Line anchors GitHub gives source files (`#L10`, `#L10-L20`). */
const LINE_ANCHOR = /^L\d+(-L\d+)?$/;

/** Every Markdown file of the repository, as paths relative to its root. */
function markdownFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith(".md") ? [relative(ROOT, path)] : [];
  });
}

/** `text` with every character of `match` but newlines blanked, so offsets and line numbers stay. */
const blank = (match: string) => match.replace(/[^\n]/g, " ");

/** The text without fenced code blocks and HTML comments (same length, same lines). */
function withoutCodeBlocks(text: string): string {
  const lines = text.split("\n");
  let fence: string | null = null;
  const out = lines.map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null) {
      if (!marker) return line;
      fence = marker;
      return blank(line);
    }
    if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
      fence = null;
    return blank(line);
  });
  return out.join("\n").replace(/<!--[\s\S]*?-->/g, blank);
}

/** The text without code blocks and code spans: what can hold a link. */
function prose(text: string): string {
  return withoutCodeBlocks(text).replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, blank);
}

/** A heading's anchor as GitHub makes it (github-slugger): lower case, punctuation dropped, spaces → "-". */
function githubSlug(heading: string): string {
  return heading
    .replace(/!\[[^\]]*\]\([^)]*\)/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a document offers: its headings' slugs (repeats get -1, -2, …) and explicit `<a id>`s. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCodeBlocks(text).split("\n")) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const m of text.matchAll(/<a\s[^>]*?\b(?:id|name)="([^"]+)"/g)) if (m[1]) anchors.add(m[1]);
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Every link and image target of a document, with its line. */
function linksOf(text: string): Link[] {
  const body = prose(text);
  const lineAt = (index: number) => body.slice(0, index).split("\n").length;
  const patterns = [
    // [text](target "title") and ![alt](target); the text may hold one level of brackets.
    /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g,
    // [label]: target
    /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    /<(?:a|img)\s[^>]*?\b(?:href|src)="([^"]*)"/g,
  ];
  return patterns.flatMap((pattern) =>
    [...body.matchAll(pattern)].map((m) => ({
      line: lineAt(m.index ?? 0),
      target: (m[1] ?? "").replace(/^<(.*)>$/, "$1"),
    })),
  );
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(path: string): Set<string> {
  let anchors = anchorCache.get(path);
  if (!anchors) {
    anchors = anchorsOf(readFileSync(path, "utf8"));
    anchorCache.set(path, anchors);
  }
  return anchors;
}

/** What is wrong with the links of one document (`file` relative to the root), one line each. */
function linkProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const { line, target } of linksOf(text)) {
    const where = `${file}:${line}: ${target}`;
    // Absolute URLs (https:, mailto:) and protocol-relative ones are not files of the repository.
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
    const hash = target.indexOf("#");
    const pathPart = (hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, "");
    const fragment = hash < 0 ? null : target.slice(hash + 1);
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathPart);
    } catch {
      problems.push(`${where} is not a valid URL path`);
      continue;
    }
    if (decoded === "") {
      // An anchor of this very document.
      if (fragment && !anchorsOf(text).has(decodeURIComponent(fragment))) {
        problems.push(`${where}: ${file} has no heading #${fragment}`);
      }
      continue;
    }
    const here = join(ROOT, file);
    const path = decoded.startsWith("/") ? join(ROOT, decoded) : resolve(dirname(here), decoded);
    const inRepo = relative(ROOT, path);
    if (inRepo.startsWith("..") || isAbsolute(inRepo)) {
      problems.push(`${where} leaves the repository`);
      continue;
    }
    if (!existsSync(path)) {
      problems.push(`${where} names no file of the repository`);
      continue;
    }
    if (fragment === null || fragment === "") continue;
    if (path.endsWith(".md") && statSync(path).isFile()) {
      const anchor = decodeURIComponent(fragment);
      if (!anchorsOfFile(path).has(anchor)) problems.push(`${where}: ${inRepo} has no heading #${anchor}`);
    } else if (!LINE_ANCHOR.test(fragment)) {
      problems.push(`${where}: only a Markdown file has heading anchors`);
    }
  }
  return problems;
}

/** Lines of a document that point at the brief outside the repository, as a link or as text. */
function sharedMentions(file: string, text: string): string[] {
  return text
    .split("\n")
    .flatMap((line, i) => (line.includes("../shared") ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

interface RuleRow {
  line: number;
  files: string[];
  functions: string[];
}

/** Rows of the Markdown tables of `text` whose header has a "file" and a "function" column. */
function ruleRows(text: string): RuleRow[] {
  const rows: RuleRow[] = [];
  const lines = withoutCodeBlocks(text).split("\n");
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, "")
      .split("|")
      .map((c) => c.trim());
  const codeIn = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i] ?? "";
    if (!header.trim().startsWith("|")) continue;
    const names = cells(header).map((c) => c.toLowerCase());
    const fileCol = names.indexOf("file");
    const fnCol = names.indexOf("function");
    if (fileCol < 0 || fnCol < 0 || !/^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? "")) continue;
    let j = i + 2;
    for (; (lines[j] ?? "").trim().startsWith("|"); j++) {
      const row = cells(lines[j] ?? "");
      rows.push({ line: j + 1, files: codeIn(row[fileCol] ?? ""), functions: codeIn(row[fnCol] ?? "") });
    }
    i = j;
  }
  return rows;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What is wrong with a rule table's rows: a file that does not exist, a function no named file has. */
function ruleTableProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const row of ruleRows(text)) {
    const where = `${file}:${row.line}`;
    if (row.files.length === 0) problems.push(`${where}: the row names no file`);
    const sources: string[] = [];
    for (const f of row.files) {
      const path = join(ROOT, f);
      if (!existsSync(path) || !statSync(path).isFile()) problems.push(`${where}: ${f} is not a file`);
      else sources.push(readFileSync(path, "utf8"));
    }
    for (const fn of row.functions) {
      const word = new RegExp(`(?<![\\w$])${escapeRegExp(fn)}(?![\\w$])`);
      if (!sources.some((s) => word.test(s))) {
        problems.push(`${where}: \`${fn}\` is not in ${row.files.join(", ")}`);
      }
    }
  }
  return problems;
}

const documents = markdownFiles().map((file) => ({ file, text: readFileSync(join(ROOT, file), "utf8") }));

describe("the repository's documents", () => {
  it("include the README, the benchmarks, docs/ and the authorization matrix", () => {
    const files = documents.map((d) => d.file);
    for (const expected of [
      "README.md",
      "BENCHMARKS.md",
      "docs/README.md",
      "docs/domain.md",
      "docs/architecture.md",
      "test/authz/MATRIX.md",
    ]) {
      expect(files).toContain(expected);
    }
  });

  it("link only to files inside the repository, and to headings their targets have", () => {
    expect(documents.flatMap((d) => linkProblems(d.file, d.text))).toEqual([]);
  });

  it("do not point at the product brief outside the repository (../shared)", () => {
    expect(documents.flatMap((d) => sharedMentions(d.file, d.text))).toEqual([]);
  });

  it("docs/ rule tables name files that exist and functions those files hold", () => {
    const docs = documents.filter((d) => d.file.startsWith("docs/"));
    const rows = docs.flatMap((d) => ruleRows(d.text));
    // The architecture's "where each rule lives" table is the one that must stay true.
    expect(rows.length).toBeGreaterThan(20);
    expect(docs.flatMap((d) => ruleTableProblems(d.file, d.text))).toEqual([]);
  });
});

describe("the link checker itself", () => {
  it("slugs headings as GitHub does", () => {
    expect(githubSlug("Elevator e-bike sensors: device integration guide (protocol v1)")).toBe(
      "elevator-e-bike-sensors-device-integration-guide-protocol-v1",
    );
    expect(githubSlug("Residents' fees")).toBe("residents-fees");
    expect(githubSlug("The `contracts/` core, **pure**")).toBe("the-contracts-core-pure");
    expect(githubSlug("业主大会 owners' vote (art. 278)")).toBe("业主大会-owners-vote-art-278");
    expect([...anchorsOf("# Notes\n\n## Notes\n\n```\n# not a heading\n```\n")]).toEqual([
      "notes",
      "notes-1",
    ]);
  });

  it("flags a link out of the repository, a missing file, a missing heading; ignores code and URLs", () => {
    const doc = [
      "See [the brief](../shared/DOMAIN.md), [gone](docs/nowhere.md) and [fees](README.md#no-such-heading).",
      "Fine: [fees](README.md#residents-fees), [here](#local), [site](https://example.com/x#y), [src](src/app.ts#L10).",
      "Not fine: [there](#elsewhere).",
      "`[not a link](../x.md)`",
      "```",
      "[not a link either](../y.md)",
      "```",
      "## Local",
      "[ref]: ../../outside.md",
    ].join("\n");
    expect(linkProblems("NOTE.md", doc)).toEqual([
      "NOTE.md:1: ../shared/DOMAIN.md leaves the repository",
      "NOTE.md:1: docs/nowhere.md names no file of the repository",
      "NOTE.md:1: README.md#no-such-heading: README.md has no heading #no-such-heading",
      "NOTE.md:3: #elsewhere: NOTE.md has no heading #elsewhere",
      "NOTE.md:9: ../../outside.md leaves the repository",
    ]);
  });

  it("flags a rule table row whose file is missing or lacks the function it names", () => {
    const doc = [
      "| rule | file | function |",
      "| --- | --- | --- |",
      "| art. 278 | `contracts/vote.ts` | `evaluateVote` |",
      "| renamed | `contracts/vote.ts` | `evaluateVoteTally` |",
      "| moved | `contracts/votes.ts` | `evaluateVote` |",
    ].join("\n");
    expect(ruleTableProblems("NOTE.md", doc)).toEqual([
      "NOTE.md:4: `evaluateVoteTally` is not in contracts/vote.ts",
      "NOTE.md:5: contracts/votes.ts is not a file",
      "NOTE.md:5: `evaluateVote` is not in contracts/votes.ts",
    ]);
  });
});
