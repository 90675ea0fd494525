export * from './estimator';
