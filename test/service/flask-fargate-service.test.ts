import { App, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { IFlaskDatabase } from '../../src/database/flask-database';
import { EgressMode, FlaskServerlessVpc } from '../../src/network';
import { FlaskFargateService, FlaskFargateServiceProps } from '../../src/service';

type Overrides = Partial<FlaskFargateServiceProps>;

interface Built {
  readonly stack: Stack;
  readonly service: FlaskFargateService;
  readonly template: Template;
}

/** A database the library did not create: a real secret and a real security group on 5432. */
function externalDatabase(stack: Stack, vpc: ec2.IVpc): IFlaskDatabase {
  const securityGroup = new ec2.SecurityGroup(stack, 'DbSecurityGroup', { vpc, allowAllOutbound: false });
  return {
    endpointAddress: 'db.example.internal',
    port: 5432,
    databaseName: 'app',
    username: 'app_user',
    secret: new secretsmanager.Secret(stack, 'DbSecret'),
    connections: new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(5432) }),
  };
}

function build(overrides: Overrides = {}, withDatabase = true): Built {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const vpc = overrides.vpc ?? new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const service = new FlaskFargateService(stack, 'Service', {
    vpc,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    database: withDatabase ? externalDatabase(stack, vpc) : undefined,
    ...overrides,
  });
  return { stack, service, template: Template.fromStack(stack) };
}

const CERT_ARN = 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7';
/** An imported certificate; its ARN is a plain string, so any stack may use it. */
const certificate = acm.Certificate.fromCertificateArn(new Stack(), 'Certificate', CERT_ARN);

function thrower(overrides: Overrides, withDatabase = true): () => void {
  return () => build(overrides, withDatabase);
}

function containerOf(template: Template): any {
  const taskDefinitions = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  expect(taskDefinitions).toHaveLength(1);
  return taskDefinitions[0].Properties.ContainerDefinitions[0];
}

function logicalId(template: Template, type: string, props: object): string {
  const ids = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Every inbound rule of a security group, inline or standalone. */
function ingressRulesOf(template: Template, groupLogicalId: string): any[] {
  const inline = template.findResources('AWS::EC2::SecurityGroup')[groupLogicalId].Properties.SecurityGroupIngress ?? [];
  const standalone = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => r.Properties)
    .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify({ 'Fn::GetAtt': [groupLogicalId, 'GroupId'] }));
  return [...inline, ...standalone];
}

function parameterValue(template: Template, name: string): unknown {
  const matches = Object.values(template.findResources('AWS::SSM::Parameter', { Properties: { Name: name } }));
  expect(matches).toHaveLength(1);
  return matches[0].Properties.Value;
}

