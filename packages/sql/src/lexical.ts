/** Loading the parser, the checks on the raw text and tokens, and parsing with positioned syntax errors. */
import { hasSqlDetails, loadModule, parseSync, scanSync } from 'libpg-query';
import type { ParseResult } from '@pgsql/types';
import { SourceText } from './positions';
import type { SqlProblem } from './types';

/** Limits on user SQL. */
export const SQL_LIMITS = { textLength: 10_000, identifierBytes: 63 } as const;

let loading: Promise<void> | undefined;

/** Loads the parser's WebAssembly module once; later calls return the same promise. */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/** Problems found before parsing: length, NUL, emptiness. Undefined when the text may be parsed. */
export function precheck(source: SourceText, what: string): SqlProblem[] | undefined {
  const { text } = source;
  if (text.length > SQL_LIMITS.textLength) {
    return [
      {
        code: 'TOO_LONG',
        message: `The ${what} is ${text.length} characters long; the limit is ${SQL_LIMITS.textLength}. Shorten it or split the work into CTEs.`,
        position: source.at(SQL_LIMITS.textLength),
      },
    ];
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    return [{ code: 'SYNTAX', message: `The ${what} contains a NUL character; remove it.`, position: source.at(nul) }];
  }
  if (text.trim() === '') return [{ code: 'EMPTY', message: `The ${what} is empty; write one.` }];
  return undefined;
}

/** Token texts worth scanning for: comments, quoted or Unicode-escaped identifiers, long words. */
const NEEDS_SCAN = /--|\/\*|"|[&{}]|[\w$\u0080-\uffff]{64,}/;

/**
 * Comments (the tree never shows them, and `--` would swallow whatever Datalinx appends),
 * identifiers over 63 bytes (PostgreSQL silently truncates them, so two long names could meet),
 * Unicode-escaped identifiers, and identifiers with `{` or `}` (emitted SQL is rendered by dbt's
 * Jinja). Uses PostgreSQL's own scanner, so `--` inside a string literal is not a comment. A
 * text the scanner rejects yields no problems here: the parser reports it.
 */
export function tokenProblems(source: SourceText): SqlProblem[] {
  if (!NEEDS_SCAN.test(source.text)) return [];
  let tokens;
  try {
    tokens = scanSync(source.full).tokens;
  } catch {
    return [];
  }
  const problems: SqlProblem[] = [];
  for (const token of tokens) {
    const position = source.fromByte(token.start);
    if (token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT') {
      problems.push({
        code: 'COMMENT',
        message: `Comments are not allowed (found ${token.tokenName === 'SQL_COMMENT' ? '"--"' : '"/* */"'}); remove the comment.`,
        position,
      });
      continue;
    }
    const text = token.text;
    if (/^[uU]&/.test(text)) {
      problems.push({
        code: 'NODE_NOT_ALLOWED',
        message: 'Unicode-escaped identifiers and strings (U&"…", U&\'…\') are not allowed; write the characters themselves.',
        position,
      });
      continue;
    }
    if (token.tokenName !== 'IDENT' && token.keywordKind === 0) continue;
    const name = text.startsWith('"') ? text.slice(1, -1).replace(/""/g, '"') : text.toLowerCase();
    if (Buffer.byteLength(name, 'utf8') > SQL_LIMITS.identifierBytes) {
      problems.push({
        code: 'IDENTIFIER_TOO_LONG',
        message: `The identifier "${name.slice(0, 20)}…" is ${Buffer.byteLength(name, 'utf8')} bytes long; PostgreSQL allows ${SQL_LIMITS.identifierBytes}. Use a shorter name or alias.`,
        position,
      });
    }
    if (/[{}]/.test(name)) {
      problems.push({
        code: 'NODE_NOT_ALLOWED',
        message: `The identifier "${name}" contains "{" or "}", which dbt's templating would read; rename it or use an alias without braces.`,
        position,
      });
    }
  }
  return problems;
}

/** The problem for SQL nested beyond what the parser or the checks can recurse into. */
export const TOO_DEEP: SqlProblem = {
  code: 'TOO_LONG',
  message: 'The SQL is nested too deeply to be checked; split it into simpler parts (for example a CTE).',
};

/** Whether an error is a stack overflow (a RangeError, whichever realm it comes from). */
export function isTooDeep(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'RangeError';
}

/** Parse trees of recent texts, oldest first: the mapping compiler re-parses the same expressions on every compile. */
const treeCache = new Map<string, ParseResult>();
const TREE_CACHE_SIZE = 20_000;

/**
 * Parses `source.full`; a syntax error becomes a SYNTAX problem at the user's line and column.
 * With `cached`, the tree may be shared with earlier calls: the caller must not change it.
 */
export function parseText(source: SourceText, cached = false): { tree: ParseResult } | { problem: SqlProblem } {
  try {
    if (!cached) return { tree: parseSync(source.full) };
    let tree = treeCache.get(source.full);
    if (!tree) {
      tree = parseSync(source.full);
      if (treeCache.size >= TREE_CACHE_SIZE) treeCache.delete(treeCache.keys().next().value as string);
      treeCache.set(source.full, tree);
    }
    return { tree };
  } catch (error) {
    if (isTooDeep(error)) return { problem: TOO_DEEP };
    const message = error instanceof Error ? error.message : String(error);
    const cursor = hasSqlDetails(error) ? error.sqlDetails?.cursorPosition : undefined;
    const position = cursor !== undefined && cursor >= 0 ? source.fromCodePoint(cursor) : undefined;
    const where = position ? ` at line ${position.line}, column ${position.column}` : '';
    return {
      problem: {
        code: 'SYNTAX',
        message: `Syntax error${where}: ${message}. Correct the SQL there.`,
        position,
      },
    };
  }
}

/** The byte offset of the first token spelling `keyword` (case-insensitive), for clauses the tree gives no location. */
export function keywordLocation(source: SourceText, keyword: string): number | undefined {
  try {
    return scanSync(source.full).tokens.find((t) => t.text.toLowerCase() === keyword)?.start;
  } catch {
    return undefined;
  }
}

/** The first `location` found in a subtree (depth first), for positioning problems about a clause. */
export function firstLocation(node: unknown): number | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const record = node as Record<string, unknown>;
  if (typeof record.location === 'number' && record.location >= 0) return record.location;
  for (const value of Object.values(record)) {
    const found = firstLocation(value);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The closest candidate to `name`, when close enough to suggest. */
export function suggest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
