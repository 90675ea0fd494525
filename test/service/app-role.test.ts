import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AuroraServerlessV2Db } from '../../src/database';
import { IFlaskDatabase } from '../../src/database/flask-database';
import { FlaskFargateService, FlaskFargateServiceProps } from '../../src/service';

/** A database the library did not create, with an app role. */
function databaseWithAppRole(stack: Stack, vpc: ec2.IVpc, appRole = true): IFlaskDatabase {
  const securityGroup = new ec2.SecurityGroup(stack, 'DbSecurityGroup', { vpc, allowAllOutbound: false });
  return {
    endpointAddress: 'db.example.internal',
    port: 5432,
    databaseName: 'app',
    username: 'admin_user',
    secret: new secretsmanager.Secret(stack, 'DbSecret'),
    connections: new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(5432) }),
    appUsername: appRole ? 'flask_app' : undefined,
    clusterResourceId: appRole ? 'cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ' : undefined,
  };
}

type Built = { service: FlaskFargateService; template: Template; stack: Stack };

function build(overrides: Partial<FlaskFargateServiceProps> = {}, appRole = true): Built {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const service = new FlaskFargateService(stack, 'Service', {
    vpc,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    database: databaseWithAppRole(stack, vpc, appRole),
    settings: { FEATURE_FLAG: 'on' },
    generatedSecrets: ['JWT_SECRET'],
    ...overrides,
  });
  return { service, stack, template: Template.fromStack(stack) };
}

function containers(template: Template): any[] {
  return Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions;
}

function named(template: Template, name: string): any {
  const found = containers(template).find((c) => c.Name === name);
  expect(found).toBeDefined();
  return found;
}

/** Each container secret's name → the value of its String parameter, or `secret:<field>` for a Secrets Manager field. */
function secretValues(template: Template, container: any): Record<string, string> {
  const parameters = template.findResources('AWS::SSM::Parameter');
  const out: Record<string, string> = {};
  for (const s of container.Secrets ?? []) {
    const from = JSON.stringify(s.ValueFrom);
    const field = /:(\w+)::"\]\]\}$/.exec(from);
    const ref = /"Ref":"([A-Za-z0-9]+)"\}\]\]\}$/.exec(from);
    if (field) out[s.Name] = `secret:${field[1]}`;
    else if (ref && parameters[ref[1]]) out[s.Name] = parameters[ref[1]].Properties.Value;
    else out[s.Name] = 'other';
  }
  return out;
}

describe('the app connects as its own database role with IAM authentication', () => {
  const { template } = build();

  test('the admin step is a non-essential container that runs python -m app.app_role before the app', () => {
    expect(containers(template).map((c) => c.Name)).toEqual(['App', 'AppRole']);
    const step = named(template, 'AppRole');
    expect(step.Essential).toBe(false);
    // The reference image's ENTRYPOINT hands its arguments to gunicorn: the step replaces it.
    expect(step.EntryPoint).toEqual(['python', '-m', 'app.app_role']);
    expect(step.Command).toBeUndefined();
    expect(named(template, 'App').Essential).toBe(true);
    expect(named(template, 'App').DependsOn).toEqual([{ ContainerName: 'AppRole', Condition: 'SUCCESS' }]);
  });

  test('the app container gets DB_USER = the app role, DB_IAM_AUTH=1 and DB_SCHEMA, and no password at all', () => {
    const env = secretValues(template, named(template, 'App'));
    expect(env).toMatchObject({ DB_USER: 'flask_app', DB_IAM_AUTH: '1', DB_SCHEMA: 'app', DB_HOST: 'db.example.internal', DB_SSLMODE: 'require' });
    expect(Object.keys(env)).not.toContain('DB_PASSWORD');
    expect(Object.values(env).filter((v) => v.startsWith('secret:'))).toEqual([]);
    expect(JSON.stringify(named(template, 'App'))).not.toContain('secretsmanager');
  });

  test('only the admin step receives the master secret, with the database settings and nothing of the app', () => {
    const env = secretValues(template, named(template, 'AppRole'));
    expect(env).toEqual({
      DB_HOST: 'db.example.internal',
      DB_PORT: '5432',
      DB_NAME: 'app',
      DB_SSLMODE: 'require',
      DB_USER: 'flask_app',
      DB_IAM_AUTH: '1',
      DB_SCHEMA: 'app',
      DB_ADMIN_USER: 'secret:username',
      DB_ADMIN_PASSWORD: 'secret:password',
    });
  });

  test('the admin step logs to the service log group under its own stream prefix', () => {
    const app = named(template, 'App').LogConfiguration.Options;
    const step = named(template, 'AppRole').LogConfiguration.Options;
    expect(step['awslogs-group']).toEqual(app['awslogs-group']);
    expect(step['awslogs-stream-prefix']).toBe('app-role');
    expect(step.mode).toBe('non-blocking');
  });

  test('the admin step shares the task\'s 0.25 vCPU and 0.5 GB: no CPU or memory of its own, the app keeps the task\'s memory', () => {
    const step = named(template, 'AppRole');
    expect(step.Cpu).toBeUndefined();
    expect(step.Memory).toBeUndefined();
    expect(step.MemoryReservation).toBeUndefined();
    expect(named(template, 'App').Memory).toBe(512);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '256', Memory: '512' });
  });

  test('a stopped admin step gets 10 s; the app keeps its 30 s for requests in flight', () => {
    expect(named(template, 'AppRole').StopTimeout).toBe(10);
    expect(named(template, 'App').StopTimeout).toBe(30);
  });

  test('the task role may connect as the app role only (rds-db:connect on that one database user)', () => {
    const taskRoleId = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('ServiceTaskDefinitionTaskRole'))!;
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(taskRoleId));
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Action: 'rds-db:connect',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':rds-db:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ/flask_app']] },
    }]);
  });

  test('the grace period covers the admin step: 180 s by default, an explicit value wins', () => {
    template.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 180 });
    build({ healthCheckGracePeriod: Duration.seconds(90) }).template
      .hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 90 });
  });

  test('appRoleCommand replaces the admin step\'s command', () => {
    const { template: custom } = build({ appRoleCommand: ['/app/bin/create-role'] });
    expect(named(custom, 'AppRole').EntryPoint).toEqual(['/app/bin/create-role']);
  });

  test('with a read-only root file system the admin step gets the writable /tmp too', () => {
    const { template: ro } = build({ readonlyRootFilesystem: true });
    expect(named(ro, 'AppRole').ReadonlyRootFilesystem).toBe(true);
    expect(named(ro, 'AppRole').MountPoints).toEqual([{ SourceVolume: 'tmp', ContainerPath: '/tmp', ReadOnly: false }]);
  });

  test('the service exposes the admin step and the user the app connects as', () => {
    const { service } = build();
    expect(service.appRoleContainer?.containerName).toBe('AppRole');
    expect(service.databaseUser).toBe('flask_app');
  });
});

