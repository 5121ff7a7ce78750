import { defineConfig } from "drizzle-kit";

// Only generates migrations from the schema; applying them is `npm run db:migrate`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema.ts",
  out: "./db/migrations",
  casing: "snake_case",
});
