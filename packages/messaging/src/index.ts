export * from './nats';
export * from './outbox.entity';
export * from './outbox';
export * from './consumer';
export * from './workspace-replica';
export * from './preview-client';
