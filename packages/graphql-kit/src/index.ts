export * from './viewer';
export * from './errors';
export * from './shield';
export * from './context';
export * from './server';
export * from './loaders';
export * from './input-guard';
export * from './permissions';
