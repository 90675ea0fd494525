export * from './keyed-rest-api';
