export * from './flask-serverless-vpc';