describe('FlaskFargateService defaults', () => {
  const { template, service } = build();
  const container = containerOf(template);
  const secretNames = container.Secrets.map((s: any) => s.Name);

  test('the task has 0.25 vCPU and 0.5 GB on Fargate, x86-64 Linux', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '256',
      Memory: '512',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
  });

  test('the container hard memory limit is the task memory', () => {
    expect(container.Memory).toBe(512);
  });

  test('one task runs, and deployments keep it serving (100% min, 200% max)', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 1,
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: 200 }),
    });
  });

  test('a failed deployment trips the circuit breaker and rolls back', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
  });

  test('load balancer health checks are ignored for 120 s after a task starts', () => {
    template.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 120 });
  });

  test('tasks run in the private subnets without a public IP', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: Match.objectLike({
          AssignPublicIp: 'DISABLED',
          Subnets: [{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }, { Ref: Match.stringLikeRegexp('VpcPrivateSubnet2') }],
        }),
      },
    });
  });

  test('ECS Exec is off', () => {
    template.hasResourceProperties('AWS::ECS::Service', { EnableExecuteCommand: false });
  });

  test('a new cluster has Container Insights off (its metrics are billed; the alarms read free ones)', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }],
    });
  });

  test('no alarm reads a Container Insights metric', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.Namespace).not.toBe('ECS/ContainerInsights');
  });

  test('the container listens on 8000', () => {
    expect(container.PortMappings).toEqual([{ ContainerPort: 8000, Protocol: 'tcp' }]);
  });

  test('the container has no plain environment variables', () => {
    expect(container.Environment).toBeUndefined();
  });

  test('the container receives PORT and the database connection, and nothing else', () => {
    expect([...secretNames].sort()).toEqual(['DB_HOST', 'DB_NAME', 'DB_PASSWORD', 'DB_PORT', 'DB_SSLMODE', 'DB_USER', 'PORT']);
  });

  test('configuration secrets come from SSM parameter ARNs under the service path', () => {
    const fromSsm = container.Secrets.filter((s: any) => s.Name !== 'DB_PASSWORD');
    expect(fromSsm).toHaveLength(6);
    for (const secret of fromSsm) {
      const joined = JSON.stringify(secret.ValueFrom);
      expect(joined).toContain(':ssm:ap-southeast-1:');
      expect(joined).toContain(':parameter');
    }
  });

  test('the database password comes from the password field of its secret', () => {
    const password = container.Secrets.find((s: any) => s.Name === 'DB_PASSWORD');
    expect(JSON.stringify(password.ValueFrom)).toMatch(/DbSecret.*:password::/);
  });

  test('the database settings are String parameters, with TLS required', () => {
    expect(parameterValue(template, '/flask/Test/Service/DB_HOST')).toBe('db.example.internal');
    expect(parameterValue(template, '/flask/Test/Service/DB_PORT')).toBe('5432');
    expect(parameterValue(template, '/flask/Test/Service/DB_NAME')).toBe('app');
    expect(parameterValue(template, '/flask/Test/Service/DB_USER')).toBe('app_user');
    expect(parameterValue(template, '/flask/Test/Service/DB_SSLMODE')).toBe('require');
    template.allResourcesProperties('AWS::SSM::Parameter', { Type: 'String' });
  });

  test('PORT is the container port', () => {
    expect(parameterValue(template, '/flask/Test/Service/PORT')).toBe('8000');
  });

  test('the parameter path defaults to /flask/<stack>/<id>/', () => {
    expect(service.parameterPath).toBe('/flask/Test/Service/');
  });

  test('the container health check fetches /health with Python, not curl', () => {
    expect(container.HealthCheck).toEqual({
      Command: ['CMD-SHELL', 'python3 -c "import urllib.request; urllib.request.urlopen(\'http://localhost:8000/health\', timeout=4)" || exit 1'],
      Interval: 15,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 120,
    });
  });

  test('gunicorn gets 30 s between SIGTERM and SIGKILL', () => {
    expect(container.StopTimeout).toBe(30);
  });

  test('the root file system is writable', () => {
    expect(container.ReadonlyRootFilesystem).toBe(false);
  });

  test('logs go through awslogs to an encrypted log group kept one month', () => {
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    // Non-blocking whatever the account default, so an unreachable Logs endpoint cannot hang the app.
    expect(container.LogConfiguration.Options).toMatchObject({ 'mode': 'non-blocking', 'max-buffer-size': '26214400b' });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 30,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ServiceParametersKey'), 'Arn'] },
    });
  });

  test('the key rotates and lets CloudWatch Logs use it', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logs.ap-southeast-1.amazonaws.com' } })]),
      },
    });
  });

  test('only AWS services, for their own resources, may create grants on the key', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([{
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'kms:CreateGrant',
          Resource: '*',
          Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
        }]),
      },
    });
  });

  test('the load balancer is an internal NLB across zones with a security group', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      SecurityGroups: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('LoadBalancerSecurityGroup'), 'GroupId'] }],
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]),
    });
  });

  test('PrivateLink traffic from a REST API VPC link is not filtered by the NLB inbound rules', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
    });
  });

  test('the NLB records why it has no access logs and no deletion protection', () => {
    template.hasResource('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Metadata: {
        cdk_nag: { rules_to_suppress: Match.arrayWith([Match.objectLike({ id: 'AwsSolutions-ELB2', reason: Match.stringLikeRegexp('TLS listeners only') })]) },
        checkov: { skip: [Match.objectLike({ id: 'CKV_AWS_91' })] },
        guard: { SuppressedRules: ['elbv2_logging_enabled_check', 'elbv2_deletion_protection_enabled_check'] },
      },
    });
  });

  test('the listener is TCP on port 80', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'TCP' });
    expect(service.listenerPort).toBe(80);
  });

  test('the target group health-checks /health over HTTP, tolerant of a slow boot', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'ip',
      Protocol: 'TCP',
      Port: 8000,
      HealthCheckProtocol: 'HTTP',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 5,
    });
  });

  test('the deregistration delay (20 s) is shorter than the stop timeout (30 s)', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '20' }],
    });
  });

  test('nothing inside the VPC can reach the NLB: no inbound rule, and the VPC link arrives through PrivateLink', () => {
    const nlbGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('Internal NLB') });
    expect(ingressRulesOf(template, nlbGroup)).toEqual([]);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
    });
  });

  test('the tasks admit only the container port, only from the NLB security group', () => {
    const taskGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('tasks') });
    const nlbGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('Internal NLB') });
    const rules = ingressRulesOf(template, taskGroup);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ FromPort: 8000, ToPort: 8000, IpProtocol: 'tcp', SourceSecurityGroupId: { 'Fn::GetAtt': [nlbGroup, 'GroupId'] } });
  });

  test('the NLB security group states its egress: only the container port to the tasks', () => {
    const taskGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('tasks') });
    const nlbGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('Internal NLB') });
    // Without inline egress EC2 adds its allow-all rule until the separate rule below replaces
    // it; the placeholder matches no traffic and keeps the group closed from the start.
    expect(template.findResources('AWS::EC2::SecurityGroup')[nlbGroup].Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 },
    ]);
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'))
      .filter((r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [nlbGroup, 'GroupId'] }));
    expect(egress.map((r) => r.Properties)).toEqual([expect.objectContaining({
      IpProtocol: 'tcp', FromPort: 8000, ToPort: 8000, DestinationSecurityGroupId: { 'Fn::GetAtt': [taskGroup, 'GroupId'] },
    })]);
  });

  test('the database admits only the tasks, only on its port', () => {
    const taskGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('tasks') });
    const dbGroup = Object.keys(template.findResources('AWS::EC2::SecurityGroup')).find((id) => id.startsWith('DbSecurityGroup'))!;
    const rules = ingressRulesOf(template, dbGroup);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp', SourceSecurityGroupId: { 'Fn::GetAtt': [taskGroup, 'GroupId'] } });
  });

  test('the tasks send only HTTPS out, plus PostgreSQL to the database', () => {
    const taskGroup = logicalId(template, 'AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('tasks') });
    const inline = template.findResources('AWS::EC2::SecurityGroup')[taskGroup].Properties.SecurityGroupEgress;
    expect(inline).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [taskGroup, 'GroupId'] },
      FromPort: 5432,
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DbSecurityGroup'), 'GroupId'] },
    });
  });

  test('the execution role reads parameters by exact ARN, never by wildcard', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const ssmStatements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('ssm:')));
    expect(ssmStatements.length).toBeGreaterThanOrEqual(6);
    for (const statement of ssmStatements) {
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
    }
  });

  test('no generated-secret machinery without generatedSecrets', () => {
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.resourceCountIs('Custom::FlaskSecureStringParameter', 0);
  });

  test('four alarms without actions: CPU, memory, running tasks, unhealthy targets', () => {
    expect(service.alarms).toHaveLength(4);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  test('each alarm records that the platform, not the part, adds its actions', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Metadata.guard.SuppressedRules).toEqual(['cloudwatch_alarm_action_check']);
    }
  });

  test('the CPU and memory alarms fire above 80% and treat missing data as fine', () => {
    for (const metricName of ['CPUUtilization', 'MemoryUtilization']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ECS',
        MetricName: metricName,
        Threshold: 80,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  test('the running-task alarm reads the free NLB healthy host count (maximum over the nodes, as the NLB guide advises) and fires below the desired count', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/NetworkELB',
      MetricName: 'HealthyHostCount',
      Statistic: 'Maximum',
      Dimensions: Match.arrayWith([Match.objectLike({ Name: 'TargetGroup' })]),
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  test('the unhealthy-target alarm reads the NLB target group (minimum over the nodes, as the NLB guide advises)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/NetworkELB',
      MetricName: 'UnHealthyHostCount',
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('connections is the task security group', () => {
    expect(service.connections.securityGroups).toHaveLength(1);
    expect(service.connections.securityGroups[0]).toBe(service.service.connections.securityGroups[0]);
  });

  test('metricHealthyHosts reads the target group of the service', () => {
    const metric = service.metricHealthyHosts();
    expect(metric.namespace).toBe('AWS/NetworkELB');
    expect(Object.keys(metric.dimensions ?? {}).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
  });

  test('metricRunningTaskCount names the cluster and the service', () => {
    const metric = service.metricRunningTaskCount();
    expect(metric.namespace).toBe('ECS/ContainerInsights');
    expect(Object.keys(metric.dimensions ?? {}).sort()).toEqual(['ClusterName', 'ServiceName']);
  });
});

describe('FlaskFargateService without a database', () => {
  const { template } = build({}, false);

  test('the container receives only PORT', () => {
    expect(containerOf(template).Secrets.map((s: any) => s.Name)).toEqual(['PORT']);
  });

  test('there is no database egress rule', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 1); // NLB to tasks only
  });
});

describe('FlaskFargateService generated secrets', () => {
  const { template, service } = build({ generatedSecrets: ['SECRET_KEY', 'API_SALT'] });
  const secretKeyArn = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:ap-southeast-1:', { Ref: 'AWS::AccountId' }, ':parameter/flask/Test/Service/SECRET_KEY']],
  };

  test('one custom resource per secret, given a name and the key but never a value', () => {
    const resources = Object.values(template.findResources('Custom::FlaskSecureStringParameter'));
    expect(resources).toHaveLength(2);
    for (const resource of resources) {
      expect(Object.keys(resource.Properties).sort()).toEqual(['Bytes', 'Description', 'KeyId', 'ParameterName', 'ServiceToken']);
      expect(resource.Properties.KeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ServiceParametersKey/), 'Arn'] });
    }
    template.hasResource('Custom::FlaskSecureStringParameter', { Properties: Match.objectLike({ ParameterName: '/flask/Test/Service/SECRET_KEY' }) });
  });

  // The handler's behaviour is exercised in secure-string-handler.test.ts; here: it logs nothing.
  test('the handler has no logging statement that could write a value to its log', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.Code.ZipFile).not.toMatch(/print\(|logging|logger/);
  });

  test('the handler role may write and delete exactly the generated parameters', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: ['ssm:PutParameter', 'ssm:DeleteParameter'],
          Effect: 'Allow',
          Resource: [secretKeyArn, Match.anyValue()],
        }]),
      },
    });
  });

  test('the handler may encrypt only through Parameter Store, only for those parameters', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'kms:Encrypt',
          Condition: {
            StringEquals: {
              'kms:ViaService': 'ssm.ap-southeast-1.amazonaws.com',
              'kms:EncryptionContext:PARAMETER_ARN': [secretKeyArn, Match.anyValue()],
            },
          },
        })]),
      },
    });
  });

  test('the task may decrypt only through Parameter Store, only those parameters', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('ExecutionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'kms:Decrypt',
          Condition: { StringEquals: Match.objectLike({ 'kms:EncryptionContext:PARAMETER_ARN': [secretKeyArn, Match.anyValue()] }) },
        })]),
      },
    });
  });

  test('the container gets the generated secrets from their parameter ARNs', () => {
    const secret = containerOf(template).Secrets.find((s: any) => s.Name === 'SECRET_KEY');
    expect(secret.ValueFrom).toEqual(secretKeyArn);
  });

  test('the service waits for the secrets to exist', () => {
    const ecsService = Object.values(template.findResources('AWS::ECS::Service'))[0];
    const dependsOn: string[] = ecsService.DependsOn;
    expect(dependsOn.filter((d) => d.includes('GeneratedSecretsSecureString'))).toHaveLength(2);
  });

  test('the handler logs to an encrypted log group with the service retention', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.LoggingConfig.LogGroup.Ref).toMatch(/HandlerLogs/);
    expect(template.findResources('AWS::Logs::LogGroup')[fn.Properties.LoggingConfig.LogGroup.Ref].Properties.KmsKeyId).toBeDefined();
  });

  test('the generated secrets are not parameters in the template (CloudFormation would hold their values)', () => {
    for (const parameter of Object.values(template.findResources('AWS::SSM::Parameter'))) {
      expect(parameter.Properties.Name).not.toMatch(/SECRET_KEY|API_SALT/);
    }
    expect(service.parametersKey).toBeDefined();
  });
});

