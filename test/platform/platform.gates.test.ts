import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildStacks } from '../../integ/integ.platform';
import { EgressMode, FlaskServerlessPlatform, PlatformProfile } from '../../src';
import { gatedApp, runGates } from '../util/gates';

test('the umbrella stack has no unsuppressed cdk-nag AwsSolutions finding and no cfn-guard violation', () => {
  const app = gatedApp();
  const findings = runGates(app, buildStacks(app));
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});

test('the umbrella with TLS on both inner hops and NLB access logs passes cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const stack = new Stack(app, 'PlatformTls', { env: { region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(stack, 'App', {
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app')),
    service: {
      // The echo image runs as user 10001; saying so satisfies the non-root rule.
      containerUser: '10001',
      tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7'),
      containerTls: true,
      accessLogsBucket: s3.Bucket.fromBucketName(stack, 'AccessLogs', 'nlb-access-logs-111111111111'),
    },
    api: { integrationTlsHostname: 'backend.example.com' },
  });
  const findings = runGates(app, [stack]);
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});

test.each(['NAT_INSTANCE', 'VPC_ENDPOINTS'])('the umbrella with secret rotation and %s egress passes cdk-nag AwsSolutions and cfn-guard', (egress) => {
  const app = gatedApp();
  const stack = new Stack(app, 'PlatformRotation', { env: { region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(stack, 'App', {
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app')),
    service: { containerUser: '10001' },
    network: { egress: egress as EgressMode },
    database: { rotateSecretAfter: Duration.days(30) },
    monitoring: { alarmEmail: 'ops@example.com' },
  });
  const findings = runGates(app, [stack]);
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});

test('the REGULATED umbrella passes cdk-nag AwsSolutions and cfn-guard too', () => {
  const app = gatedApp();
  const stack = new Stack(app, 'PlatformRegulated', { env: { region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(stack, 'App', {
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app')),
    profile: PlatformProfile.REGULATED,
    service: {
      containerUser: '10001',
      tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7'),
    },
    api: { integrationTlsHostname: 'backend.example.com' },
    monitoring: { alarmEmail: 'ops@example.com' },
  });
  const findings = runGates(app, [stack]);
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});
