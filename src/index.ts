export * from './network';
export * from './monitoring';
export * from './database';
export * from './service';
export * from './function';
export * from './api';
export * from './platform';
export * from './cost';
