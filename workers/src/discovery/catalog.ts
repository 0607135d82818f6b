import type { DiscoveredForeignKey } from '@datalinx/contracts';
import type { StepResult } from '../connectors/steps';
import type { EstimatePlan, RowEstimate } from './row-estimate';

/** A table or view as the source's catalog lists it. */
export interface TableRef {
  schema: string;
  name: string;
  kind: 'TABLE' | 'VIEW';
  /** The row estimate the catalog knows, or that the table may be counted exactly (`countRows`). */
  estimate: EstimatePlan;
  /** Connector-specific handle (PostgreSQL: the relation oid). */
  ref: string;
}

export interface CatalogColumn {
  name: string;
  type: string;
  nullable: boolean;
}

/** What discovery reads from a source (one open session; every method only reads). */
export interface SourceCatalog {
  /** "signed in as … (PostgreSQL 16)". */
  describe(): string;
  tables(): Promise<TableRef[]>;
  /** Columns in ordinal order, primary keys and foreign keys of the given tables (a few catalog queries for all of them). */
  structure(tables: TableRef[]): Promise<Map<string, { columns: CatalogColumn[]; primaryKey: string[]; foreignKeys: DiscoveredForeignKey[] }>>;
  /**
   * Counts a table whose plan says `count` with `count(*)`, the statement bounded by `timeoutMs`
   * on the server; a count that does not finish is an UNKNOWN estimate saying so.
   */
  countRows?(t: TableRef, timeoutMs: number): Promise<RowEstimate>;
  /**
   * Streams at most `limit` rows of the table, each value as text clipped to `clip` characters (null for NULL).
   * May answer a row estimate learnt while reading (files: the rows counted), which replaces the catalog's.
   */
  sample(
    t: TableRef,
    columns: string[],
    limit: number,
    clip: number,
    onRow: (values: Array<string | null>) => void,
  ): Promise<void | { estimate?: RowEstimate }>;
  close(): Promise<void>;
}

/** Opens a catalog, or says why it cannot (typed code + what to do, like connection.test). */
export type CatalogOpener = () => Promise<{ catalog: SourceCatalog } | { error: StepResult }>;

export const qualified = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
