export * from './flask-database';
export * from './aurora-serverless-v2-db';
