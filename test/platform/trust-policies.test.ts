import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FlaskServerlessPlatform, PlatformProfile } from '../../src';

const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
new FlaskServerlessPlatform(stack, 'App', {
  image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app')),
  service: { enableExecuteCommand: true },
});
const roles = Object.entries(Template.fromStack(stack).findResources('AWS::IAM::Role')).map(([id, r]) => {
  const [statement] = r.Properties.AssumeRolePolicyDocument.Statement;
  return { id, service: [statement.Principal.Service].flat().join(','), condition: statement.Condition };
});

// Services whose guides give aws:SourceAccount / aws:SourceArn for the role they assume, and the
// ARN each one acts for.
const sourceArn: Record<string, RegExp> = {
  'monitoring.rds.amazonaws.com': /:rds:ap-southeast-1:.*:db:\*/,
  'vpc-flow-logs.amazonaws.com': /:ec2:ap-southeast-1:.*:vpc-flow-log\/\*/,
};

test.each(Object.keys(sourceArn))('%s may assume its role only for this account\'s resources', (service) => {
  const matching = roles.filter((r) => r.service === service);
  expect(matching.length).toBeGreaterThan(0);
  for (const role of matching) {
    expect(role.condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(role.condition.ArnLike['aws:SourceArn'])).toMatch(sourceArn[service]);
  }
});

test('ECS may assume the task role only for tasks of this account and region', () => {
  const taskRole = roles.find((r) => r.id.includes('TaskDefinitionTaskRole'))!;
  expect(taskRole.condition).toEqual({
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecs:ap-southeast-1:', { Ref: 'AWS::AccountId' }, ':*']] } },
  });
});

test('every other service role is listed here, with why it has no source conditions', () => {
  const unconditioned = roles.filter((r) => !r.condition).map((r) => `${r.service} ${r.id.replace(/[0-9A-F]{8}$/, '')}`).sort();
  expect(unconditioned).toEqual([
    // Lambda execution roles: no source condition documented for Lambda assuming them.
    'lambda.amazonaws.com AppServiceGeneratedSecretsHandlerRole',
    // The account-level API Gateway logging role: none documented; scoped to writing logs in this region instead.
    'apigateway.amazonaws.com AppApiCloudWatchRole',
    // The task execution role: the ECS guide gives its source conditions for task roles.
    'ecs-tasks.amazonaws.com AppServiceTaskDefinitionExecutionRole',
    // CDK's default-security-group handler (a Lambda execution role).
    'lambda.amazonaws.com CustomVpcRestrictDefaultSGCustomResourceProviderRole',
  ].sort());
});

test('REGULATED adds one service role, AWS Backup\'s, without source conditions', () => {
  const regulated = new Stack(new App(), 'R', { env: { region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(regulated, 'App', {
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app')),
    profile: PlatformProfile.REGULATED,
    service: { tlsCertificate: acm.Certificate.fromCertificateArn(regulated, 'Certificate', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7') },
    api: { integrationTlsHostname: 'app.internal.example.com' },
  });
  const unconditioned = Object.entries(Template.fromStack(regulated).findResources('AWS::IAM::Role'))
    .filter(([, r]) => !r.Properties.AssumeRolePolicyDocument.Statement[0].Condition)
    .map(([id, r]) => `${[r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service].flat().join(',')} ${id.replace(/[0-9A-F]{8}$/, '')}`);
  // AWS Backup documents no source condition for assuming the role a backup selection names.
  expect(unconditioned).toContain('backup.amazonaws.com AppDatabaseBackupPlanClusterRole');
  expect(unconditioned.filter((r) => !r.startsWith('lambda.') && !r.startsWith('apigateway.') && !r.includes('ExecutionRole'))).toEqual(['backup.amazonaws.com AppDatabaseBackupPlanClusterRole']);
});
