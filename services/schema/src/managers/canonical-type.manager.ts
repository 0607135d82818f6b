import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { UnauthenticatedError, ValidationError, isUuid } from '@datalinx/common';
import { byIdLoader, type Viewer, perViewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { CANONICAL_TYPE_CREATED_V1, canonicalTypeByName, customCanonicalType, type CanonicalTypeCreatedV1, type CanonicalTypeDef } from '@datalinx/contracts';
import type { CanonicalTypeDao } from '../daos/canonical-type.dao';
import type { CustomCanonicalTypeDao } from '../daos/custom-canonical-type.dao';
import type { CanonicalType } from '../entities/canonical-type.entity';
import { CustomCanonicalType } from '../entities/custom-canonical-type.entity';

const MAX_FILTER_LENGTH = 100;
const MAX_EXAMPLES = 20;

/** A built-in row or an org's custom one (custom rows carry their org). */
export type CanonicalTypeRow = CanonicalType | CustomCanonicalType;
export const isCustom = (t: CanonicalTypeRow): t is CustomCanonicalType => t instanceof CustomCanonicalType || 'orgId' in t;

export interface CreateCanonicalTypeInput {
  name: string;
  label: string;
  parent: string;
  pattern?: string | null;
  examples: string[];
  description?: string | null;
}
export type { SchemaUserError as UserError } from '../errors';
import type { SchemaUserError as UserError } from '../errors';

/**
 * Canonical types as a viewer sees them: the built-ins (global, the same for every org) and the
 * custom types of the viewer's own organization (tenant data, row-level security). Reads need a
 * signed-in viewer — checked here too, because shield does not cover `__resolveReference`;
 * creating a custom type needs schemas:write in the whole org (an org ADMIN). Lookups by id and
 * by name are batched per request. A created type's `schema.canonical_type.created.v1` event is
 * written to the outbox in the transaction that inserts it (other services keep replicas of the
 * org's custom types from it; `onCommit` kicks the relay).
 */
export class CanonicalTypeManager {
  private readonly byId: (viewer: Viewer) => DataLoader<string, CanonicalTypeRow | null>;
  private readonly byName: (viewer: Viewer) => DataLoader<string, CanonicalTypeRow | null>;

  constructor(
    private readonly types: CanonicalTypeDao,
    private readonly custom: CustomCanonicalTypeDao,
    private readonly ds: DataSource,
    private readonly onCommit: () => void = () => undefined,
  ) {
    // Non-uuid ids cannot exist; dropping them keeps PostgreSQL from rejecting the whole batch.
    this.byId = perViewer((viewer) =>
      byIdLoader(async (ids) => {
        const valid = ids.filter((id) => isUuid(id));
        const builtIns: CanonicalTypeRow[] = await this.types.findByIds(valid);
        const missing = valid.filter((id) => !builtIns.some((t) => t.id === id));
        const org = this.orgId(viewer);
        return org && missing.length ? [...builtIns, ...(await this.custom.findByIds(org, missing))] : builtIns;
      }),
    );
    this.byName = perViewer(
      (viewer) =>
        new DataLoader(async (names) => {
          const rows: CanonicalTypeRow[] = await this.types.findByNames(names);
          const missing = names.filter((n) => !rows.some((r) => r.name === n));
          const org = this.orgId(viewer);
          if (org && missing.length) rows.push(...(await this.custom.findByNames(org, missing)));
          return names.map((n) => rows.find((r) => r.name === n) ?? null);
        }),
    );
  }

  private orgId(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  private requireViewer(viewer: Viewer): void {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  }

  async list(viewer: Viewer, category: string | null | undefined, search: string | null | undefined): Promise<CanonicalTypeRow[]> {
    this.requireViewer(viewer);
    const c = category?.trim() || undefined;
    const s = search?.trim() || undefined;
    const tooLong = [
      ...(c && c.length > MAX_FILTER_LENGTH ? [{ field: 'category', message: `at most ${MAX_FILTER_LENGTH} characters` }] : []),
      ...(s && s.length > MAX_FILTER_LENGTH ? [{ field: 'search', message: `at most ${MAX_FILTER_LENGTH} characters` }] : []),
    ];
    if (tooLong.length) throw new ValidationError('The filter is too long.', tooLong);
    const filter = { category: c?.toLowerCase(), search: s };
    const rows: CanonicalTypeRow[] = [...(await this.types.list(filter)), ...(await this.custom.list(this.orgId(viewer)!, filter))];
    rows.sort((a, b) => (a.category === b.category ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.category < b.category ? -1 : 1));
    for (const t of rows) {
      this.byId(viewer).prime(t.id, t);
      this.byName(viewer).prime(t.name, t);
    }
    return rows;
  }

  async byNameOrNull(viewer: Viewer, name: string): Promise<CanonicalTypeRow | null> {
    this.requireViewer(viewer);
    return this.byName(viewer).load(name.trim().toLowerCase());
  }

  async byIdOrNull(viewer: Viewer, id: string): Promise<CanonicalTypeRow | null> {
    this.requireViewer(viewer);
    return this.byId(viewer).load(id);
  }

  async parentOf(viewer: Viewer, t: CanonicalTypeRow): Promise<CanonicalTypeRow | null> {
    const id = isCustom(t) && t.parentCustomId ? t.parentCustomId : t.parentId;
    return id ? this.byIdOrNull(viewer, id) : null;
  }

  /**
   * The shared definition (validator, SQL normalizer, rule): the built-in's, or the custom
   * type's over its parent's (a chain of custom types ends at a built-in).
   */
  async definitionOf(viewer: Viewer, t: CanonicalTypeRow, depth = 0): Promise<CanonicalTypeDef> {
    if (!isCustom(t)) {
      const d = canonicalTypeByName(t.name);
      if (!d) throw new Error(`built-in canonical type ${t.name} has no definition in @datalinx/contracts`);
      return d;
    }
    const parent = await this.parentOf(viewer, t);
    if (!parent || depth > 10) throw new Error(`custom canonical type ${t.name} has no parent`);
    return customCanonicalType(await this.definitionOf(viewer, parent, depth + 1), { name: t.name, label: t.label, pattern: t.pattern, category: t.category });
  }

  /**
   * The built-in at the root of the type's chain and every pattern of the chain, root first (what
   * the created event carries, so consumers never walk the chain themselves).
   */
  async lineageOf(viewer: Viewer, t: CanonicalTypeRow, depth = 0): Promise<{ baseType: string; patterns: string[] }> {
    if (!isCustom(t)) return { baseType: t.name, patterns: [] };
    const parent = await this.parentOf(viewer, t);
    if (!parent || depth > 10) throw new Error(`custom canonical type ${t.name} has no parent`);
    const up = await this.lineageOf(viewer, parent, depth + 1);
    return { baseType: up.baseType, patterns: t.pattern ? [...up.patterns, t.pattern] : up.patterns };
  }

  /** createCanonicalType: schemas:write in the org (org ADMIN); expected failures come back as payload errors. */
  async create(viewer: Viewer, input: CreateCanonicalTypeInput): Promise<{ canonicalType: CustomCanonicalType | null; errors: UserError[] }> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const errors: UserError[] = [];
    const err = (code: UserError['code'], field: string | null, message: string) => errors.push({ code, field, message });
    const name = input.name.trim();
    const label = input.label.trim();
    const description = (input.description ?? '').trim();
    const pattern = input.pattern?.trim() || null;
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) err('NAME_INVALID', 'name', 'a lower-case letter, then lower-case letters, digits or _; at most 63 characters');
    else if (canonicalTypeByName(name)) err('NAME_TAKEN', 'name', `"${name}" is a built-in canonical type`);
    if (label.length < 1 || label.length > 100) err('LABEL_INVALID', 'label', '1–100 characters');
    if (description.length > 2000) err('DESCRIPTION_INVALID', 'description', 'at most 2000 characters');
    // The parent: a built-in, or a custom type of the viewer's own org (another org's is not found).
    const parentRow = await this.byName(viewer).load(input.parent.trim().toLowerCase());
    const parent = parentRow ? await this.definitionOf(viewer, parentRow) : null;
    if (!parent) err('PARENT_NOT_FOUND', 'parent', 'no such canonical type (a built-in one or one of your organization)');
    let def: CanonicalTypeDef | null = null;
    if (pattern !== null) {
      let ok = pattern.length <= 1000 && pattern.startsWith('^') && pattern.endsWith('$') && !/\\b|\(\?<[=!]/.test(pattern);
      if (ok) {
        try {
          new RegExp(pattern);
        } catch {
          ok = false;
        }
      }
      if (!ok)
        err(
          'PATTERN_INVALID',
          'pattern',
          'an anchored (^…$) regular expression of at most 1000 characters, in the common subset of ECMAScript and PostgreSQL (no \\b, no lookbehind)',
        );
    }
    if (parent && !errors.some((e) => e.field === 'pattern')) def = customCanonicalType(parent, { name: name || 'custom', label, pattern });
    if (input.examples.length > MAX_EXAMPLES) err('EXAMPLES_INVALID', 'examples', `at most ${MAX_EXAMPLES} examples`);
    const examples: string[] = [];
    if (def) {
      for (const [i, e] of input.examples.entries()) {
        const r = def.validate(e);
        if (r.ok) examples.push(r.normalized);
        else err('EXAMPLE_INVALID', `examples.${i}`, `example ${i + 1} is not a valid value of the type (${r.rule})`);
      }
    }
    // Org-wide write: schemas:write in every workspace of the org, i.e. an org ADMIN (shield checks it too).
    if (!(viewer.kind === 'user' && viewer.orgRole === 'ADMIN'))
      return { canonicalType: null, errors: [{ code: 'FORBIDDEN', field: null, message: 'Only organization administrators can create canonical types.' }] };
    if (errors.length) return { canonicalType: null, errors };
    const lineage = await this.lineageOf(viewer, parentRow!);
    try {
      const orgId = viewer.orgId;
      const row = await withTenant(this.ds, orgId, async (em) => {
        const created = await this.custom.create(em, orgId, {
          name,
          label,
          description,
          category: parent!.category,
          parentId: isCustom(parentRow!) ? null : parentRow!.id,
          parentCustomId: isCustom(parentRow!) ? parentRow!.id : null,
          pattern,
          examples: [...new Set(examples)],
          createdBy: viewer.userId,
        });
        if (!created) return null;
        // Same transaction: the type never exists without its event (and no event without the type).
        const event: CanonicalTypeCreatedV1 = {
          orgId,
          typeId: created.id,
          name: created.name,
          label: created.label,
          parent: parentRow!.name,
          baseType: lineage.baseType,
          pattern: created.pattern,
          patterns: created.pattern ? [...lineage.patterns, created.pattern] : lineage.patterns,
          createdAt: new Date(created.createdAt).toISOString(),
        };
        await enqueueOutbox(em, CANONICAL_TYPE_CREATED_V1, event);
        return created;
      });
      if (!row)
        return { canonicalType: null, errors: [{ code: 'NAME_TAKEN', field: 'name', message: `your organization already has a canonical type "${name}"` }] };
      this.onCommit();
      return { canonicalType: row, errors: [] };
    } catch (e) {
      // PostgreSQL could not compile the pattern (check constraint): the two engines must both accept it.
      if ((e as { code?: string }).code === '23514' || (e as { code?: string }).code === '2201B') {
        return { canonicalType: null, errors: [{ code: 'PATTERN_INVALID', field: 'pattern', message: 'PostgreSQL cannot use this regular expression' }] };
      }
      throw e;
    }
  }
}
