import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One e-mail as the SMTP server received it. */
export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

/** Minimal RFC 2045 quoted-printable decoding (nodemailer wraps long lines: links are long). */
const decodeQp = (s: string) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));

function parseMail(raw: string, to: string[]): ReceivedMail {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  const subject = /^Subject: (.*)$/m.exec(head)?.[1] ?? '';
  return { to, subject, text: /quoted-printable/i.test(head) ? decodeQp(body) : body };
}

/**
 * A REAL SMTP server (smtp-server) on 127.0.0.1 that keeps what it receives: the auth service's
 * MailRelay sends to it through nodemailer exactly as to a production server. Recipients starting
 * with `bounce-` are refused with a temporary error (452 mailbox full).
 */
export interface Mailbox {
  /** smtp://user:password@127.0.0.1:<port> for the stack's `mail.smtpUrl`. */
  smtpUrl: (user: string, password: string) => string;
  mails: ReceivedMail[];
  /** `user:password` of every AUTH the server saw. */
  auths: string[];
  /** Waits (bounded) until more than `after` mails to `to` match, and returns the newest of them. */
  mailTo: (to: string, match?: (m: ReceivedMail) => boolean, after?: number) => Promise<ReceivedMail>;
  stop: () => Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const mails: ReceivedMail[] = [];
  const auths: string[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      auths.push(`${auth.username}:${auth.password}`);
      cb(null, { user: auth.username });
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('bounce-')) return cb(Object.assign(new Error('452 mailbox full, try later'), { responseCode: 452 }));
      return cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push(
          parseMail(
            Buffer.concat(chunks).toString('utf8'),
            session.envelope.rcptTo.map((r) => r.address),
          ),
        );
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;
  return {
    smtpUrl: (user, password) => `smtp://${user}:${password}@127.0.0.1:${port}`,
    mails,
    auths,
    mailTo: async (to, match = () => true, after = 0) => {
      for (const deadline = Date.now() + 10000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        const list = mails.filter((m) => m.to.includes(to) && match(m));
        if (list.length > after) return list[list.length - 1]!;
      }
      throw new Error(`no mail to ${to} arrived`);
    },
    stop: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}
