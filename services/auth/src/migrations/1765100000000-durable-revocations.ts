import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: a revocation must reach every gateway even when the process dies, or NATS is down, between
 * the database commit and the write to the `dlx-identity` KV bucket (nothing lost;
 * revocations effective on the next request). The managers still write the KV right after the
 * commit (the fast path), but the database now also records each revocation in the outbox, in
 * the same transaction, whatever code path made it: triggers on the three facts gateways act on.
 * The outbox relay publishes the row to the KV bucket's own subject (`$KV.dlx-identity.<key>`),
 * which is all a KV put is, and retries until JetStream has it.
 *
 * - session revoked (revoked_at set)  → `session.<id>` = "revoked"
 * - API key revoked (revoked_at set)  → `apikey.<id>` = "revoked"
 * - user epoch raised (token_epoch ↑) → `epoch.<userId>.<epoch>` = epoch. A key per value, not
 *   `epoch.<userId>`: a late relay publish must never overwrite a newer epoch written on the fast
 *   path. Gateways take the highest epoch seen under either key.
 * Payloads are JSON (the relay encodes every payload as JSON): "revoked" and a number.
 */
const BUCKET_SUBJECT = `'$KV.dlx-identity.'`;

export class DurableRevocations1765100000000 implements MigrationInterface {
  name = 'DurableRevocations1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION auth.outbox_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_TABLE_NAME = 'session' THEN
          INSERT INTO auth.outbox (id, subject, payload) VALUES (gen_random_uuid(), ${BUCKET_SUBJECT} || 'session.' || NEW.id, to_jsonb('revoked'::text));
        ELSIF TG_TABLE_NAME = 'api_key' THEN
          INSERT INTO auth.outbox (id, subject, payload) VALUES (gen_random_uuid(), ${BUCKET_SUBJECT} || 'apikey.' || NEW.id, to_jsonb('revoked'::text));
        ELSE
          INSERT INTO auth.outbox (id, subject, payload) VALUES (gen_random_uuid(), ${BUCKET_SUBJECT} || 'epoch.' || NEW.id || '.' || NEW.token_epoch, to_jsonb(NEW.token_epoch));
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER session_revoked_outbox AFTER UPDATE OF revoked_at ON auth.session
      FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION auth.outbox_revocation()`);
    await q.query(`CREATE TRIGGER api_key_revoked_outbox AFTER UPDATE OF revoked_at ON auth.api_key
      FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION auth.outbox_revocation()`);
    await q.query(`CREATE TRIGGER user_epoch_outbox AFTER UPDATE OF token_epoch ON auth."user"
      FOR EACH ROW WHEN (NEW.token_epoch > OLD.token_epoch) EXECUTE FUNCTION auth.outbox_revocation()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER user_epoch_outbox ON auth."user"`);
    await q.query(`DROP TRIGGER api_key_revoked_outbox ON auth.api_key`);
    await q.query(`DROP TRIGGER session_revoked_outbox ON auth.session`);
    await q.query(`DROP FUNCTION auth.outbox_revocation()`);
  }
}
