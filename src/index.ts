export * from './network';
export * from './monitoring';
export * from './database';
export * from './service';
export * from './api';
export * from './data-import';
export * from './platform';
export * from './cost';
