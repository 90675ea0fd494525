import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { EgressMode, FlaskServerlessPlatform, FlaskServerlessPlatformProps, PlatformProfile } from '../../src';

const image = ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app'));
const CERT_ARN = 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7';

function synth(props: Partial<FlaskServerlessPlatformProps> = {}, withTls = true): { platform: FlaskServerlessPlatform; template: Template } {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  const tls = withTls ? {
    service: { tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERT_ARN), ...props.service },
    api: { integrationTlsHostname: 'app.internal.example.com', ...props.api },
  } : {};
  const platform = new FlaskServerlessPlatform(stack, 'P', { image, profile: PlatformProfile.REGULATED, ...props, ...tls });
  return { platform, template: Template.fromStack(stack) };
}

describe('PlatformProfile.REGULATED', () => {
  const { platform, template } = synth();

  test('an AWS Backup plan backs the cluster up daily, kept 35 days, in a vault encrypted with the platform key', () => {
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: { BackupPlanRule: [Match.objectLike({ ScheduleExpression: 'cron(0 5 * * ? *)', Lifecycle: { DeleteAfterDays: 35 } })] },
    });
    const clusterId = Object.keys(template.findResources('AWS::RDS::DBCluster'))[0];
    const selection = Object.values(template.findResources('AWS::Backup::BackupSelection'))[0];
    expect(JSON.stringify(selection.Properties.BackupSelection.Resources)).toContain(clusterId);
    expect(template.findResources('AWS::Backup::BackupVault')[Object.keys(template.findResources('AWS::Backup::BackupVault'))[0]].DeletionPolicy).toBe('Retain');
  });

  test('the master secret rotates every 30 days', () => {
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
  });

  test('WAF, X-Ray on the stage, a NAT gateway per AZ, as PRODUCTION', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  test('TLS from API Gateway to the load balancer, whose access logs go to a versioned, TLS-only bucket', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'TLS' });
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket'))[0];
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: bucketId } },
      ]),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    expect(platform.service!.tlsEnabled).toBe(true);
  });

  test('explicit options win over the profile', () => {
    const { template: own } = synth({ database: { awsBackup: false, rotateSecretAfter: Duration.days(90) } });
    own.resourceCountIs('AWS::Backup::BackupPlan', 0);
    own.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(90 days)' } });
  });

  test('VPC-endpoint egress is accepted', () => {
    expect(() => synth({ network: { egress: EgressMode.VPC_ENDPOINTS } })).not.toThrow();
  });

  test('rejects a platform without service.tlsCertificate, naming it', () => {
    expect(() => synth({}, false)).toThrow(/profile REGULATED needs service.tlsCertificate \(with api.integrationTlsHostname\)/);
  });

  test.each([EgressMode.NAT_INSTANCE, EgressMode.PUBLIC_SUBNETS])('rejects network.egress %s', (egress) => {
    expect(() => synth({ network: { egress } })).toThrow(new RegExp(`profile REGULATED does not take network.egress ${egress}`));
  });
});
