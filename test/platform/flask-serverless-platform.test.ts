import * as path from 'path';
import { App, Duration, NestedStack, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
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

function logicalIdOf(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0];
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

  test('settings and the generated JWT key live under /flask-app/<stack>/<platform>/Test/ and reach the task as ECS secrets', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask-app/S/P/Test/JWT_EXPIRES_SECONDS', Type: 'String', Value: '3600' });
    const containers = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions;
    const secretNames = containers[0].Secrets.map((s: { Name: string }) => s.Name);
    expect(secretNames).toEqual(expect.arrayContaining(['JWT_SECRET', 'JWT_EXPIRES_SECONDS', 'DB_USER', 'DB_IAM_AUTH']));
    // The app connects as its own role with IAM tokens: no master password.
    expect(secretNames).not.toContain('DB_PASSWORD');
    const plainNames = (containers[0].Environment ?? []).map((e: { Name: string }) => e.Name);
    expect(plainNames).not.toContain('JWT_SECRET');
    expect(JSON.stringify(template.toJSON())).toContain('/flask-app/S/P/Test/JWT_SECRET');
  });

  test('the ECS service is created only after the Aurora writer instance', () => {
    const writerId = logicalIdOf(template, 'AWS::RDS::DBInstance');
    const service = Object.values(template.findResources('AWS::ECS::Service'))[0];
    expect(service.DependsOn).toEqual(expect.arrayContaining([writerId]));
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
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask-app/S/P/Test/LOG_LEVEL', Value: 'debug' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask-app/S/P/Test/JWT_EXPIRES_SECONDS' });
  });

  test('api.stageName renames the stage and the parameter path follows it', () => {
    const { template, platform } = synth({ api: { stageName: 'prod' } });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    expect(platform.parameterPath).toBe('/flask-app/S/P/prod/');
  });

  test('monitoring.alarmEmail subscribes the address to the alarm topic', () => {
    synth({ monitoring: { alarmEmail: 'ops@example.com' } }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  test('jwtExpiry sets JWT_EXPIRES_SECONDS', () => {
    synth({ jwtExpiry: Duration.minutes(15) }).template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/flask-app/S/P/Test/JWT_EXPIRES_SECONDS',
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

describe('existing VPCs', () => {
  function inStack(makeVpc: (stack: Stack) => ec2.IVpc, props: Partial<FlaskServerlessPlatformProps> = {}) {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'ap-southeast-1' } });
    const vpc = makeVpc(stack);
    const platform = new FlaskServerlessPlatform(stack, 'P', { image, vpc, ...props });
    return { stack, vpc, platform, template: Template.fromStack(stack) };
  }
  const ids = (stack: Stack, subnets: ec2.ISubnet[]) => subnets.map((s) => stack.resolve(s.subnetId));
  const dbSubnetIds = (template: Template) => Object.values(template.findResources('AWS::RDS::DBSubnetGroup'))[0].Properties.SubnetIds;
  const taskSubnetIds = (template: Template) =>
    Object.values(template.findResources('AWS::ECS::Service'))[0].Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets;

  test('a standard new ec2.Vpc() (public and private subnets only) puts the database in its private subnets', () => {
    const { stack, vpc, template } = inStack((s) => new ec2.Vpc(s, 'Vpc'));
    expect(dbSubnetIds(template)).toEqual(ids(stack, vpc.privateSubnets));
    expect(taskSubnetIds(template)).toEqual(ids(stack, vpc.privateSubnets));
  });

  test('a VPC imported from attributes (as fromLookup returns it) works', () => {
    const { template } = inStack((s) => ec2.Vpc.fromVpcAttributes(s, 'Vpc', {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b'],
      publicSubnetIds: ['subnet-0000000000000000a', 'subnet-0000000000000000b'],
      privateSubnetIds: ['subnet-0000000000000001a', 'subnet-0000000000000001b'],
      isolatedSubnetIds: ['subnet-0000000000000002a', 'subnet-0000000000000002b'],
    }));
    expect(dbSubnetIds(template)).toEqual(['subnet-0000000000000002a', 'subnet-0000000000000002b']);
    expect(taskSubnetIds(template)).toEqual(['subnet-0000000000000001a', 'subnet-0000000000000001b']);
  });

  test('a VPC with only isolated subnets plus endpoints holds the tasks and the database', () => {
    const { stack, vpc, template } = inStack((s) => {
      const v = new ec2.Vpc(s, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      v.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
      for (const svc of [ec2.InterfaceVpcEndpointAwsService.ECR, ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, ec2.InterfaceVpcEndpointAwsService.SSM,
        ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER]) v.addInterfaceEndpoint(svc.shortName, { service: svc });
      return v;
    });
    expect(dbSubnetIds(template)).toEqual(ids(stack, vpc.isolatedSubnets));
    expect(taskSubnetIds(template)).toEqual(ids(stack, vpc.isolatedSubnets));
  });

  test('database.vpcSubnets and appSubnets choose the subnets', () => {
    const { stack, vpc, template } = inStack((s) => new ec2.Vpc(s, 'Vpc', {
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'Web', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'Db', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    }), { database: { vpcSubnets: { subnetGroupName: 'Db' } }, appSubnets: { subnetGroupName: 'Web' } });
    expect(dbSubnetIds(template)).toEqual(ids(stack, vpc.selectSubnets({ subnetGroupName: 'Db' }).subnets));
    expect(taskSubnetIds(template)).toEqual(ids(stack, vpc.selectSubnets({ subnetGroupName: 'Web' }).subnets));
  });

  test('database.vpcSubnets that select nothing are reported as database.vpcSubnets', () => {
    expect(() => inStack((s) => new ec2.Vpc(s, 'Vpc'), { database: { vpcSubnets: { subnetGroupName: 'Data' } } }))
      .toThrow(/^database.vpcSubnets selects no subnets in the VPC/);
  });

  test('a VPC with only public subnets asks for database.vpcSubnets', () => {
    expect(() => inStack((s) => new ec2.Vpc(s, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }] })))
      .toThrow(/^The VPC has no isolated or private subnets for the database .*; pass database.vpcSubnets.$/);
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
    expect(platform.service!.listenerPort).toBe(443);
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

describe('secret rotation with the app role (the default)', () => {
  const { template } = synth({ database: { rotateSecretAfter: Duration.days(30) } });

  test('nothing replaces the tasks: the running app never holds the master password', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    const app = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions
      .find((c: { Essential?: boolean }) => c.Essential !== false);
    expect(JSON.stringify(app.Secrets)).not.toContain('secretsmanager');
  });

  test('the first rotation waits for the service, whose first tasks have run the admin step', () => {
    const schedule = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'))[0];
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([
      logicalIdOf(template, 'AWS::RDS::DBInstance'),
      logicalIdOf(template, 'AWS::ECS::Service'),
    ]));
  });
});

describe('secret rotation with the master user (database.iamAuthentication false)', () => {
  const { stack, platform, template } = synth({ database: { rotateSecretAfter: Duration.days(30), iamAuthentication: false } });

  test('the rotation function runs in the app subnets, which reach Secrets Manager, not in the data subnets', () => {
    const app = Object.values(template.findResources('AWS::Serverless::Application'))[0];
    const subnets = JSON.stringify(app.Properties.Parameters.vpcSubnetIds);
    const network = platform.network!;
    const ids = (selection: ec2.SubnetSelection) =>
      network.vpc.selectSubnets(selection).subnets.map((sub) => JSON.stringify(stack.resolve(sub.subnetId)));
    for (const id of ids(network.appSubnets)) expect(subnets).toContain(id);
    for (const id of ids(network.dataSubnets)) expect(subnets).not.toContain(id);
  });

  test('with VPC-endpoint egress the rotation function runs in the app subnets, next to the Secrets Manager endpoint', () => {
    const endpoints = synth({
      network: { egress: EgressMode.VPC_ENDPOINTS },
      database: { rotateSecretAfter: Duration.days(30), iamAuthentication: false },
    });
    const app = Object.values(endpoints.template.findResources('AWS::Serverless::Application'))[0];
    const network = endpoints.platform.network!;
    const subnets = JSON.stringify(app.Properties.Parameters.vpcSubnetIds);
    for (const subnet of network.vpc.selectSubnets(network.appSubnets).subnets) {
      expect(subnets).toContain(JSON.stringify(endpoints.stack.resolve(subnet.subnetId)));
    }
  });

  test('a successful rotation of the database secret replaces the ECS tasks', () => {
    // The cluster's secret, through its attachment (whose Ref is the secret's ARN).
    const secretId = Object.keys(template.findResources('AWS::SecretsManager::SecretTargetAttachment'))[0];
    const rules = Object.values(template.findResources('AWS::Events::Rule'))
      .filter((r) => r.Properties.EventPattern['detail-type'][0] === 'AWS Service Event via CloudTrail');
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern).toEqual({
      'source': ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      'detail': {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['RotationSucceeded'],
        $or: [
          { additionalEventData: { SecretId: [{ Ref: secretId }] } },
          { serviceEventDetails: { secretId: [{ Ref: secretId }] } },
        ],
      },
    });
    const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    expect(rules[0].Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: machineId } })]);
    const machine = template.findResources('AWS::StepFunctions::StateMachine')[machineId];
    const definition = JSON.stringify(stack.resolve(machine.Properties.DefinitionString));
    expect(definition).toContain(':states:::aws-sdk:ecs:updateService');
    expect(definition).toMatch(/ForceNewDeployment\W+:true/);
    expect(definition).toContain(`{"Fn::GetAtt":["${Object.keys(template.findResources('AWS::ECS::Service'))[0]}","Name"]}`);
    const serviceId = Object.keys(template.findResources('AWS::ECS::Service'))[0];
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'ecs:updateService', Resource: { Ref: serviceId } })]) },
    });
  });

  test('Secrets Manager\'s own event for a new AWSCURRENT version replaces the tasks too, with no CloudTrail involved', () => {
    const secretId = Object.keys(template.findResources('AWS::SecretsManager::SecretTargetAttachment'))[0];
    const machineId = logicalIdOf(template, 'AWS::StepFunctions::StateMachine');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.secretsmanager'],
        'detail-type': ['Secret Label Updated'],
        'resources': [{ Ref: secretId }],
        'detail': { labelUpdated: ['AWSCURRENT'] },
      },
      Targets: [Match.objectLike({ Arn: { Ref: machineId } })],
    });
  });

  test('the state machine logs to a /aws/vendedlogs/states/ log group', () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const destination = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn;
    const logGroupId = destination['Fn::GetAtt'][0];
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId];
    expect(JSON.stringify(stack.resolve(logGroup.Properties.LogGroupName))).toMatch(/^\{"Fn::Join":\["",\["\/aws\/vendedlogs\/states\/"/);
  });

  test('the first rotation waits for the writer, the rule and the state machine that replace the tasks', () => {
    const schedule = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedule).toHaveLength(1);
    expect(schedule[0].DependsOn).toEqual(expect.arrayContaining([
      logicalIdOf(template, 'AWS::RDS::DBInstance'),
      ...Object.keys(template.findResources('AWS::Events::Rule')),
      logicalIdOf(template, 'AWS::StepFunctions::StateMachine'),
    ]));
  });

  test('no replacement machinery without rotation', () => {
    const plain = synth().template;
    plain.resourceCountIs('AWS::Events::Rule', 0);
    plain.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
  });
});

