import * as path from 'path';
import { App, Duration, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { EgressMode, FlaskServerlessPlatform, FlaskServerlessPlatformProps, PlatformProfile } from '../../src';

const image = ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app'));

const CERT_ARN = 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7';
/** An imported certificate; its ARN is a plain string, so any stack may use it. */
const certificate = acm.Certificate.fromCertificateArn(new Stack(), 'Certificate', CERT_ARN);

function synth(props: Partial<FlaskServerlessPlatformProps> = {}): { stack: Stack; platform: FlaskServerlessPlatform; template: Template } {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  const platform = new FlaskServerlessPlatform(stack, 'P', { image, ...props });
  return { stack, platform, template: Template.fromStack(stack) };
}

describe('defaults (the masterplan)', () => {
  const { template } = synth();

  test('Aurora scales 0.5-1 ACU and pauses after 5 idle minutes', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 1, SecondsUntilAutoPause: 300 },
      StorageEncrypted: true,
    });
  });

  test('one Fargate task of 0.25 vCPU and 0.5 GB', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '256', Memory: '512', RequiresCompatibilities: ['FARGATE'] });
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1 });
  });

  test('stage Test throttled at 1000 rps, every method keyed', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'Test',
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 1000 })]),
    });
    const methods = template.findResources('AWS::ApiGateway::Method');
    expect(Object.keys(methods).length).toBeGreaterThan(0);
    for (const method of Object.values(methods)) {
      if (method.Properties.HttpMethod !== 'OPTIONS') expect(method.Properties.ApiKeyRequired).toBe(true);
    }
  });

  test('a usage plan limits each key and an API key is attached', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: Match.objectLike({ RateLimit: Match.anyValue() }),
      ApiStages: Match.arrayWith([Match.objectLike({ Stage: Match.anyValue() })]),
    });
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
  });

  test('a new VPC with CIDR 10.0.0.0/16 and no WAF', () => {
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  test('settings and the generated JWT key live under /flask-app/Test/ and reach the task as ECS secrets', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask-app/Test/JWT_EXPIRES_SECONDS', Type: 'String', Value: '3600' });
    const containers = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions;
    const secretNames = containers[0].Secrets.map((s: { Name: string }) => s.Name);
    expect(secretNames).toEqual(expect.arrayContaining(['JWT_SECRET', 'JWT_EXPIRES_SECONDS', 'DB_PASSWORD']));
    const plainNames = (containers[0].Environment ?? []).map((e: { Name: string }) => e.Name);
    expect(plainNames).not.toContain('JWT_SECRET');
    expect(JSON.stringify(template.toJSON())).toContain('/flask-app/Test/JWT_SECRET');
  });

  test('every alarm of API, service and database notifies one SNS topic', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const namespaces = new Set<string>();
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      const ns = alarm.Properties.Namespace ?? JSON.stringify(alarm.Properties.Metrics ?? '');
      for (const n of ['AWS/ApiGateway', 'AWS/RDS', 'AWS/ECS', 'ECS/ContainerInsights', 'AWS/NetworkELB']) if (ns.includes(n)) namespaces.add(n);
    }
    expect([...namespaces]).toEqual(expect.arrayContaining(['AWS/ApiGateway', 'AWS/RDS']));
    expect([...namespaces].some((n) => n === 'AWS/ECS' || n === 'ECS/ContainerInsights')).toBe(true);
  });

  test('one dashboard with the API, service and database sections', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const part of ['## API', '## Service', '## Database', 'ServerlessDatabaseCapacity', 'AWS/ApiGateway']) expect(body).toContain(part);
  });

  test('outputs the API URL, key ID, the command that prints the key, the dashboard URL and the parameter path', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    for (const name of ['ApiUrl', 'ApiKeyId', 'GetApiKeyCommand', 'DashboardUrl', 'ParameterPath']) {
      expect(outputs.some((o) => o.includes(name))).toBe(true);
    }
    const command = Object.entries(template.findOutputs('*')).find(([k]) => k.includes('GetApiKeyCommand'))![1];
    expect(JSON.stringify(command.Value)).toContain('--include-value');
  });
});

describe('prop groups override their part', () => {
  test('network.cidr sets the VPC CIDR', () => {
    synth({ network: { cidr: '10.42.0.0/16' } }).template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.42.0.0/16' });
  });

  test('network.egress VPC_ENDPOINTS leaves no NAT gateway', () => {
    const { template } = synth({ network: { egress: EgressMode.VPC_ENDPOINTS } });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' });
  });

  test('database.maxCapacity sets the ACU ceiling', () => {
    synth({ database: { maxCapacity: 4 } }).template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: Match.objectLike({ MaxCapacity: 4 }),
    });
  });

  test('service.cpu and memoryLimitMiB size the task', () => {
    synth({ service: { cpu: 512, memoryLimitMiB: 1024 } }).template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '512', Memory: '1024' });
  });

  test('service.settings are added to the platform settings', () => {
    const { template } = synth({ service: { settings: { LOG_LEVEL: 'debug' } } });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask-app/Test/LOG_LEVEL', Value: 'debug' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask-app/Test/JWT_EXPIRES_SECONDS' });
  });

  test('api.stageName renames the stage and the parameter path follows it', () => {
    const { template, platform } = synth({ api: { stageName: 'prod' } });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    expect(platform.parameterPath).toBe('/flask-app/prod/');
  });

  test('monitoring.alarmEmail subscribes the address to the alarm topic', () => {
    synth({ monitoring: { alarmEmail: 'ops@example.com' } }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  test('jwtExpiry sets JWT_EXPIRES_SECONDS', () => {
    synth({ jwtExpiry: Duration.minutes(15) }).template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/flask-app/Test/JWT_EXPIRES_SECONDS',
      Value: '900',
    });
  });

  test('appName sets the parameter path', () => {
    expect(synth({ appName: 'todo' }).platform.parameterPath).toBe('/todo/Test/');
  });

  test('an existing VPC is used instead of a new one', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Existing', {
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'App', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const platform = new FlaskServerlessPlatform(stack, 'P', { image, vpc });
    expect(platform.network).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::EC2::VPC', 1);
  });
});

