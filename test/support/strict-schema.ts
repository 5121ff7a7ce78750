/**
 * A response schema made strict all the way down, to parse real answers with: an object refuses
 * any field it does not declare, and a default or a catch no longer fills in a field the body
 * left out. An object that declares a catchall (the Problem's extension members) keeps it: those
 * extra fields are documented.
 */
import { z } from "zod";
import type { $ZodIssue } from "zod/v4/core";

type Def = Record<string, unknown> & { type: string };
const defOf = (schema: z.ZodType) => schema._zod.def as unknown as Def;
const cloneWith = (schema: z.ZodType, def: Def) => schema.clone(def as never) as z.ZodType;

const made = new WeakMap<z.ZodType, z.ZodType>();

export function strictSchema(schema: z.ZodType): z.ZodType {
  const done = made.get(schema);
  if (done) return done;
  const strict = build(schema);
  made.set(schema, strict);
  return strict;
}

function build(schema: z.ZodType): z.ZodType {
  const def = defOf(schema);
  switch (def.type) {
    case "object": {
      const shape = Object.fromEntries(
        Object.entries((schema as z.ZodObject).shape).map(([key, field]) => [
          key,
          strictSchema(field as z.ZodType),
        ]),
      );
      const catchall = def.catchall as z.ZodType | undefined;
      return cloneWith(schema, { ...def, shape, catchall: catchall ? strictSchema(catchall) : z.never() });
    }
    case "array":
      return cloneWith(schema, { ...def, element: strictSchema(def.element as z.ZodType) });
    case "optional":
    case "nullable":
    case "readonly":
    case "nonoptional":
      return cloneWith(schema, { ...def, innerType: strictSchema(def.innerType as z.ZodType) });
    // What a default or a catch would fill in is what a presenter must send.
    case "default":
    case "prefault":
    case "catch":
      return strictSchema(def.innerType as z.ZodType);
    case "union":
      return cloneWith(schema, { ...def, options: (def.options as z.ZodType[]).map(strictSchema) });
    case "record":
      return cloneWith(schema, { ...def, valueType: strictSchema(def.valueType as z.ZodType) });
    case "tuple":
      return cloneWith(schema, {
        ...def,
        items: (def.items as z.ZodType[]).map(strictSchema),
        rest: def.rest ? strictSchema(def.rest as z.ZodType) : null,
      });
    case "pipe":
      return cloneWith(schema, { ...def, in: strictSchema(def.in as z.ZodType) });
    case "lazy": {
      const getter = def.getter as () => z.ZodType;
      return cloneWith(schema, { ...def, getter: () => strictSchema(getter()) });
    }
    case "intersection":
      // Each side would refuse the other's fields: declare the shape as one object instead.
      throw new Error("strictSchema: an intersection cannot be made strict; use .extend()");
    default:
      return schema;
  }
}

/**
 * Each issue as `path: what`, e.g. `items.0.invoiceDueDays: not in the schema` — a union's
 * issues per option, so a drift inside one option of a union still names its field.
 */
export function describeIssues(issues: readonly $ZodIssue[], prefix: (string | number)[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    const at = path.length ? path.join(".") : "(body)";
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => `${[...path, key].join(".")}: not in the schema`);
    }
    if (issue.code === "invalid_union" && issue.errors.length) {
      return issue.errors.flatMap((option, i) =>
        describeIssues(option, path).map((line) => `${line} (union option ${i + 1})`),
      );
    }
    return [`${at}: ${issue.message}`];
  });
}
