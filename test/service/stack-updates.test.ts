import * as path from 'path';
import { App, Fn, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IFlaskDatabase } from '../../src/database/flask-database';
import { FlaskFargateService, FlaskFargateServiceProps } from '../../src/service';

// What a stack update does to a running service: which changes roll the tasks, and what the
// service waits for.

const ECHO_APP = path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app');
const SETTINGS_HASH = 'cdk-flask-serverless.settings-hash';
const SETTINGS_TOKENS = 'cdk-flask-serverless.settings-tokens';

function synth(configure: (stack: Stack, vpc: ec2.IVpc) => Partial<FlaskFargateServiceProps>): { stack: Stack; template: Template } {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  new FlaskFargateService(stack, 'Service', {
    vpc,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    ...configure(stack, vpc),
  });
  return { stack, template: Template.fromStack(stack) };
}

function labelsOf(template: Template): Record<string, unknown> {
  const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  return taskDefinition.Properties.ContainerDefinitions[0].DockerLabels;
}

/** A database whose address is known only at deploy time, like an Aurora writer endpoint. */
function databaseAt(stack: Stack, vpc: ec2.IVpc, endpointAddress: string): IFlaskDatabase {
  const securityGroup = new ec2.SecurityGroup(stack, 'DbSecurityGroup', { vpc, allowAllOutbound: false });
  return {
    endpointAddress,
    port: 5432,
    databaseName: 'app',
    username: 'app',
    secret: new secretsmanager.Secret(stack, 'DbSecret'),
    connections: new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(5432) }),
  };
}

describe('token-valued settings roll the tasks', () => {
  test('two synths that differ only in where a setting\'s token comes from give different task definitions', () => {
    const labels = (source: string) => labelsOf(synth(() => ({ settings: { UPSTREAM: Fn.importValue(source) } })).template);
    expect(labels('UpstreamA')).not.toEqual(labels('UpstreamB'));
  });

  test('the database address is written into a label as CloudFormation resolves it, so a replaced cluster rolls the tasks', () => {
    const { template } = synth((stack, vpc) => {
      const bucket = new s3.Bucket(stack, 'StandIn');
      return { database: databaseAt(stack, vpc, bucket.bucketRegionalDomainName) };
    });
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket'))[0];
    expect(labelsOf(template)[SETTINGS_TOKENS]).toEqual({
      'Fn::Join': ['', ['DB_HOST=', { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] }, ';']],
    });
  });

  test('plain settings stay out of the task definition: only their hash is there', () => {
    const labels = labelsOf(synth(() => ({ settings: { LOG_LEVEL: 'debug' } })).template);
    expect(Object.keys(labels)).toEqual([SETTINGS_HASH]);
    expect(JSON.stringify(labels)).not.toContain('debug');
  });

  test('a dynamic reference is hashed as the reference and never copied into the label', () => {
    const labels = (secretId: string) => labelsOf(synth(() => ({
      settings: { UPSTREAM_TOKEN: SecretValue.secretsManager(secretId).unsafeUnwrap() },
    })).template);
    const first = labels('upstream-a');
    expect(first[SETTINGS_TOKENS]).toBeUndefined();
    expect(first[SETTINGS_HASH]).not.toEqual(labels('upstream-b')[SETTINGS_HASH]);
  });
});

describe('Fargate Spot', () => {
  test('the service waits for the cluster\'s capacity-provider association', () => {
    const { template } = synth(() => ({ spot: true }));
    const [associationId] = Object.keys(template.findResources('AWS::ECS::ClusterCapacityProviderAssociations'));
    expect(associationId).toBeDefined();
    template.hasResource('AWS::ECS::Service', { DependsOn: Match.arrayWith([associationId]) });
  });

  test('runs ARM64 tasks too (FARGATE_SPOT supports ARM64 on platform version 1.4.0)', () => {
    const { template } = synth(() => ({ spot: true, cpuArchitecture: ecs.CpuArchitecture.ARM64 }));
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'ARM64' } });
    template.hasResourceProperties('AWS::ECS::Service', {
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      PlatformVersion: 'LATEST',
    });
  });
});

describe('images built from a local folder', () => {
  test('without a platform, a warning says which one to pass', () => {
    const { stack } = synth(() => ({ image: ecs.ContainerImage.fromAsset(ECHO_APP) }));
    Annotations.fromStack(stack).hasWarning('/Test/Service', Match.stringLikeRegexp('without a platform.*X86_64.*Platform.LINUX_AMD64'));
  });

  test('a platform that matches cpuArchitecture is accepted without a warning', () => {
    const { stack } = synth(() => ({
      image: ecs.ContainerImage.fromAsset(ECHO_APP, { platform: ecrAssets.Platform.LINUX_ARM64 }),
      cpuArchitecture: ecs.CpuArchitecture.ARM64,
    }));
    Annotations.fromStack(stack).hasNoWarning('/Test/Service', Match.stringLikeRegexp('platform'));
  });

  test('a platform that contradicts cpuArchitecture is rejected, naming the prop', () => {
    expect(() => synth(() => ({ image: ecs.ContainerImage.fromAsset(ECHO_APP, { platform: ecrAssets.Platform.LINUX_ARM64 }) })))
      .toThrow(/service.image is built for linux\/arm64 but the default service.cpuArchitecture \(X86_64\) runs linux\/amd64/);
  });
});
