export * from './flask-fargate-service';
