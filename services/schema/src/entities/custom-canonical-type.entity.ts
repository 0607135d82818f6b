import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An organization's own canonical type, refining a built-in one (tenant data, row-level security). */
@Entity({ name: 'custom_canonical_type' })
export class CustomCanonicalType {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column('text')
  name!: string;

  @Column('text')
  label!: string;

  @Column('text')
  description!: string;

  @Column('text')
  category!: string;

  /** The built-in parent (schema.canonical_type), or null when the parent is another custom type of the org. */
  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId!: string | null;

  /** The custom parent (same org), or null when the parent is a built-in. */
  @Column({ name: 'parent_custom_id', type: 'uuid', nullable: true })
  parentCustomId!: string | null;

  @Column('text', { nullable: true })
  pattern!: string | null;

  @Column('text', { array: true })
  examples!: string[];

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
