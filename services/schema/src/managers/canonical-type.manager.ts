import DataLoader from 'dataloader';
import { UnauthenticatedError, ValidationError, isUuid } from '@datalinx/common';
import { byIdLoader, type Viewer } from '@datalinx/graphql-kit';
import type { CanonicalTypeDao } from '../daos/canonical-type.dao';
import type { CanonicalType } from '../entities/canonical-type.entity';

const MAX_FILTER_LENGTH = 100;

/**
 * Canonical types as a signed-in viewer sees them. They are the same for every organization,
 * so the only rule is "authenticated" — checked here too, because shield does not cover
 * `__resolveReference`. Lookups by id (parents, entity references) and by name are batched per
 * request, so a list with parents costs two queries whatever its length.
 */
export class CanonicalTypeManager {
  private readonly byId: DataLoader<string, CanonicalType | null>;
  private readonly byName: DataLoader<string, CanonicalType | null>;

  constructor(
    private readonly viewer: Viewer,
    private readonly types: CanonicalTypeDao,
  ) {
    // Non-uuid ids cannot exist; dropping them keeps PostgreSQL from rejecting the whole batch.
    this.byId = byIdLoader((ids) => this.types.findByIds(ids.filter((id) => isUuid(id))));
    this.byName = new DataLoader(async (names) => {
      const rows = await this.types.findByNames(names);
      return names.map((n) => rows.find((r) => r.name === n) ?? null);
    });
  }

  private requireViewer(): void {
    if (this.viewer.kind === 'anonymous') throw new UnauthenticatedError();
  }

  async list(category: string | null | undefined, search: string | null | undefined): Promise<CanonicalType[]> {
    this.requireViewer();
    const c = category?.trim() || undefined;
    const s = search?.trim() || undefined;
    const tooLong = [
      ...(c && c.length > MAX_FILTER_LENGTH ? [{ field: 'category', message: `at most ${MAX_FILTER_LENGTH} characters` }] : []),
      ...(s && s.length > MAX_FILTER_LENGTH ? [{ field: 'search', message: `at most ${MAX_FILTER_LENGTH} characters` }] : []),
    ];
    if (tooLong.length) throw new ValidationError('The filter is too long.', tooLong);
    const rows = await this.types.list({ category: c?.toLowerCase(), search: s });
    for (const t of rows) {
      this.byId.prime(t.id, t);
      this.byName.prime(t.name, t);
    }
    return rows;
  }

  async byNameOrNull(name: string): Promise<CanonicalType | null> {
    this.requireViewer();
    return this.byName.load(name.trim().toLowerCase());
  }

  async byIdOrNull(id: string): Promise<CanonicalType | null> {
    this.requireViewer();
    return this.byId.load(id);
  }

  async parentOf(t: CanonicalType): Promise<CanonicalType | null> {
    return t.parentId ? this.byIdOrNull(t.parentId) : null;
  }
}
