/**
 * User SQL, parsed and never pasted: expressions of field mappings and CTEs of mappings are
 * parsed with PostgreSQL's own parser (libpg-query), checked against allow-lists, and re-emitted
 * from the tree. See README.md for the allow-lists and the decisions behind them.
 */
export * from './types';
export { quoteIdent, quoteLiteral, templateSafeLiteral } from './quote';
export { normalizeType, assignable, NORMALIZED_TYPES } from './types-system';
export { parseExpression, checkAssignable, loadSqlParser, SQL_LIMITS } from './expression';
export { ALLOWED_FUNCTIONS, ALLOWED_AGGREGATES, ALLOWED_CAST_TYPES } from './catalog';
export { parseCte } from './cte';
