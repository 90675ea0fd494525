import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FlaskFargateService, FlaskFargateServiceProps } from '../../src/service';

function build(overrides: Partial<FlaskFargateServiceProps> = {}, after?: (s: FlaskFargateService) => void) {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1', account: '111111111111' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const service = new FlaskFargateService(stack, 'Service', {
    vpc,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    ...overrides,
  });
  after?.(service);
  const template = Template.fromStack(stack);
  return { stack, service, template };
}

function statementsOf(template: Template, roleLogicalIdPrefix: string): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(roleLogicalIdPrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function nagIam5(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM5')).map((v) => v.ruleName);
}

describe('ECS Exec', () => {
  test('sessions are logged to the service log group, encrypted', () => {
    const { template, service, stack } = build({ enableExecuteCommand: true });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      Configuration: {
        ExecuteCommandConfiguration: {
          Logging: 'OVERRIDE',
          LogConfiguration: { CloudWatchLogGroupName: stack.resolve(service.logGroup.logGroupName), CloudWatchEncryptionEnabled: true },
        },
      },
    });
  });

  test('the task role writes logs to the service log group only; "*" is left for ssmmessages and DescribeLogGroups', () => {
    const { template } = build({ enableExecuteCommand: true });
    const statements = statementsOf(template, 'ServiceTaskDefinitionTaskRole');
    const onStar = statements.filter((s) => s.Resource === '*').flatMap((s) => [s.Action].flat());
    expect(onStar.sort()).toEqual(['logs:DescribeLogGroups', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel']);
    const writes = statements.find((s) => [s.Action].flat().includes('logs:PutLogEvents'));
    expect(JSON.stringify(writes.Resource)).toMatch(/log-group:.*ServiceLogs/);
  });

  test('the recorded IAM5 reason names exactly the actions on "*"', () => {
    const { template } = build({ enableExecuteCommand: true });
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))
      .find((p) => String(p.Properties.Roles[0].Ref).startsWith('ServiceTaskDefinitionTaskRole'))!;
    const reason = policy.Metadata.cdk_nag.rules_to_suppress.find((r: any) => r.id === 'AwsSolutions-IAM5').reason;
    expect(reason).toMatch(/^Resource "\*" only for logs:DescribeLogGroups, ssmmessages:CreateControlChannel, /);
    expect(reason).not.toMatch(/PutLogEvents|CreateLogStream/);
  });
});

describe('wildcard-resource suppressions cover only their own actions', () => {
  test('a later grant on "*" for another action on the task role stays visible to cdk-nag', () => {
    const { stack } = build({ enableExecuteCommand: true }, (s) => s.taskDefinition.addToTaskRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })));
    expect(nagIam5(stack)).toContain('AwsSolutions-IAM5[Resource::*]');
  });

  test('a later grant on "*" on the execution role stays visible to cdk-nag', () => {
    const { stack } = build({}, (s) => s.taskDefinition.obtainExecutionRole().addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] })));
    expect(nagIam5(stack)).toContain('AwsSolutions-IAM5[Resource::*]');
  });

  test('an image from ECR: ecr:GetAuthorizationToken on "*" is suppressed with that reason', () => {
    const repository = ecr.Repository.fromRepositoryArn(new Stack(), 'Repo', 'arn:aws:ecr:ap-southeast-1:111111111111:repository/app');
    const { template } = build({ image: ecs.ContainerImage.fromEcrRepository(repository) });
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))
      .find((p) => String(p.Properties.Roles[0].Ref).startsWith('ServiceTaskDefinitionExecutionRole'))!;
    expect(policy.Metadata.cdk_nag.rules_to_suppress.filter((r: { id: string }) => r.id.startsWith('AwsSolutions'))).toEqual([
      expect.objectContaining({ id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'], reason: expect.stringMatching(/^Resource "\*" only for ecr:GetAuthorizationToken:/) }),
    ]);
  });
});