describe('FlaskFargateService options', () => {
  test('cpu and memory are configurable', () => {
    build({ cpu: 1024, memoryLimitMiB: 3072 }).template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '1024', Memory: '3072' });
  });

  test('desiredCount sets the task count and the running-task alarm threshold', () => {
    const { template } = build({ desiredCount: 2 });
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HealthyHostCount', Threshold: 2 });
  });

  test('desiredCount 0 leaves out the running-task alarm', () => {
    const { service } = build({ desiredCount: 0 });
    expect(service.alarms).toHaveLength(3);
  });

  test('containerPort changes the mapping, PORT, the target group, the task rule and the health check', () => {
    const { template } = build({ containerPort: 5000 });
    const container = containerOf(template);
    expect(container.PortMappings[0].ContainerPort).toBe(5000);
    expect(container.HealthCheck.Command[1]).toContain('http://localhost:5000/health');
    expect(parameterValue(template, '/flask/Test/Service/PORT')).toBe('5000');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 5000, HealthCheckPort: '5000' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5000, SourceSecurityGroupId: Match.anyValue() });
  });

  test('healthCheckPath is used by the target group and the container', () => {
    const { template } = build({ healthCheckPath: '/ping' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/ping' });
    expect(containerOf(template).HealthCheck.Command[1]).toContain('http://localhost:8000/ping');
  });

  test('healthCheckGracePeriod sets the service grace period and the container start period', () => {
    const { template } = build({ healthCheckGracePeriod: Duration.seconds(200) });
    template.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 200 });
    expect(containerOf(template).HealthCheck.StartPeriod).toBe(200);
  });

  test('the container start period stops at the ECS maximum of 300 s', () => {
    expect(containerOf(build({ healthCheckGracePeriod: Duration.minutes(10) }).template).HealthCheck.StartPeriod).toBe(300);
  });

  test('containerHealthCheckCommand replaces the health check command', () => {
    const command = 'wget -q -O /dev/null http://localhost:8000/health || exit 1';
    expect(containerOf(build({ containerHealthCheckCommand: command }).template).HealthCheck.Command).toEqual(['CMD-SHELL', command]);
  });

  test('containerUser sets the container user', () => {
    expect(containerOf(build({ containerUser: '10001' }).template).User).toBe('10001');
  });

  test('listenerPort changes the listener port', () => {
    const { template } = build({ listenerPort: 8080 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8080 });
  });

  test('environment values are plain variables, with a reasoned ECS2 suppression', () => {
    const { template } = build({ environment: { LOG_FORMAT: 'json' } });
    expect(containerOf(template).Environment).toEqual([{ Name: 'LOG_FORMAT', Value: 'json' }]);
    template.hasResource('AWS::ECS::TaskDefinition', {
      Metadata: Match.objectLike({ cdk_nag: { rules_to_suppress: Match.arrayWith([Match.objectLike({ id: 'AwsSolutions-ECS2' })]) } }),
    });
  });

  test('settings become String parameters delivered as secrets', () => {
    const { template } = build({ settings: { LOG_LEVEL: 'info' } });
    expect(parameterValue(template, '/flask/Test/Service/LOG_LEVEL')).toBe('info');
    const secret = containerOf(template).Secrets.find((s: any) => s.Name === 'LOG_LEVEL');
    expect(JSON.stringify(secret.ValueFrom)).toContain('SettingLOGLEVEL');
  });

  test('changing a setting changes the task definition, so the tasks pick it up', () => {
    const labelOf = (value: string) => containerOf(build({ settings: { LOG_LEVEL: value } }).template).DockerLabels['cdk-flask-serverless.settings-hash'];
    expect(labelOf('info')).not.toEqual(labelOf('debug'));
    expect(labelOf('info')).toEqual(labelOf('info'));
  });

  test('existingSecrets are read from the given parameters', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const token = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Token', { parameterName: '/mine/API_TOKEN' });
    new FlaskFargateService(stack, 'Service', {
      vpc,
      image: ecs.ContainerImage.fromRegistry('app'),
      existingSecrets: { API_TOKEN: token },
    });
    const template = Template.fromStack(stack);
    const secret = containerOf(template).Secrets.find((s: any) => s.Name === 'API_TOKEN');
    expect(JSON.stringify(secret.ValueFrom)).toContain(':parameter/mine/API_TOKEN');
  });

  test('existingSecretsKey lets the task decrypt only those parameters through Parameter Store', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:ap-southeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const token = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Token', { parameterName: '/mine/API_TOKEN' });
    new FlaskFargateService(stack, 'Service', { vpc, image: ecs.ContainerImage.fromRegistry('app'), existingSecrets: { API_TOKEN: token }, existingSecretsKey: key });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: key.keyArn,
          Condition: {
            StringEquals: {
              'kms:ViaService': 'ssm.ap-southeast-1.amazonaws.com',
              'kms:EncryptionContext:PARAMETER_ARN': [Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':parameter/mine/API_TOKEN'])] })],
            },
          },
        }]),
      },
    });
  });

  test('parameterPath places every parameter under it', () => {
    const { template, service } = build({ parameterPath: '/apps/todo/' });
    expect(service.parameterPath).toBe('/apps/todo/');
    for (const parameter of Object.values(template.findResources('AWS::SSM::Parameter'))) {
      expect(parameter.Properties.Name).toMatch(/^\/apps\/todo\/[A-Z_]+$/);
    }
  });

  test('databaseEnvironmentNames renames the database variables', () => {
    const { template } = build({ databaseEnvironmentNames: { host: 'PGHOST', password: 'PGPASSWORD', sslMode: 'PGSSLMODE' } });
    const names = containerOf(template).Secrets.map((s: any) => s.Name).sort();
    expect(names).toEqual(['DB_NAME', 'DB_PORT', 'DB_USER', 'PGHOST', 'PGPASSWORD', 'PGSSLMODE', 'PORT']);
  });

  test('cpuArchitecture ARM64 runs on Graviton', () => {
    build({ cpuArchitecture: ecs.CpuArchitecture.ARM64 }).template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
  });

  test('spot runs on FARGATE_SPOT and enables the cluster capacity providers', () => {
    const { template } = build({ spot: true });
    template.hasResourceProperties('AWS::ECS::Service', {
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      LaunchType: Match.absent(),
    });
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: Match.arrayWith(['FARGATE_SPOT']),
    });
  });

  test('autoScaling tracks 60% CPU between min and max', () => {
    const { template } = build({ autoScaling: { minCapacity: 2, maxCapacity: 5 } });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 5 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
      }),
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HealthyHostCount', Threshold: 2 });
  });

  test('autoScaling adds a memory target when asked', () => {
    const { template } = build({
      autoScaling: { minCapacity: 1, maxCapacity: 3, cpuTargetUtilizationPercent: 50, memoryTargetUtilizationPercent: 70 },
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageMemoryUtilization' },
        TargetValue: 70,
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 50 }),
    });
  });

  test('enableExecuteCommand turns on ECS Exec', () => {
    build({ enableExecuteCommand: true }).template.hasResourceProperties('AWS::ECS::Service', { EnableExecuteCommand: true });
  });

  test('ECS Exec records why its task role has Resource "*" (the ssmmessages actions)', () => {
    build({ enableExecuteCommand: true }).template.hasResource('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('TaskRole') }] },
      Metadata: Match.objectLike({
        cdk_nag: { rules_to_suppress: Match.arrayWith([Match.objectLike({ id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'] })]) },
      }),
    });
  });

  test('readonlyRootFilesystem mounts a writable /tmp', () => {
    const { template } = build({ readonlyRootFilesystem: true });
    const container = containerOf(template);
    expect(container.ReadonlyRootFilesystem).toBe(true);
    expect(container.MountPoints).toEqual([{ SourceVolume: 'tmp', ContainerPath: '/tmp', ReadOnly: false }]);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Volumes: [{ Name: 'tmp' }] });
  });

  test('stopTimeout sets the container stop timeout and two thirds of it as deregistration delay', () => {
    const { template } = build({ stopTimeout: Duration.seconds(90) });
    expect(containerOf(template).StopTimeout).toBe(90);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '60' }],
    });
  });

  test('logRetention sets the log group retention', () => {
    build({ logRetention: logs.RetentionDays.ONE_YEAR }).template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('a retention under a year records why; a year or more needs no suppression', () => {
    const guardOf = (retention: logs.RetentionDays) => Object.values(build({ logRetention: retention }).template.findResources('AWS::Logs::LogGroup'))
      .map((g) => g.Metadata?.guard?.SuppressedRules ?? []);
    expect(guardOf(logs.RetentionDays.ONE_MONTH)).toEqual([['cloudwatch_log_group_retention_period_check']]);
    expect(guardOf(logs.RetentionDays.ONE_YEAR)).toEqual([[]]);
  });

  test('assignPublicIp gives the tasks public IPs', () => {
    build({ assignPublicIp: true, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }).template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) },
    });
  });

  test('containerInsights ENHANCED is passed to the cluster', () => {
    build({ containerInsights: ecs.ContainerInsights.ENHANCED }).template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }],
    });
  });

  test('containerInsights ENABLED turns it on and keeps the same alarms', () => {
    const on = build({ containerInsights: ecs.ContainerInsights.ENABLED }).template;
    on.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    expect(Object.keys(on.findResources('AWS::CloudWatch::Alarm')).sort())
      .toEqual(Object.keys(build({}).template.findResources('AWS::CloudWatch::Alarm')).sort());
  });

  test('a cluster passed in is used instead of a new one', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const cluster = new ecs.Cluster(stack, 'Shared', { vpc });
    const service = new FlaskFargateService(stack, 'Service', { vpc, cluster, image: ecs.ContainerImage.fromRegistry('app') });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.hasResourceProperties('AWS::ECS::Service', { Cluster: { Ref: Match.stringLikeRegexp('^Shared') } });
    expect(service.cluster).toBe(cluster);
  });

  test('in a VPC without private subnets with egress, the tasks and NLB use the first isolated group', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const network = new FlaskServerlessVpc(stack, 'Network', { egress: EgressMode.VPC_ENDPOINTS });
    new FlaskFargateService(stack, 'Service', { vpc: network.vpc, image: ecs.ContainerImage.fromRegistry('app') });
    const template = Template.fromStack(stack);
    const appSubnets = [{ Ref: Match.stringLikeRegexp('AppSubnet1') }, { Ref: Match.stringLikeRegexp('AppSubnet2') }];
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Subnets: appSubnets });
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ Subnets: appSubnets }) },
    });
  });

  test('an unresolved desiredCount is not validated', () => {
    expect(thrower({ desiredCount: Lazy.number({ produce: () => 3 }) })).not.toThrow();
  });
});

