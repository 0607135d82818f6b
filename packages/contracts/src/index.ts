export * from './jobs';
export * from './runs';
export * from './events';
export * from './streams';
export * from './identity';
export * from './audit';
export * from './quotas';
export * from './promotion';
