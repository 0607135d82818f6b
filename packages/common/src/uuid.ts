const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID string: managers check ids with it before they reach a uuid column (PostgreSQL would raise on anything else). */
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);
