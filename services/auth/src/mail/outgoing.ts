import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { seal, unseal, type Sealed } from '@datalinx/common';
import type { EmailOutboxDao } from '../daos/email-outbox.dao';

/** What is sealed in `auth.email_outbox.body`: the text and, separately, its link (logged in local mode). */
export interface EmailBody {
  text: string;
  link: string | null;
}

/** The additional data binding a sealed body to its row: a body copied to another row does not open. */
const aad = (id: string) => `auth.email_outbox:${id}`;

export const sealEmailBody = (key: Buffer, id: string, body: EmailBody): Sealed => seal(key, JSON.stringify(body), aad(id));

export const unsealEmailBody = (key: Buffer, id: string, sealed: Sealed): EmailBody => JSON.parse(unseal(key, sealed, aad(id))) as EmailBody;

/**
 * Queues an e-mail in the caller's transaction: it is sent after commit (the MailRelay), and
 * never when the transaction rolls back. The body is sealed before it reaches the database.
 */
export async function queueEmail(
  em: EntityManager,
  dao: EmailOutboxDao,
  sealKey: Buffer,
  orgId: string,
  m: { to: string; template: string; subject: string; text: string; link: string | null },
): Promise<string> {
  const id = randomUUID();
  await dao.enqueue(em, orgId, {
    id,
    toAddress: m.to,
    template: m.template,
    subject: m.subject,
    body: sealEmailBody(sealKey, id, { text: m.text, link: m.link }),
  });
  return id;
}

/** Links in e-mails point at the web app; the token travels in the query string of a page the web renders. */
export const webLink = (webBaseUrl: string, path: string, token: string): string =>
  `${webBaseUrl.replace(/\/+$/, '')}${path}?token=${encodeURIComponent(token)}`;
