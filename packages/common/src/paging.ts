import { ValidationError } from './errors';

/** Opaque keyset cursors: base64url("<iso time>|<uuid>"). */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): { createdAt: Date; id: string } | undefined {
  if (!cursor) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    throw new ValidationError('The cursor is not valid.', [{ field: 'after', message: 'Use pageInfo.endCursor from a previous page.' }]);
  }
  return { createdAt, id };
}

export function pageSize(first: number | null | undefined, max = 200): number {
  const n = first ?? 50;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationError(`first must be between 1 and ${max}.`, [{ field: 'first', message: `between 1 and ${max}` }]);
  }
  return n;
}
