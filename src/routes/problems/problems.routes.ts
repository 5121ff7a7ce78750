import { z } from "@hono/zod-openapi";
import { createRoute, errorResponses } from "../../openapi.js";

const tags = ["problems"];
const page = (description: string, example: string) => ({
  description,
  content: { "text/html": { schema: z.string().openapi({ example }) } },
});

export const listProblemTypes = createRoute({
  operationId: "listProblemTypes",
  method: "get",
  path: "/problems",
  tags,
  security: [],
  summary: "Every problem type the API answers with, each linked to its page",
  description: "The codes of ERROR_CODES with what each means, for people who follow a problem's `type`.",
  responses: {
    200: page(
      "A page listing every problem code with what it means",
      '<!doctype html><html lang="en"><title>Problem types</title><dl><dt id="not_found">not_found</dt><dd>the resource does not exist, or is outside the caller\'s scope</dd>…</dl></html>',
    ),
    400: errorResponses[400],
  },
});

export const getProblemType = createRoute({
  operationId: "getProblemType",
  method: "get",
  path: "/problems/{code}",
  tags,
  security: [],
  summary: "What a problem code means: the page a problem's `type` points at",
  description:
    "Every problem+json body's `type` is `/problems/{code}`, a URI reference resolved against the request's URL (RFC 9457 §3.1.1): following it gives this page.",
  request: {
    params: z.object({
      code: z
        .string()
        .max(64)
        .openapi({ param: { name: "code", in: "path" }, example: "validation_failed" }),
    }),
  },
  responses: {
    200: page(
      "The code and what it means",
      '<!doctype html><html lang="en"><title>not_found</title><h1>not_found</h1><p>the resource does not exist, or is outside the caller\'s scope</p></html>',
    ),
    404: errorResponses[404],
    400: errorResponses[400],
  },
});
