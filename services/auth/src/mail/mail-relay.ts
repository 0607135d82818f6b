import type { DataSource } from 'typeorm';
import { createTransport, type Transporter } from 'nodemailer';
import { Pump, type Logger } from '@datalinx/common';
import { EmailOutboxDao, type PendingEmail } from '../daos/email-outbox.dao';
import { unsealEmailBody } from './outgoing';

export interface MailRelayOptions {
  /** smtp://user:pass@host:587 (or smtps://…). Unset: local mode — the e-mail is logged, not sent. */
  smtpUrl?: string | undefined;
  /** The From header, e.g. `Datalinx <no-reply@example.com>`. */
  from: string;
  pollIntervalMs?: number;
  batchSize?: number;
  /** Attempts before an e-mail is given up (its sealed body dropped). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, capped at one hour. */
  backoffBaseMs?: number;
}

/** Anything else a test or another transport wants to plug in. */
export type SendMail = (m: { from: string; to: string; subject: string; text: string }) => Promise<void>;

/** The SMTP URL's password must never reach a log line or `last_error`. */
function redactor(smtpUrl: string | undefined): (s: string) => string {
  if (!smtpUrl) return (s) => s;
  let secrets: string[] = [];
  try {
    const u = new URL(smtpUrl);
    secrets = [u.password, decodeURIComponent(u.password)].filter((x) => x.length > 0);
  } catch {
    secrets = [smtpUrl];
  }
  return (s) => secrets.reduce((acc, x) => acc.split(x).join('***'), s);
}

/** host:port of the SMTP URL, for logs (never the credentials). */
function describe(smtpUrl: string): string {
  try {
    const u = new URL(smtpUrl);
    return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'smtps:' ? '465' : '587')}`;
  } catch {
    return '(unparseable SMTP_URL)';
  }
}

/**
 * Sends the e-mails queued in auth.email_outbox (same pattern as the messaging OutboxRelay):
 * - rows are claimed with FOR UPDATE SKIP LOCKED, so several auth instances can relay at once;
 * - `kick()` after a commit sends at once, a timer catches anything missed (SMTP down, crash);
 * - a failed send is retried with exponential backoff, at most `maxAttempts` times, then given up;
 * - at least once: a crash between the SMTP "250 OK" and the commit re-sends the e-mail;
 * - sent rows lose their sealed body (the single-use link is not kept longer than needed).
 * Local mode (no SMTP URL): the recipient, subject and link are logged at info and the row is
 * marked sent — the one place a link may appear in a log, so a developer can click it.
 */
export class MailRelay {
  private readonly pump: Pump;
  private readonly dao = new EmailOutboxDao();
  private readonly send: SendMail | null;
  private readonly transport: Transporter | null;
  private readonly redact: (s: string) => string;
  private readonly batchSize: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;

  constructor(
    private readonly ds: DataSource,
    private readonly sealKey: Buffer,
    private readonly log: Logger,
    private readonly opts: MailRelayOptions,
    /** Overrides SMTP (another transport); not needed for SMTP or local mode. */
    send?: SendMail,
  ) {
    this.batchSize = opts.batchSize ?? 20;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.backoffBaseMs = opts.backoffBaseMs ?? 30_000;
    this.redact = redactor(opts.smtpUrl);
    this.transport = !send && opts.smtpUrl ? createTransport(opts.smtpUrl) : null;
    this.send = send ?? (this.transport ? async (m) => void (await this.transport!.sendMail(m)) : null);
    this.pump = new Pump(() => this.drain(), { intervalMs: opts.pollIntervalMs ?? 5000, log, what: 'mail relay', redact: this.redact });
  }

  /** Local mode: no SMTP configured, e-mails are logged instead of sent. */
  get local(): boolean {
    return this.send === null;
  }

  start(): this {
    this.log.info(
      { mode: this.local ? 'local (logged, not sent)' : 'smtp', smtp: this.opts.smtpUrl ? describe(this.opts.smtpUrl) : undefined },
      'mail relay started',
    );
    this.pump.start();
    return this;
  }

  /** Sends at once (call it after a commit that queued an e-mail). */
  kick(): void {
    this.pump.kick();
  }

  /** Sends what is due until nothing is. Returns how many e-mails were sent (or logged). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const { claimed, sent } = await this.pass();
      total += sent;
      if (claimed < this.batchSize || this.pump.isStopped) return total;
    }
  }

  private async pass(): Promise<{ claimed: number; sent: number }> {
    return this.ds.transaction(async (em) => {
      const rows = await this.dao.claimDue(em, this.batchSize, this.maxAttempts);
      let sent = 0;
      for (const row of rows) {
        try {
          await this.deliver(row);
          await this.dao.markSent(em, row.id);
          sent += 1;
        } catch (err) {
          const message = this.redact((err as Error).message || String(err));
          const attempt = row.attempts + 1;
          const giveUp = attempt >= this.maxAttempts;
          const delayMs = Math.min(this.backoffBaseMs * 2 ** (attempt - 1), 3_600_000);
          await this.dao.markFailed(em, row.id, message, delayMs, giveUp);
          const ctx = { emailId: row.id, orgId: row.orgId, template: row.template, attempt, err: message };
          if (giveUp) this.log.error(ctx, 'e-mail given up after the last attempt');
          else this.log.warn({ ...ctx, retryInMs: delayMs }, 'e-mail send failed; will retry');
        }
      }
      return { claimed: rows.length, sent };
    });
  }

  private async deliver(row: PendingEmail): Promise<void> {
    const body = unsealEmailBody(this.sealKey, row.id, row.body);
    if (!this.send) {
      // Local mode (no SMTP_URL): the developer needs the link; nothing else carries it.
      this.log.info({ emailId: row.id, to: row.toAddress, subject: row.subject, link: body.link }, 'e-mail (local mode: logged, not sent)');
      return;
    }
    await this.send({ from: this.opts.from, to: row.toAddress, subject: row.subject, text: body.text });
    this.log.info({ emailId: row.id, orgId: row.orgId, template: row.template }, 'e-mail sent');
  }

  /** Stops polling and waits for the pass in flight (its sends and their commit) to finish. */
  async stop(): Promise<void> {
    await this.pump.stop();
    this.transport?.close();
  }
}
