import { Stack } from 'aws-cdk-lib';
import { EgressMode, FlaskServerlessVpc } from '../../src/network';
import { gatedApp, runGates } from '../util/gates';

test.each([EgressMode.NAT_GATEWAY, EgressMode.NAT_INSTANCE, EgressMode.VPC_ENDPOINTS])(
  'the VPC with %s egress has no unsuppressed cdk-nag finding and no cfn-guard violation',
  (egress) => {
    const app = gatedApp();
    const stack = new Stack(app, 'Network', { env: { region: 'ap-southeast-1' } });
    new FlaskServerlessVpc(stack, 'Vpc', { egress });
    const findings = runGates(app, [stack]);
    expect(findings.nag).toEqual([]);
    expect(findings.guard).toEqual([]);
  },
);
