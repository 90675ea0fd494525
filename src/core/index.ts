// Internal helpers shared by the construct families; nothing here is exported from the package.
export * from './suppressions';
export * from './logs-key';
export * from './kms';
export * from './validation';
export * from './security-groups';
