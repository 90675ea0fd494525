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
  const policies = template.findResources('AWS::IAM::ManagedPolicy');
  const attached = () => role.Properties.ManagedPolicyArns.map((arn: any) => policies[arn.Ref]);

  test('has no AWS-managed policy (AmazonAPIGatewayPushToCloudWatchLogs also reads every log group, in every region) and no inline one', () => {
    expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
    expect(attached()[0]).toBeDefined();
    expect(role.Properties.Policies).toBeUndefined();
  });

  test('can write logs in this account and region, and read none', () => {
    const statements = attached()[0].Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    expect([statements[0].Action].flat().sort()).toEqual(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
    expect(JSON.stringify(statements[0].Resource)).toMatch(/":logs:ap-southeast-1:",\{"Ref":"AWS::AccountId"\},":log-group:\*"/);
  });

  test('its policy is kept with the role when the stack is deleted', () => {
    expect(role.DeletionPolicy).toBe('Retain');
    expect(attached()[0].DeletionPolicy).toBe('Retain');
    const policies2 = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId));
    expect(policies2).toEqual([]);
  });

  test('cdk-nag reports nothing unsuppressed on it', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.filter((v) => v.violatingResources.some((r: any) => /CloudWatchRole/.test(r.constructPath ?? ''))).map((v) => v.ruleName)).toEqual([]);
    expect(attached()[0].Metadata.cdk_nag.rules_to_suppress).toEqual([expect.objectContaining({ id: 'AwsSolutions-IAM5' })]);
  });
});
