/**
 * A UUID in either case. Spelled without the `i` flag so it travels into JSON Schema as it is
 * (the device protocol's `commandId`); one pattern for every path id checked before the database.
 */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const isUuid = (s: string) => UUID_PATTERN.test(s);
