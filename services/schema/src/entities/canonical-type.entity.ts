import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A canonical (semantic) type: global reference data, not tenant-scoped. */
@Entity({ name: 'canonical_type' })
export class CanonicalType {
  /** Built-ins have fixed ids (seeded by migration) so other services can keep references. */
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text', { unique: true })
  name!: string;

  @Column('text')
  label!: string;

  @Column('text')
  description!: string;

  @Column('text')
  category!: string;

  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId!: string | null;

  @Column('text', { nullable: true })
  pattern!: string | null;

  @Column('text', { array: true })
  examples!: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
