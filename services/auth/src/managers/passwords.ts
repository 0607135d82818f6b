import { argon2id, hash, verify } from 'argon2';
import { randomBytes } from 'node:crypto';

/**
 * argon2id hashing (OWASP parameters: 19 MiB, 2 passes). A dummy hash is verified when the
 * e-mail is unknown, so "no such user" and "wrong password" take about the same time.
 */
const OPTIONS = { type: argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Computes the dummy hash ahead of time, so even the first unknown-e-mail login costs one verification. */
export const primeDummyHash = (): Promise<string> => (dummy ??= hashPassword(randomBytes(16).toString('base64url')));

/** Spends the same work as a real verification, then fails. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(await primeDummyHash(), password);
  return false;
}
