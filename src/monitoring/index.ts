export * from './flask-serverless-monitoring';
export * from './function-alarms';
