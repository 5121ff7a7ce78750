import { html, raw } from "hono/html";
import { ApiError, ERROR_CODES, type ErrorCode, problemType } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import type * as routes from "./problems.routes.js";

/** Pages that change only with a release: a day in any cache is fine. */
const CACHE = { "Cache-Control": "public, max-age=86400" };

const isCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** A meaning of ERROR_CODES as HTML: escaped, its `code` spans as <code>. */
function meaningHtml(code: ErrorCode) {
  const escaped = html`${ERROR_CODES[code]}`.toString();
  return raw(escaped.replace(/`([^`]+)`/g, "<code>$1</code>"));
}

function layout(title: string, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} · BOT platform API</title>
  </head>
  <body>
    <main>${body}</main>
  </body>
</html>
`;
}

export const listProblemTypes: AppRouteHandler<typeof routes.listProblemTypes> = (c) => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  const page = layout(
    "Problem types",
    html`<h1>Problem types</h1>
      <p>
        Every error of the API is an RFC 9457 problem (<code>application/problem+json</code>): its
        <code>type</code> links to one of these pages, its <code>code</code> is the stable name clients
        switch on, its <code>detail</code> says what happened, and its <code>requestId</code> is what to quote
        when asking for help. See also <a href="/docs">the API reference</a>.
      </p>
      <dl>
        ${codes.map(
          (code) => html`<dt><a href="${problemType(code)}"><code>${code}</code></a></dt>
            <dd>${meaningHtml(code)}</dd>`,
        )}
      </dl>`,
  );
  return c.html(page, 200, CACHE);
};

export const getProblemType: AppRouteHandler<typeof routes.getProblemType> = (c) => {
  const { code } = c.req.valid("param");
  if (!isCode(code)) throw ApiError.notFound(`The problem type \`${code}\``);
  const page = layout(
    code,
    html`<h1><code>${code}</code></h1>
      <p>${meaningHtml(code)}.</p>
      <p>
        The API answered an RFC 9457 problem (<code>application/problem+json</code>) whose
        <code>code</code> is <code>${code}</code>. Its <code>detail</code> says what happened on that
        request (a 400's <code>errors</code> name each failing field); quote its <code>requestId</code> when
        asking for help.
      </p>
      <p><a href="/problems">Every problem type</a> · <a href="/docs">API reference</a></p>`,
  );
  return c.html(page, 200, CACHE);
};
