import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AuroraServerlessV2Db, AuroraServerlessV2DbOptions } from '../../src/database';

function build(options: AuroraServerlessV2DbOptions = {}) {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  new AuroraServerlessV2Db(stack, 'Db', { vpc, ...options });
  return { stack, template: Template.fromStack(stack) };
}

function monitoringRole(template: Template): { role: any; statements: any[]; policy: any } {
  const roles = Object.entries(template.findResources('AWS::IAM::Role'))
    .filter(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('monitoring.rds.amazonaws.com'));
  expect(roles).toHaveLength(1);
  const [logicalId, role] = roles[0];
  expect(Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: any) => r.Ref === logicalId))).toEqual([]);
  expect(role.Properties.Policies).toBeUndefined();
  const policies = template.findResources('AWS::IAM::ManagedPolicy');
  const attached = role.Properties.ManagedPolicyArns.map((arn: any) => policies[arn.Ref]);
  const statements = attached.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
  return { role, statements, policy: attached[0] };
}

describe('Enhanced Monitoring role', () => {
  const { stack, template } = build();
  const { role, statements, policy } = monitoringRole(template);

  test('uses its own managed policy, no AWS-managed or inline one', () => {
    expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).not.toContain('arn:aws:iam::aws:policy');
  });

  test('writes only to the RDSOSMetrics log group of this account and region', () => {
    const resources = statements.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(stack.resolve(r)));
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources) {
      expect(r).toMatch(/:log-group:RDSOSMetrics/);
      expect(r).toContain('ap-southeast-1');
      expect(r).toContain('AWS::AccountId');
    }
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:GetLogEvents', 'logs:PutLogEvents', 'logs:PutRetentionPolicy']);
  });

  test('RDS may assume it only for DB instances of this account', () => {
    const trust = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0].Principal).toEqual({ Service: 'monitoring.rds.amazonaws.com' });
    expect(trust[0].Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(trust[0].Condition.ArnLike['aws:SourceArn'])).toMatch(/:rds:ap-southeast-1:.*AWS::AccountId.*:db:\*/);
  });

  test('cdk-nag sees no unsuppressed finding on it, and its one suppression names the RDSOSMetrics wildcard', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const onRole = report.violations.filter((v) => v.violatingResources.some((r: any) => /MonitoringRole/.test(r.constructPath ?? '')));
    expect(onRole).toEqual([]);
    expect(policy.Metadata.cdk_nag.rules_to_suppress).toEqual([
      expect.objectContaining({ id: 'AwsSolutions-IAM5', applies_to: ['Resource::arn:<AWS::Partition>:logs:ap-southeast-1:<AWS::AccountId>:log-group:RDSOSMetrics:*'] }),
    ]);
  });
});

test('monitoringInterval 0: no monitoring role at all', () => {
  const { template } = build({ monitoringInterval: Duration.seconds(0) });
  const roles = Object.values(template.findResources('AWS::IAM::Role'))
    .filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('monitoring.rds.amazonaws.com'));
  expect(roles).toEqual([]);
});