describe('two platforms in one account and region', () => {
  const names = (stack: Stack) => Object.values(Template.fromStack(stack).findResources('AWS::SSM::Parameter'))
    .map((p) => p.Properties.Name as string);

  test('two default platforms in one stack write different parameters (and JWT_SECRETs)', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    const a = new FlaskServerlessPlatform(stack, 'A', { image });
    const b = new FlaskServerlessPlatform(stack, 'B', { image });
    expect(a.parameterPath).not.toBe(b.parameterPath);
    const all = names(stack);
    expect(new Set(all).size).toBe(all.length);
    const template = JSON.stringify(Template.fromStack(stack).toJSON());
    expect(template).toContain(`${a.parameterPath}JWT_SECRET`);
    expect(template).toContain(`${b.parameterPath}JWT_SECRET`);
  });

  test('default platforms in two stacks of one account and region write different parameters', () => {
    const app = new App();
    const env = { account: '111111111111', region: 'ap-southeast-1' };
    const one = new Stack(app, 'One', { env });
    const two = new Stack(app, 'Two', { env });
    new FlaskServerlessPlatform(one, 'Platform', { image });
    new FlaskServerlessPlatform(two, 'Platform', { image });
    const clash = names(one).filter((n) => names(two).includes(n));
    expect(clash).toEqual([]);
  });

  test('in a nested stack the default path starts with the top-level stack\'s name, so two deployments of one app stay apart', () => {
    const pathUnder = (stackName: string) => {
      const stack = new Stack(new App(), 'Main', { stackName, env: { region: 'ap-southeast-1' } });
      return new FlaskServerlessPlatform(new NestedStack(stack, 'Inner'), 'P', { image }).parameterPath;
    };
    expect(pathUnder('shop-blue')).toBe('/flask-app/shop-blue/Inner/P/Test/');
    expect(pathUnder('shop-green')).toBe('/flask-app/shop-green/Inner/P/Test/');
  });

  test('a default path too deep for Parameter Store asks for appName, not for the service.parameterPath the user never set', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    let scope: Construct = stack;
    for (let level = 0; level < 12; level++) scope = new Construct(scope, `Level${level}`);
    expect(() => new FlaskServerlessPlatform(scope, 'P', { image }))
      .toThrow(/the default Parameter Store path '\/flask-app\/S\/Level0\/.*' puts the parameter names 17 levels deep \(keep them under 15.*Set appName/);
    expect(() => new FlaskServerlessPlatform(new Construct(scope, 'Named'), 'P', { image, appName: 'shop' })).not.toThrow();
  });

  test('the same appName twice in one account and region is rejected, naming appName', () => {
    const app = new App();
    const env = { account: '111111111111', region: 'ap-southeast-1' };
    new FlaskServerlessPlatform(new Stack(app, 'One', { env }), 'Platform', { image, appName: 'todo' });
    expect(() => new FlaskServerlessPlatform(new Stack(app, 'Two', { env }), 'Platform', { image, appName: 'todo' }))
      .toThrow(/Two\/Platform: the Parameter Store path '\/todo\/Test\/' is already used by One\/Platform .*Set a different appName/);
  });

  test('the same appName in two regions is allowed', () => {
    const app = new App();
    new FlaskServerlessPlatform(new Stack(app, 'One', { env: { account: '111111111111', region: 'ap-southeast-1' } }), 'Platform', { image, appName: 'todo' });
    expect(() => new FlaskServerlessPlatform(new Stack(app, 'Two', { env: { account: '111111111111', region: 'eu-west-1' } }), 'Platform', { image, appName: 'todo' }))
      .not.toThrow();
  });

  test('the same service.parameterPath twice is rejected, naming service.parameterPath', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    new FlaskServerlessPlatform(stack, 'A', { image, service: { parameterPath: '/shop/' } });
    expect(() => new FlaskServerlessPlatform(stack, 'B', { image, service: { parameterPath: '/shop/' } }))
      .toThrow(/Set a different service.parameterPath/);
  });
});

describe('rejected at synth', () => {
  test('an existing VPC together with network options', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Existing');
    expect(() => new FlaskServerlessPlatform(stack, 'P', { image, vpc, network: { cidr: '10.1.0.0/16' } }))
      .toThrow(/either `vpc`.*or `network`/);
  });

  test('a stage name API Gateway rejects is reported as api.stageName, not as the parameter path built from it', () => {
    expect(() => synth({ api: { stageName: 'test stage' } }))
      .toThrow("api.stageName must be 1-128 letters, digits, '-' or '_' (API Gateway's rule), got 'test stage'.");
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
