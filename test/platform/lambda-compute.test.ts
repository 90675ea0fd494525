import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildStacks } from '../../integ/integ.platform-lambda';
import { ComputeType, EgressMode, FlaskServerlessPlatform, FlaskServerlessPlatformProps } from '../../src';
import { gatedApp, runGates } from '../util/gates';

const APP = path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app');
const functionCode = lambda.DockerImageCode.fromImageAsset(APP, { platform: Platform.LINUX_AMD64 });

function synth(props: Partial<FlaskServerlessPlatformProps> = {}) {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  const platform = new FlaskServerlessPlatform(stack, 'P', { compute: ComputeType.LAMBDA, functionCode, ...props });
  return { stack, platform, template: Template.fromStack(stack) };
}

describe('compute LAMBDA', () => {
  const { platform, template, stack } = synth();

  test('has no Fargate service, no load balancer, no VPC link', () => {
    expect(platform.service).toBeUndefined();
    for (const type of ['AWS::ECS::Service', 'AWS::ECS::Cluster', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ApiGateway::VpcLink']) {
      template.resourceCountIs(type, 0);
    }
  });

  test('has no NAT, no internet gateway and no VPC endpoint; the app subnets are isolated', () => {
    for (const type of ['AWS::EC2::NatGateway', 'AWS::EC2::InternetGateway', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::EIP']) {
      template.resourceCountIs(type, 0);
    }
    expect(platform.network!.egress).toBe(EgressMode.NONE);
  });

  test('the API invokes the serving function through a Lambda proxy integration', () => {
    const fnArn = JSON.stringify(stack.resolve(platform.function!.function.functionArn)).slice(1, -1);
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods.length).toBeGreaterThan(0);
    for (const m of methods) {
      expect(m.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(m.Properties.Integration.Uri)).toContain(fnArn);
    }
  });

  test('the functions get the platform settings, JWT_SECRET by reference and the platform key', () => {
    const fn = template.findResources('AWS::Lambda::Function', { Properties: { ImageConfig: { Command: ['app.lambda_handler.handler'] } } });
    const p = Object.values(fn)[0].Properties;
    expect(p.Environment.Variables.JWT_EXPIRES_SECONDS).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/SettingJWTEXPIRESSECONDS/), 'Value'] });
    expect(JSON.stringify(p.Environment.Variables.JWT_SECRET)).toContain('{{resolve:secretsmanager:');
    expect(p.KmsKeyArn).toEqual(stack.resolve(platform.encryptionKey.keyArn));
    template.resourceCountIs('AWS::KMS::Key', 1);
  });

  test('the dashboard has a Function section', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(JSON.stringify(dashboards[0].Properties.DashboardBody)).toContain('Concurrent executions');
  });

  test('egress can still be chosen', () => {
    const { template: t } = synth({ network: { egress: EgressMode.NAT_INSTANCE } });
    t.resourceCountIs('AWS::EC2::Instance', 1);
  });
});

describe('compute choice, rejected at synth', () => {
  test.each<[string, Partial<FlaskServerlessPlatformProps>, RegExp]>([
    ['LAMBDA without functionCode', { functionCode: undefined }, /compute LAMBDA needs `functionCode`/],
    ['LAMBDA with image', { image: ecs.ContainerImage.fromAsset(APP) }, /image is the Fargate task's image, but compute is LAMBDA/],
    ['LAMBDA with service options', { service: { cpu: 512 } }, /service configures the Fargate service, but compute is LAMBDA/],
    ['LAMBDA with secret rotation', { database: { rotateSecretAfter: Duration.days(30) } }, /database\.rotateSecretAfter is not available with ComputeType\.LAMBDA: .*no route to Secrets Manager|database\.rotateSecretAfter is not available with ComputeType\.LAMBDA/],
    ['a function timeout as long as the integration timeout', { function: { timeout: Duration.seconds(29) } }, /function\.timeout \(29 seconds\) must be shorter than api\.integrationTimeout \(29 seconds\)/],
    ['JWT_EXPIRES_SECONDS in function.settings', { function: { settings: { JWT_EXPIRES_SECONDS: '5' } } }, /function\.settings\.JWT_EXPIRES_SECONDS is set by the platform/],
    ['api.integrationTlsHostname', { api: { integrationTlsHostname: 'x.example.com' } }, /api\.integrationTlsHostname applies to the Fargate load balancer, but compute is LAMBDA/],
  ])('%s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test.each<[string, Partial<FlaskServerlessPlatformProps>, RegExp]>([
    ['FARGATE with functionCode', { functionCode }, /functionCode applies to compute LAMBDA, but compute is FARGATE/],
    ['FARGATE with function options', { function: {} }, /function applies to compute LAMBDA, but compute is FARGATE/],
    ['FARGATE with egress NONE', { network: { egress: EgressMode.NONE } }, /network\.egress NONE leaves the app subnets without any route to AWS APIs/],
  ])('%s', (_name, props, message) => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    expect(() => new FlaskServerlessPlatform(stack, 'P', { image: ecs.ContainerImage.fromAsset(APP), ...props })).toThrow(message);
  });

  test('FARGATE without image', () => {
    expect(() => new FlaskServerlessPlatform(new Stack(), 'P', {})).toThrow(/FlaskServerlessPlatform needs `image`/);
  });
});

test('the Lambda integ stack passes cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const findings = runGates(app, buildStacks(app));
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});
