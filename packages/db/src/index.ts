export * from './data-source';
export * from './test-database';
export * from './health';
export * from './runtime-role';
export * from './rls';
