import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: some e-mails are triggered by anyone (the notice to an address someone tried to sign up
 * with), so they are limited per recipient and hour. This index answers "how many of template T
 * went to address A lately" without reading the whole outbox.
 */
export class EmailOutboxRecipient1765200000000 implements MigrationInterface {
  name = 'EmailOutboxRecipient1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX email_outbox_recipient_idx ON auth.email_outbox (to_address, template, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX auth.email_outbox_recipient_idx`);
  }
}