describe('AuroraServerlessV2Db gives the service its app role by default', () => {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const database = new AuroraServerlessV2Db(stack, 'Db', { vpc });
  new FlaskFargateService(stack, 'Service', { vpc, database, image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim') });
  const template = Template.fromStack(stack);

  test('flask_app on the cluster\'s own resource id', () => {
    const clusterId = Object.keys(template.findResources('AWS::RDS::DBCluster'))[0];
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Effect: 'Allow',
          Action: 'rds-db:connect',
          Resource: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [clusterId, 'DBClusterResourceId'] }, '/flask_app'])] },
        }],
      },
    });
    expect(secretValues(template, named(template, 'App')).DB_USER).toBe('flask_app');
  });
});

describe('without the app role (databaseAppRole false, or a database without appUsername)', () => {
  test.each([
    ['databaseAppRole: false', build({ databaseAppRole: false }).template],
    ['no appUsername', build({}, false).template],
  ])('%s: one container, connecting as the master user with DB_PASSWORD', (_name, template) => {
    expect(containers(template).map((c) => c.Name)).toEqual(['App']);
    const env = secretValues(template, named(template, 'App'));
    expect(env).toMatchObject({ DB_USER: 'admin_user', DB_PASSWORD: 'secret:password' });
    expect(env.DB_IAM_AUTH).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toContain('rds-db:connect');
    template.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 120 });
  });
});

describe('app-role options are rejected where they cannot apply', () => {
  test('databaseAppRole true with a database without appUsername', () => {
    expect(() => build({ databaseAppRole: true }, false)).toThrow(/service.databaseAppRole is true, but the database has no appUsername/);
  });

  test('appRoleCommand without the app role', () => {
    expect(() => build({ appRoleCommand: ['x'] }, false)).toThrow(/service.appRoleCommand is set, but the service does not connect as the database's app role/);
  });

  test('an empty appRoleCommand', () => {
    expect(() => build({ appRoleCommand: [] })).toThrow(/service.appRoleCommand is empty/);
  });

  test('a database with appUsername but no clusterResourceId', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const database = { ...databaseWithAppRole(stack, vpc), clusterResourceId: undefined };
    expect(() => new FlaskFargateService(stack, 'Service', { vpc, database, image: ecs.ContainerImage.fromRegistry('python:3.12-slim') }))
      .toThrow(/has an appUsername but no clusterResourceId/);
  });

  test('a setting named like an app-role variable', () => {
    expect(() => build({ settings: { DB_SCHEMA: 'other' } })).toThrow(/'DB_SCHEMA' is set by both databaseAppRole and settings/);
  });
});
