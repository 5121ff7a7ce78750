import { z } from "@hono/zod-openapi";
import { createRoute, errorResponses } from "../../openapi.js";

const tags = ["problems"];
const page = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });

export const listProblemTypes = createRoute({
  operationId: "listProblemTypes",
  method: "get",
  path: "/problems",
  tags,
  security: [],
  summary: "Every problem type the API answers with, each linked to its page",
  description: "The codes of ERROR_CODES with what each means, for people who follow a problem's `type`.",
  responses: {
    200: page("A page listing every problem code with what it means"),
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
    200: page("The code and what it means"),
    404: errorResponses[404],
    400: errorResponses[400],
  },
});
