import { CronExpressionParser, type CronExpression } from 'cron-parser';

/**
 * Pipeline schedules: standard 5-field cron (minute hour day-of-month month day-of-week),
 * evaluated in an IANA time zone with cron-parser v5, so "30 2 * * *" in Europe/Berlin fires at
 * 02:30 Berlin time on both sides of a DST change. On the spring-forward day, when 02:30 does
 * not exist, cron-parser fires at 03:30 local (the same instant the skipped hour maps to); on
 * the fall-back day, when 02:30 happens twice, it fires once, at the first.
 */

let zones: Set<string> | undefined;

/** True for an IANA zone name the runtime knows (e.g. Europe/Berlin, UTC). */
export function isTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false;
  zones ??= new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  if (zones.has(tz)) return true;
  // Aliases (Etc/UTC, Asia/Calcutta) are valid IANA names that supportedValuesOf leaves out.
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(tz);
  } catch {
    return false;
  }
}

/** Why a cron expression is refused, or null when it is a valid 5-field expression. */
export function cronError(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    return `Use five fields: minute hour day-of-month month day-of-week (e.g. "30 2 * * *"); got ${fields[0] === '' ? 'none' : fields.length}.`;
  }
  try {
    const expr = CronExpressionParser.parse(fields.join(' '), { tz: 'UTC' });
    expr.next();
    return null;
  } catch (err) {
    return `The schedule is not a valid cron expression: ${(err as Error).message}.`;
  }
}

function parse(expression: string, tz: string, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(expression.trim().split(/\s+/).join(' '), { tz, currentDate });
}

/** The next `count` slots strictly after `after`. */
export function nextRunTimes(expression: string, tz: string, after: Date, count: number): Date[] {
  return parse(expression, tz, after)
    .take(count)
    .map((d) => d.toDate());
}

/** The first slot strictly after `after`. */
export function nextRunAfter(expression: string, tz: string, after: Date): Date {
  return parse(expression, tz, after).next().toDate();
}

/** The latest slot at or before `at` (cron-parser's prev() is strict, hence the millisecond). */
export function latestRunAtOrBefore(expression: string, tz: string, at: Date): Date {
  return parse(expression, tz, new Date(at.getTime() + 1))
    .prev()
    .toDate();
}
