export const ALLOWED_FUNCTIONS: readonly string[] = [];
export const ALLOWED_AGGREGATES: readonly string[] = [];
export const ALLOWED_CAST_TYPES: readonly string[] = [];
