/** Expected mutation failures, returned in the payload (never thrown). */
export interface UserError {
  code: string;
  field: string | null;
  message: string;
}
export const userError = (code: string, field: string | null, message: string): UserError => ({ code, field, message });
