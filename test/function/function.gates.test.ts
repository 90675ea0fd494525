import { lambdaStack } from './fixture';
import { gatedApp, runGates } from '../util/gates';

test('the Lambda service in a VPC without egress passes cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const { stack } = lambdaStack({}, app);
  const f = runGates(app, [stack]);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});

test('with reserved concurrency the Lambda service passes the gates without the concurrency suppressions', () => {
  const app = gatedApp();
  const { stack } = lambdaStack({ reservedConcurrentExecutions: 10 }, app);
  const f = runGates(app, [stack]);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});
