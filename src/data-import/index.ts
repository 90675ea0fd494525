export * from './flask-data-import';
