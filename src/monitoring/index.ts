export * from './flask-serverless-monitoring';
