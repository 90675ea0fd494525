export * from './flask-lambda-service';
