export * from './flask-serverless-platform';
