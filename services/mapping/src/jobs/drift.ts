import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Logger } from '@datalinx/common';
import type { CatalogDao, CatalogSnapshot } from '../daos/catalog.dao';
import type { MappingDao } from '../daos/mapping.dao';
import { detectDrift } from '../compile/drift';
import { MAPPING_DRIFT_DETECTED_V1 } from '../events';

/**
 * Records drift on the snapshot replica's transaction: for each mapping of the workspace a new
 * snapshot broke, a drift notice (the reasons its fields show as ERROR until the mapping is
 * changed) and `mapping.mapping.drift_detected.v1` in the outbox, once per (mapping, snapshot).
 */
export class DriftRecorder {
  constructor(
    private readonly mappings: MappingDao,
    private readonly catalogs: CatalogDao,
    private readonly log: Logger,
  ) {}

  /** Returns how many mappings got a notice. */
  async record(em: EntityManager, orgId: string, workspaceId: string, previous: CatalogSnapshot | null, current: CatalogSnapshot): Promise<number> {
    if (!previous) return 0;
    const mappings = await this.mappings.listAllByWorkspace(em, orgId, workspaceId);
    if (!mappings.length) return 0;
    const target = await this.catalogs.targetSchema(em, orgId, workspaceId);
    const now = await this.catalogs.sourceCatalog(em, orgId, workspaceId);
    const before = [...now.filter((c) => c.connectionId !== previous.connectionId), previous];
    const targetOf = (m: (typeof mappings)[number]) => {
      if (!target) return null;
      const name = m.targetTableId ? Object.entries(target.tableIds).find(([, id]) => id === m.targetTableId)?.[0] : m.targetTable;
      return target.document.tables.find((t) => t.name === name) ?? null;
    };
    let n = 0;
    for (const d of await detectDrift(mappings, targetOf, before, previous, current)) {
      const id = randomUUID();
      const recorded = await this.mappings.recordDrift(em, orgId, d.mapping.id, current.snapshotId, d.fields, {
        id,
        subject: MAPPING_DRIFT_DETECTED_V1,
        payload: { orgId, workspaceId, mappingId: d.mapping.id, snapshotId: current.snapshotId, fields: d.fields },
      });
      if (recorded) {
        n++;
        this.log.info({ mappingId: d.mapping.id, snapshotId: current.snapshotId, fields: d.fields.length, eventId: id }, 'mapping drift detected');
      }
    }
    return n;
  }
}
