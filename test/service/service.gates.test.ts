import { buildStacks } from '../../integ/integ.service';
import { gatedApp, runGates } from '../util/gates';

test('the service integ stacks pass cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const stacks = buildStacks(app);
  const f = runGates(app, stacks);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});
