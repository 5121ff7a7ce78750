export * from "./audit.js";
export * from "./canonical.js";
export * from "./dates.js";
export * from "./diff.js";
export * from "./lifecycle.js";
export * from "./money.js";
export * from "./terms.js";
export * from "./vote.js";
