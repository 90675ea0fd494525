export * from './flask-serverless-platform';
export * from './replace-tasks-on-secret-rotation';