describe('FlaskFargateService TLS', () => {
  test('TLS is off by default: no certificate on the listener, TCP to the tasks', () => {
    const { service, template } = build();
    expect(service.tlsEnabled).toBe(false);
    expect(service.containerTls).toBe(false);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Certificates: Match.absent(), SslPolicy: Match.absent() });
  });

  describe('with tlsCertificate', () => {
    const { service, template } = build({ tlsCertificate: certificate });

    test('the listener is TLS on port 443 with the certificate and a TLS 1.2+ forward-secret policy', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        Protocol: 'TLS',
        Certificates: [{ CertificateArn: CERT_ARN }],
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06',
      });
      expect(service.listenerPort).toBe(443);
      expect(service.tlsEnabled).toBe(true);
    });

    test('the load balancer still reaches the tasks over TCP with an HTTP health check', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Protocol: 'TCP', HealthCheckProtocol: 'HTTP' });
      expect(containerOf(template).HealthCheck.Command[1]).toContain("'http://localhost:8000/health'");
      expect(service.containerTls).toBe(false);
    });

    test('without accessLogsBucket the NLB records that access logs are opt-in', () => {
      template.hasResource('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Metadata: {
          cdk_nag: { rules_to_suppress: Match.arrayWith([Match.objectLike({ id: 'AwsSolutions-ELB2', reason: Match.stringLikeRegexp('opt-in \\(accessLogsBucket\\)') })]) },
          checkov: { skip: [Match.objectLike({ id: 'CKV_AWS_91', comment: Match.stringLikeRegexp('opt-in') })] },
          guard: { SuppressedRules: ['elbv2_logging_enabled_check', 'elbv2_deletion_protection_enabled_check'] },
        },
      });
    });
  });

  test('an explicit listenerPort wins over the TLS default of 443', () => {
    const { service, template } = build({ tlsCertificate: certificate, listenerPort: 8443 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8443, Protocol: 'TLS' });
    expect(service.listenerPort).toBe(8443);
  });

  test('tlsSecurityPolicy replaces the listener policy', () => {
    build({ tlsCertificate: certificate, tlsSecurityPolicy: elbv2.SslPolicy.TLS13_13 }).template
      .hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { SslPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' });
  });

  describe('with containerTls', () => {
    const { service, template } = build({ tlsCertificate: certificate, containerTls: true });

    test('the target group speaks TLS to the container port and health-checks over HTTPS', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Protocol: 'TLS',
        Port: 8000,
        HealthCheckProtocol: 'HTTPS',
        HealthCheckPath: '/health',
        HealthCheckPort: '8000',
      });
      expect(service.containerTls).toBe(true);
    });

    test('the container health check fetches https://localhost without verifying the self-signed certificate', () => {
      const command: string = containerOf(template).HealthCheck.Command[1];
      expect(command).toContain("urlopen('https://localhost:8000/health', timeout=4, context=c)");
      expect(command).toContain('c.check_hostname = False; c.verify_mode = ssl.CERT_NONE');
      expect(command).toMatch(/\|\| exit 1$/);
    });
  });

  test('containerHealthCheckCommand still wins with containerTls', () => {
    const command = 'curl -kfs https://localhost:8000/health || exit 1';
    expect(containerOf(build({ tlsCertificate: certificate, containerTls: true, containerHealthCheckCommand: command }).template).HealthCheck.Command)
      .toEqual(['CMD-SHELL', command]);
  });

  describe('with accessLogsBucket', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const bucket = new s3.Bucket(stack, 'LogBucket', { encryption: s3.BucketEncryption.S3_MANAGED });
    new FlaskFargateService(stack, 'Service', {
      vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 }),
      image: ecs.ContainerImage.fromRegistry('app'),
      tlsCertificate: certificate,
      accessLogsBucket: bucket,
    });
    const template = Template.fromStack(stack);
    const bucketId = logicalId(template, 'AWS::S3::Bucket', {});

    test('the NLB writes access logs to the bucket', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        LoadBalancerAttributes: Match.arrayWith([
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: { Ref: bucketId } },
        ]),
      });
    });

    test('the bucket policy lets only log delivery write, only for this account, owner-controlled', () => {
      const statements = Object.values(template.findResources('AWS::S3::BucketPolicy'))[0].Properties.PolicyDocument.Statement;
      expect(statements).toHaveLength(2);
      expect(statements).toContainEqual(expect.objectContaining({
        Action: 's3:PutObject',
        Effect: 'Allow',
        Principal: { Service: 'delivery.logs.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 's3:x-amz-acl': 'bucket-owner-full-control' },
          ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:ap-southeast-1:', { Ref: 'AWS::AccountId' }, ':*']] } },
        },
      }));
      expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:GetBucketAcl', Principal: { Service: 'delivery.logs.amazonaws.com' } }));
    });

    test('the NLB is created after the bucket policy, which log delivery checks', () => {
      const policyId = logicalId(template, 'AWS::S3::BucketPolicy', {});
      template.hasResource('AWS::ElasticLoadBalancingV2::LoadBalancer', { DependsOn: Match.arrayWith([policyId]) });
    });

    test('the NLB keeps only the deletion protection suppression', () => {
      const nlb = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0];
      expect(nlb.Metadata.guard).toEqual({ SuppressedRules: ['elbv2_deletion_protection_enabled_check'] });
      // The compliance packs' deletion-protection rule is the only cdk-nag one left.
      expect(nlb.Metadata.cdk_nag.rules_to_suppress.map((r: { id: string }) => r.id)).toEqual(['NIST.800.53.R5-ELBDeletionProtectionEnabled', 'HIPAA.Security-ELBDeletionProtectionEnabled']);
      expect(nlb.Metadata.checkov).toBeUndefined();
    });
  });
});

