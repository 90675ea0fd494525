import { buildStacks } from '../../integ/integ.platform';
import { gatedApp, runGates } from '../util/gates';

test('the umbrella stack has no unsuppressed cdk-nag AwsSolutions finding and no cfn-guard violation', () => {
  const app = gatedApp();
  const findings = runGates(app, buildStacks(app));
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});
