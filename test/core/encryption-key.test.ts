import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { FlaskFargateService, FlaskServerlessMonitoring, FlaskServerlessVpc, KeyedRestApi } from '../../src';

// Each part accepts a key instead of creating its own: that is how the platform shares one.
function withKey(build: (stack: Stack, key: kms.Key) => void): Template {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  const key = new kms.Key(stack, 'Shared');
  build(stack, key);
  return Template.fromStack(stack);
}

function onlyTheSharedKey(template: Template): void {
  expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual([expect.stringMatching(/^Shared/)]);
}

test('the network encrypts its flow logs with the key given', () => {
  const template = withKey((stack, key) => new FlaskServerlessVpc(stack, 'Net', { encryptionKey: key }));
  onlyTheSharedKey(template);
});

test('the API encrypts its access logs with the key given', () => {
  const template = withKey((stack, key) => {
    const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef',
      loadBalancerDnsName: 'app-0123456789abcdef.elb.ap-southeast-1.amazonaws.com',
    });
    new KeyedRestApi(stack, 'Api', { loadBalancer, encryptionKey: key });
  });
  onlyTheSharedKey(template);
});

test('the alarm topic is encrypted with the key given, which admits CloudWatch alarms', () => {
  const template = withKey((stack, key) => new FlaskServerlessMonitoring(stack, 'Mon', { encryptionKey: key }));
  onlyTheSharedKey(template);
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  expect(key.Properties.KeyPolicy.Statement.some((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com')).toBe(true);
});

test('the service encrypts its parameters and logs with the key given', () => {
  const template = withKey((stack, key) => new FlaskFargateService(stack, 'Svc', {
    vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 }),
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    generatedSecrets: ['JWT_SECRET'],
    encryptionKey: key,
  }));
  onlyTheSharedKey(template);
});
