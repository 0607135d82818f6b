const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID string: managers check ids with it before they reach a uuid column (PostgreSQL would raise on anything else). */
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

/**
 * The nil UUID. Well-formed, so PostgreSQL's uuid cast and every UUID validator accept it, and
 * never the id of anything: every id is generated (gen_random_uuid(), randomUUID(): version 4),
 * none is nil. The API answers a malformed id as this one: "names nothing".
 */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** `s` in the canonical lower-case form when it is a UUID; NIL_UUID for anything else (it names nothing). */
export const uuidOrNil = (s: unknown): string => (isUuid(s) ? s.toLowerCase() : NIL_UUID);
