import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { code, lambdaStack } from './fixture';
import { AuroraServerlessV2Db } from '../../src/database';
import { FlaskLambdaService, FlaskLambdaServiceOptions } from '../../src/function';

function template(options: FlaskLambdaServiceOptions = {}) {
  const built = lambdaStack(options);
  return { ...built, t: Template.fromStack(built.stack) };
}

function fnProps(t: Template, handler: string): any {
  const fns = t.findResources('AWS::Lambda::Function', { Properties: { ImageConfig: { Command: [handler] } } });
  const ids = Object.keys(fns);
  expect(ids).toHaveLength(1);
  return fns[ids[0]].Properties;
}

describe('the serving function', () => {
  test('runs the image with the runtime interface client and the serving handler, 1024 MiB, 25 s, x86_64', () => {
    const { t } = template();
    const p = fnProps(t, 'app.lambda_handler.handler');
    expect(p.ImageConfig.EntryPoint).toEqual(['python3', '-m', 'awslambdaric']);
    expect(p.PackageType).toBe('Image');
    expect(p.MemorySize).toBe(1024);
    expect(p.Timeout).toBe(25);
    expect(p.Architectures).toEqual(['x86_64']);
  });

  test('gets the database contract with IAM authentication as the app role, not the master user', () => {
    const { t, stack } = template();
    const env = stack.resolve(fnProps(t, 'app.lambda_handler.handler').Environment.Variables);
    expect(env.DB_HOST).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DbCluster/), 'Endpoint.Address'] });
    expect(env.DB_USER).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/SettingDBUSER/), 'Value'] });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask/Fn/Service/DB_USER', Value: 'flask_app' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask/Fn/Service/DB_IAM_AUTH', Value: '1' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask/Fn/Service/DB_SSLMODE', Value: 'require' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask/Fn/Service/DB_PORT', Value: '5432' });
    expect(env.DB_PASSWORD).toBeUndefined();
    expect(env.DB_ADMIN_PASSWORD).toBeUndefined();
    expect(env.DB_ADMIN_USER).toBeUndefined();
  });

  test('takes plain settings from their Parameter Store parameters as CloudFormation writes them (no dynamic reference, which the change set would read before the parameter exists)', () => {
    const { t } = template({ settings: { FEATURE: 'on' } });
    const env = fnProps(t, 'app.lambda_handler.handler').Environment.Variables;
    expect(env.FEATURE).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/SettingFEATURE/), 'Value'] });
    expect(JSON.stringify(env)).not.toContain('resolve:ssm');
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/flask/Fn/Service/FEATURE', Value: 'on', Type: 'String' });
  });

  test('is updated when a plain setting changes (its description carries their hash)', () => {
    const a = fnProps(template({ settings: { FEATURE: 'on' } }).t, 'app.lambda_handler.handler').Description;
    const b = fnProps(template({ settings: { FEATURE: 'off' } }).t, 'app.lambda_handler.handler').Description;
    expect(a).not.toEqual(b);
  });

  test('waits for the parameters it takes its settings from (each is a GetAtt of one, which orders the deploy)', () => {
    const { t } = template();
    const env = fnProps(t, 'app.lambda_handler.handler').Environment.Variables;
    const referenced = Object.values<any>(env).filter((v) => v?.['Fn::GetAtt']?.[1] === 'Value').map((v) => v['Fn::GetAtt'][0]);
    const literal = Object.entries(t.findResources('AWS::SSM::Parameter')).filter(([, r]) => typeof r.Properties.Value === 'string').map(([id]) => id);
    expect(literal.length).toBeGreaterThan(0);
    expect(referenced.sort()).toEqual(literal.sort());
  });

  test('gets JWT_SECRET from a generated Secrets Manager secret encrypted with the key, by reference only', () => {
    const { t, stack, service } = template();
    const env = stack.resolve(fnProps(t, 'app.lambda_handler.handler').Environment.Variables);
    expect(JSON.stringify(env.JWT_SECRET)).toContain('{{resolve:secretsmanager:');
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }),
      KmsKeyId: stack.resolve(service.encryptionKey.keyArn),
    });
  });

  test('encrypts its environment with the key, and its role may decrypt it only through Lambda for this function', () => {
    const { t, stack, service } = template();
    const p = fnProps(t, 'app.lambda_handler.handler');
    expect(p.KmsKeyArn).toEqual(stack.resolve(service.encryptionKey.keyArn));
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [stack.resolve((service.function.role!.node.defaultChild as any).ref)],
      PolicyDocument: {
        Statement: [{
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: stack.resolve(service.encryptionKey.keyArn),
          Condition: {
            StringEquals: { 'kms:ViaService': 'lambda.ap-southeast-1.amazonaws.com' },
            ArnEquals: { 'kms:EncryptionContext:aws:lambda:FunctionArn': stack.resolve(service.function.functionArn) },
          },
        }],
      },
    });
  });

  test('may connect to the database as the app role only (rds-db:connect on flask_app)', () => {
    const { t, stack, service } = template();
    const policy = Object.values(t.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [stack.resolve((service.function.role!.node.defaultChild as any).ref)] },
    })).map((r) => JSON.stringify(r.Properties.PolicyDocument)).join();
    expect(policy).toContain('rds-db:connect');
    expect(policy).toContain('/flask_app');
    expect(policy).not.toContain('secretsmanager:GetSecretValue');
  });

  test('has a log group of its own, encrypted, kept one month', () => {
    const { t, stack, service } = template();
    const p = fnProps(t, 'app.lambda_handler.handler');
    expect(p.LoggingConfig.LogGroup).toEqual(stack.resolve(service.logGroup.logGroupName));
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: stack.resolve(service.encryptionKey.keyArn) });
  });

  test('sends only to the database port, and the database admits it', () => {
    const { t, stack, service, database } = template();
    const sg = stack.resolve(service.connections.securityGroups[0].securityGroupId);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Flask functions: PostgreSQL to the database only',
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
    const egress = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress')).filter((r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(sg));
    expect(egress.map((r) => [r.Properties.FromPort, r.Properties.ToPort])).toEqual([[5432, 5432]]);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: sg,
      GroupId: stack.resolve(database.connections.securityGroups[0].securityGroupId),
      FromPort: 5432,
    });
  });

  test('reserved concurrency is optional', () => {
    expect(fnProps(template().t, 'app.lambda_handler.handler').ReservedConcurrentExecutions).toBeUndefined();
    expect(fnProps(template({ reservedConcurrentExecutions: 5 }).t, 'app.lambda_handler.handler').ReservedConcurrentExecutions).toBe(5);
  });

  test('an existing Secrets Manager secret is passed by reference', () => {
    const app = new App();
    const stack0 = new Stack(app, 'Other');
    const secret = secretsmanager.Secret.fromSecretNameV2(stack0, 'S', 'my-api-token');
    const { t } = template({ existingSecrets: { API_TOKEN: secret } });
    expect(JSON.stringify(fnProps(t, 'app.lambda_handler.handler').Environment.Variables.API_TOKEN)).toContain('{{resolve:secretsmanager:');
  });
});

