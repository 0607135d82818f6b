import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type FileContentType = 'text/csv' | 'application/json' | 'application/x-ndjson';

/** An uploaded file (CSV / JSON / JSON Lines) in file storage, at `storedFilePath(root, workspaceId, id)`. */
@Entity({ name: 'file' })
export class StoredFile {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column('text')
  name!: string;

  @Column({ name: 'content_type', type: 'text' })
  contentType!: FileContentType;

  /** bigint comes back from pg as a string; the manager converts. */
  @Column({ name: 'size_bytes', type: 'bigint' })
  sizeBytes!: string;

  @Column('text')
  sha256!: string;

  /** The user or service account that uploaded it. */
  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
