/**
 * The password rules a new organization starts with (the auth service's default policy: at least
 * 12 characters, upper- and lowercase, a digit and a symbol), checked live as people type. The
 * API checks them again and its message wins.
 */
export interface PasswordRule {
  id: 'MIN_LENGTH' | 'UPPERCASE' | 'LOWERCASE' | 'DIGIT' | 'SYMBOL';
  label: string;
  test: (password: string) => boolean;
}

export const NEW_ORG_MIN_LENGTH = 12;

export const NEW_ORG_PASSWORD_RULES: readonly PasswordRule[] = [
  { id: 'MIN_LENGTH', label: `At least ${NEW_ORG_MIN_LENGTH} characters`, test: (p) => [...p].length >= NEW_ORG_MIN_LENGTH },
  { id: 'UPPERCASE', label: 'An uppercase letter', test: (p) => /\p{Lu}/u.test(p) },
  { id: 'LOWERCASE', label: 'A lowercase letter', test: (p) => /\p{Ll}/u.test(p) },
  { id: 'DIGIT', label: 'A digit', test: (p) => /\p{Nd}/u.test(p) },
  { id: 'SYMBOL', label: 'A symbol (e.g. ! ? # % -)', test: (p) => /[^\p{L}\p{Nd}\s]/u.test(p) },
];

export function passwordMeetsRules(password: string): boolean {
  return NEW_ORG_PASSWORD_RULES.every((r) => r.test(password));
}

/** A slug from a name: lowercase letters, digits and dashes, 2–63 characters. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}
