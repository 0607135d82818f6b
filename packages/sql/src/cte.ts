import type { CteRelation, CteResult } from './types';

/** Parses the SELECT of a mapping's CTE named `name` over `relations` (see README.md). */
export async function parseCte(name: string, text: string, relations: CteRelation[]): Promise<CteResult> {
  void name;
  void text;
  void relations;
  return { ok: false, problems: [{ code: 'NODE_NOT_ALLOWED', message: 'The CTE parser is being built.' }] };
}