describe('profiles', () => {
  test('PRODUCTION adds the WAF per-key rate limit and a NAT gateway per AZ', () => {
    const { template } = synth({ profile: PlatformProfile.PRODUCTION });
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  test('PRODUCTION traces the API stage with X-Ray; STANDARD does not', () => {
    synth({ profile: PlatformProfile.PRODUCTION }).template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    synth().template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    synth({ profile: PlatformProfile.PRODUCTION, api: { tracingEnabled: false } }).template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
  });

  test('explicit options win over the PRODUCTION profile', () => {
    const { template } = synth({ profile: PlatformProfile.PRODUCTION, api: { wafRateLimit: false }, network: { natGateways: 1 } });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
  });
});

describe('TLS to the load balancer and the tasks', () => {
  const { template, platform } = synth({
    service: { tlsCertificate: certificate, containerTls: true },
    api: { integrationTlsHostname: 'backend.example.com' },
  });

  test('the load balancer listens with TLS on 443 and speaks TLS to the tasks', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'TLS', Certificates: [{ CertificateArn: CERT_ARN }] });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Protocol: 'TLS', HealthCheckProtocol: 'HTTPS' });
  });

  test('the API calls the host name over HTTPS on the service listener port', () => {
    expect(platform.service.listenerPort).toBe(443);
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      Integration: { Type: 'HTTP_PROXY', ConnectionType: 'VPC_LINK', Uri: 'https://backend.example.com:443/{proxy}' },
    });
  });

  test('an explicit service.listenerPort reaches the integration URI', () => {
    synth({
      service: { tlsCertificate: certificate, listenerPort: 8443 },
      api: { integrationTlsHostname: 'backend.example.com' },
    }).template.hasResourceProperties('AWS::ApiGateway::Method', { Integration: { Uri: 'https://backend.example.com:8443/{proxy}' } });
  });
});

describe('rejected at synth', () => {
  test('an existing VPC together with network options', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Existing');
    expect(() => new FlaskServerlessPlatform(stack, 'P', { image, vpc, network: { cidr: '10.1.0.0/16' } }))
      .toThrow(/either `vpc`.*or `network`/);
  });

  test('an appName that cannot name a parameter path', () => {
    expect(() => synth({ appName: 'My App' })).toThrow(/appName must be 1-40 lowercase letters/);
  });

  test('a JWT lifetime under a minute', () => {
    expect(() => synth({ jwtExpiry: Duration.seconds(30) })).toThrow(/jwtExpiry must be from 1 minute to 24 hours/);
  });

  test('service.tlsCertificate without api.integrationTlsHostname', () => {
    expect(() => synth({ service: { tlsCertificate: certificate } }))
      .toThrow('service.tlsCertificate needs api.integrationTlsHostname: API Gateway must call the TLS listener by a host name the certificate covers; pass both, or neither for plain HTTP.');
  });

  test('api.integrationTlsHostname without service.tlsCertificate', () => {
    expect(() => synth({ api: { integrationTlsHostname: 'backend.example.com' } }))
      .toThrow("api.integrationTlsHostname ('backend.example.com') needs service.tlsCertificate: the load balancer needs a TLS listener with a certificate covering that name; pass both, or neither for plain HTTP.");
  });
});

describe('the platform\'s JWT settings', () => {
  test('a JWT_SECRET the user brings replaces the generated one', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    const own = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Own', { parameterName: '/mine/JWT_SECRET' });
    new FlaskServerlessPlatform(stack, 'P', { image, service: { existingSecrets: { JWT_SECRET: own } } });
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::FlaskSecureStringParameter', 0);
    const secrets = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions[0].Secrets;
    expect(JSON.stringify(secrets.find((s: { Name: string }) => s.Name === 'JWT_SECRET'))).toContain('/mine/JWT_SECRET');
  });

  test('rejects JWT_EXPIRES_SECONDS in service.settings, which jwtExpiry owns', () => {
    expect(() => synth({ service: { settings: { JWT_EXPIRES_SECONDS: '60' } } })).toThrow(/set jwtExpiry instead/);
  });

  test('rejects ECS Exec with VPC-endpoint egress, which has no SSM Messages endpoint', () => {
    expect(() => synth({ network: { egress: EgressMode.VPC_ENDPOINTS }, service: { enableExecuteCommand: true } }))
      .toThrow(/service.enableExecuteCommand needs the SSM Messages endpoint/);
  });

  test('rejects a JWT lifetime given as a token', () => {
    expect(() => synth({ jwtExpiry: Duration.seconds(Token.asNumber({ Ref: 'Expiry' })) })).toThrow(/jwtExpiry must be a concrete duration/);
  });
});
