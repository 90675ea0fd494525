import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KeyedRestApi } from '../../src/api';

const stack = new Stack(undefined, 'Stack', { env: { region: 'ap-southeast-1' } });
const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
  loadBalancerArn: 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef',
  loadBalancerDnsName: 'app-0123456789abcdef.elb.ap-southeast-1.amazonaws.com',
});
new KeyedRestApi(stack, 'Api', { loadBalancer });
const template = Template.fromStack(stack);
const [roleId, role] = Object.entries(template.findResources('AWS::IAM::Role'))
  .find(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'))!;

describe('the account-level API Gateway CloudWatch role', () => {
  test('has no AWS-managed policy (AmazonAPIGatewayPushToCloudWatchLogs also reads every log group, in every region)', () => {
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('can write logs in this account and region, and read none', () => {
    const statements = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    expect(statements).toHaveLength(1);
    expect([statements[0].Action].flat().sort()).toEqual(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
    expect(JSON.stringify(statements[0].Resource)).toMatch(/":logs:ap-southeast-1:",\{"Ref":"AWS::AccountId"\},":log-group:\*"/);
  });

  test('its permissions are inline, so they stay with the retained role when the stack is deleted', () => {
    expect(role.DeletionPolicy).toBe('Retain');
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId));
    expect(policies).toEqual([]);
  });

  test('cdk-nag reports nothing unsuppressed on it', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.filter((v) => v.violatingResources.some((r: any) => /CloudWatchRole/.test(r.constructPath ?? ''))).map((v) => v.ruleName)).toEqual([]);
  });
});