describe('FlaskFargateService validation', () => {
  test('rejects a CPU size Fargate does not offer', () => {
    expect(thrower({ cpu: 300 })).toThrow(/service.cpu must be one of the Fargate CPU sizes 256, 512, 1024, 2048, 4096, 8192, 16384 .*got 300/);
  });

  test('rejects a memory size not allowed for the CPU, listing the valid ones', () => {
    expect(thrower({ cpu: 256, memoryLimitMiB: 4096 })).toThrow('service.memoryLimitMiB 4096 is not valid with cpu 256; Fargate accepts these memory sizes (MiB) for that CPU: 512, 1024, 2048.');
  });

  test('rejects a negative desiredCount', () => {
    expect(thrower({ desiredCount: -1 })).toThrow('service.desiredCount must be a whole number of tasks, 0 or more, got -1.');
  });

  test('rejects a fractional desiredCount', () => {
    expect(thrower({ desiredCount: 1.5 })).toThrow(/service.desiredCount must be a whole number.*got 1.5/);
  });

  test('rejects a container port out of range', () => {
    expect(thrower({ containerPort: 70000 })).toThrow('service.containerPort must be a TCP port from 1 to 65535, got 70000.');
  });

  test('rejects a listener port out of range', () => {
    expect(thrower({ listenerPort: 0 })).toThrow('service.listenerPort must be a TCP port from 1 to 65535, got 0.');
  });

  test('rejects a health check path that does not start with /', () => {
    expect(thrower({ healthCheckPath: 'health' })).toThrow(/service.healthCheckPath must start with '\/'.*got 'health'/);
  });

  test('rejects a health check path with shell metacharacters', () => {
    expect(thrower({ healthCheckPath: "/health';reboot" })).toThrow(/service.healthCheckPath must start with '\/' and contain only/);
  });

  test('rejects a health check grace period beyond 7200 s', () => {
    expect(thrower({ healthCheckGracePeriod: Duration.hours(3) })).toThrow(/service.healthCheckGracePeriod must be a whole number of seconds from 0 to 7200 .*got 3 hours/);
  });

  test('rejects a stop timeout beyond the Fargate limit of 120 s', () => {
    expect(thrower({ stopTimeout: Duration.minutes(3) })).toThrow(/service.stopTimeout must be a whole number of seconds from 2 to 120 \(the Fargate limit\), got 3 minutes/);
  });

  test('rejects a stop timeout given as a token, which cannot size the deregistration delay', () => {
    expect(thrower({ stopTimeout: Duration.seconds(Token.asNumber({ Ref: 'StopSeconds' })) })).toThrow(/service.stopTimeout must be a concrete duration/);
  });

  test('rejects ECS Exec with a read-only root file system', () => {
    expect(thrower({ enableExecuteCommand: true, readonlyRootFilesystem: true })).toThrow(/service.enableExecuteCommand needs a writable root file system/);
  });

  test('rejects desiredCount together with autoScaling', () => {
    expect(thrower({ desiredCount: 2, autoScaling: { minCapacity: 1, maxCapacity: 3 } })).toThrow(/service.desiredCount \(2\) conflicts with autoScaling/);
  });

  test('rejects an autoScaling minimum below 1', () => {
    expect(thrower({ autoScaling: { minCapacity: 0, maxCapacity: 3 } })).toThrow(/service.autoScaling.minCapacity must be a whole number, 1 or more.*got 0/);
  });

  test('rejects an autoScaling maximum below the minimum', () => {
    expect(thrower({ autoScaling: { minCapacity: 3, maxCapacity: 2 } })).toThrow('service.autoScaling.maxCapacity must be a whole number no smaller than minCapacity (3), got 2.');
  });

  test('rejects an autoScaling CPU target out of range', () => {
    expect(thrower({ autoScaling: { minCapacity: 1, maxCapacity: 2, cpuTargetUtilizationPercent: 95 } })).toThrow('service.autoScaling.cpuTargetUtilizationPercent must be from 10 to 90 percent, got 95.');
  });

  test('rejects containerInsights with a cluster passed in', () => {
    expect(() => {
      const stack = new Stack(new App(), 'Test');
      const vpc = new ec2.Vpc(stack, 'Vpc');
      new FlaskFargateService(stack, 'Service', {
        vpc,
        image: ecs.ContainerImage.fromRegistry('app'),
        cluster: new ecs.Cluster(stack, 'Shared', { vpc }),
        containerInsights: ecs.ContainerInsights.ENHANCED,
      });
    }).toThrow(/service.containerInsights applies only to the cluster this construct creates/);
  });

  test('rejects existingSecretsKey without existingSecrets', () => {
    expect(() => {
      const stack = new Stack(new App(), 'Test');
      new FlaskFargateService(stack, 'Service', {
        vpc: new ec2.Vpc(stack, 'Vpc'),
        image: ecs.ContainerImage.fromRegistry('app'),
        existingSecretsKey: new kms.Key(stack, 'Key'),
      });
    }).toThrow(/service.existingSecretsKey is set but existingSecrets is empty/);
  });

  test('rejects databaseEnvironmentNames without a database', () => {
    expect(thrower({ databaseEnvironmentNames: { host: 'PGHOST' } }, false)).toThrow(/service.databaseEnvironmentNames is set but there is no database/);
  });

  test('rejects a parameter path that does not end with /', () => {
    expect(thrower({ parameterPath: '/flask/app' })).toThrow(/service.parameterPath must start and end with '\/'.*got '\/flask\/app'/);
  });

  test('rejects a parameter path under the reserved aws prefix', () => {
    expect(thrower({ parameterPath: '/aws/app/' })).toThrow(/service.parameterPath must not start with 'aws' or 'ssm'/);
  });

  test('rejects a parameter path deeper than Parameter Store allows', () => {
    expect(thrower({ parameterPath: '/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/' })).toThrow(/service.parameterPath has more than 14 levels/);
  });

  test('rejects a parameter path too long for the parameter names to fit', () => {
    expect(thrower({ parameterPath: `/${'x'.repeat(950)}/` })).toThrow(/service.parameterPath is 952 characters long; keep it under 900/);
  });

  test('rejects an invalid environment variable name', () => {
    expect(thrower({ settings: { '1BAD': 'x' } })).toThrow(/service.settings has the environment variable name '1BAD'/);
  });

  test('rejects the same name in settings and environment', () => {
    expect(thrower({ settings: { LOG_LEVEL: 'info' }, environment: { LOG_LEVEL: 'debug' } }))
      .toThrow("service: the environment variable 'LOG_LEVEL' is set by both settings and environment; each name may be used once.");
  });

  test('rejects a setting that collides with a database variable', () => {
    expect(thrower({ generatedSecrets: ['DB_PASSWORD'] })).toThrow(/'DB_PASSWORD' is set by both databaseEnvironmentNames.password and generatedSecrets/);
  });

  test('rejects PORT, which the container port sets', () => {
    expect(thrower({ environment: { PORT: '9000' } })).toThrow(/'PORT' is set by both the container port and environment/);
  });

  test('rejects an empty setting', () => {
    expect(thrower({ settings: { FEATURE_FLAG: '' } })).toThrow(/service.settings.FEATURE_FLAG is empty; Parameter Store does not store empty values/);
  });
  test('rejects containerTls without tlsCertificate', () => {
    expect(thrower({ containerTls: true })).toThrow('service.containerTls needs service.tlsCertificate: the load balancer can only speak TLS to the tasks behind a TLS listener; pass a certificate or turn containerTls off.');
  });

  test('rejects accessLogsBucket without tlsCertificate, since NLBs log TLS listeners only', () => {
    const bucket = s3.Bucket.fromBucketName(new Stack(), 'Logs', 'my-logs');
    expect(thrower({ accessLogsBucket: bucket })).toThrow(/service.accessLogsBucket needs service.tlsCertificate: Network Load Balancers write access logs for TLS listeners only/);
  });

  test('rejects tlsSecurityPolicy without tlsCertificate', () => {
    expect(thrower({ tlsSecurityPolicy: elbv2.SslPolicy.TLS13_13 })).toThrow('service.tlsSecurityPolicy (ELBSecurityPolicy-TLS13-1-3-2021-06) applies only with service.tlsCertificate; pass a certificate or remove tlsSecurityPolicy.');
  });
});
