import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type OrgRoleValue = 'ADMIN' | 'MEMBER' | 'VIEWER';
export type UserStatusValue = 'ACTIVE' | 'DEACTIVATED';

@Entity({ name: 'user' })
@Index('user_org_email_uq', ['orgId', 'email'], { unique: true })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column('text')
  email!: string;

  @Column({ name: 'display_name', type: 'text' })
  displayName!: string;

  @Column({ name: 'org_role', type: 'text' })
  orgRole!: OrgRoleValue;

  /** argon2id; null until the user has set a password (e.g. an invitation not yet accepted). */
  @Column({ name: 'password_hash', type: 'text', nullable: true, select: false })
  passwordHash!: string | null;

  @Column({ name: 'password_changed_at', type: 'timestamptz', nullable: true })
  passwordChangedAt!: Date | null;

  @Column({ type: 'text', default: 'ACTIVE' })
  status!: UserStatusValue;

  @Column({ name: 'deactivated_at', type: 'timestamptz', nullable: true })
  deactivatedAt!: Date | null;

  /** Revocation epoch carried in access tokens (`ep`); bumped to invalidate every older token. */
  @Column({ name: 'token_epoch', type: 'int', default: 0 })
  tokenEpoch!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