describe('deploy-time migrations', () => {
  test('a second function from the same image runs the migration handler with the master credentials by reference', () => {
    const { t, stack } = template();
    const serve = fnProps(t, 'app.lambda_handler.handler');
    const migrate = fnProps(t, 'app.lambda_handler.migrate');
    expect(migrate.Code).toEqual(serve.Code);
    expect(migrate.Timeout).toBe(300);
    const env = stack.resolve(migrate.Environment.Variables);
    expect(env.DB_ADMIN_USER).toBe('flask');
    expect(JSON.stringify(env.DB_ADMIN_PASSWORD)).toMatch(/\{\{resolve:secretsmanager:.*:SecretString:password::\}\}/);
    expect(env.DB_USER).toEqual(serve.Environment.Variables.DB_USER);
  });

  test('a trigger invokes the migration function after the writer and before the serving function, on every change of it', () => {
    const { t } = template();
    const triggers = t.findResources('Custom::Trigger');
    const [triggerId] = Object.keys(triggers);
    const trigger = triggers[triggerId];
    expect(trigger.Properties.ExecuteOnHandlerChange).toBe(true);
    expect(trigger.Properties.InvocationType).toBe('RequestResponse');
    expect(Number(trigger.Properties.Timeout)).toBe(360_000);
    expect(trigger.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DbClusterWriter/)]));
    const serve = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { ImageConfig: { Command: ['app.lambda_handler.handler'] } } }))[0];
    expect(serve.DependsOn).toContain(triggerId);
  });

  test('the migration timeout is validated against the trigger provider\'s 15 minutes', () => {
    expect(() => lambdaStack({ migrationTimeout: Duration.minutes(15) })).toThrow(/function\.migrationTimeout must be a whole number of seconds from 60 to 840/);
  });
});

describe('validation', () => {
  test.each<[string, FlaskLambdaServiceOptions, RegExp]>([
    ['a memorySize under 128', { memorySize: 64 }, /function\.memorySize must be a whole number of MiB from 128 to 10240/],
    ['a timeout over 15 minutes', { timeout: Duration.minutes(16) }, /function\.timeout must be a whole number of seconds from 1 to 900/],
    ['reservedConcurrentExecutions 0', { reservedConcurrentExecutions: 0 }, /function\.reservedConcurrentExecutions must be a whole number, 1 or more/],
    ['a handler that is a file', { handler: 'app/handler.py' }, /function\.handler must be a Python 'module\.function'/],
    ['an empty entryPoint', { entryPoint: [] }, /function\.entryPoint is empty/],
    ['a parameterPath without a leading slash', { parameterPath: 'flask/' }, /function\.parameterPath must start and end with '\/'/],
    ['a reserved name', { environment: { AWS_REGION: 'x' } }, /function\.environment sets 'AWS_REGION', which Lambda reserves/],
    ['a name used twice', { settings: { DB_HOST: 'x' } }, /'DB_HOST' is set by both the database and settings/],
    ['an empty setting', { settings: { EMPTY: '' } }, /function\.settings\.EMPTY is empty/],
  ])('%s is rejected, naming the prop', (_name, options, message) => {
    expect(() => lambdaStack(options)).toThrow(message);
  });

  test('rejects an image built for the other architecture, naming the prop', () => {
    expect(() => lambdaStack({ code: code(Platform.LINUX_ARM64) } as any)).toThrow(/function\.code is built for linux\/arm64 but the default function\.architecture \(X86_64\) runs linux\/amd64/);
    expect(() => lambdaStack({ code: code(Platform.LINUX_ARM64), architecture: lambda.Architecture.ARM_64 } as any)).not.toThrow();
  });

  test('rejects a database without IAM authentication', () => {
    const stack = new Stack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const database = new AuroraServerlessV2Db(stack, 'Db', { vpc, iamAuthentication: false });
    expect(() => new FlaskLambdaService(stack, 'Fn', { code: code(), database, vpc })).toThrow(/the database has no appUsername/);
  });
});
