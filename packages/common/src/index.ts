export * from './env';
export * from './logger';
export * from './errors';
export * from './shutdown';
export * from './seal';
export * from './paging';
export * from './uuid';
export * from './pump';
