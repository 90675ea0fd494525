import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AuroraServerlessV2Db, AuroraServerlessV2DbOptions } from '../../src/database';

interface Built {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly db: AuroraServerlessV2Db;
  readonly template: Template;
}

function newVpc(stack: Stack, maxAzs = 2): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'App', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
}

function build(options: AuroraServerlessV2DbOptions = {}, vpcSubnets?: ec2.SubnetSelection): Built {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const vpc = newVpc(stack);
  const db = new AuroraServerlessV2Db(stack, 'Db', { vpc, vpcSubnets, ...options });
  return { stack, vpc, db, template: Template.fromStack(stack) };
}

function synth(options: AuroraServerlessV2DbOptions = {}): Template {
  return build(options).template;
}

function attempt(options: AuroraServerlessV2DbOptions, maxAzs = 2, vpcSubnets?: ec2.SubnetSelection): () => void {
  return () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    new AuroraServerlessV2Db(stack, 'Db', { vpc: newVpc(stack, maxAzs), vpcSubnets, ...options });
  };
}

function onlyResource(template: Template, type: string): { logicalId: string; resource: any } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return { logicalId: ids[0], resource: found[ids[0]] };
}

function nagSuppressionIds(resource: any): string[] {
  return (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((s: { id: string }) => s.id);
}

function alarmOn(template: Template, metricName: string): any {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a: any) => a.Properties.MetricName === metricName);
  expect(alarms).toHaveLength(1);
  return (alarms[0] as any).Properties;
}

describe('AuroraServerlessV2Db defaults', () => {
  const { db, stack, vpc, template } = build();
  const cluster = onlyResource(template, 'AWS::RDS::DBCluster');
  const key = onlyResource(template, 'AWS::KMS::Key');

  test('auto-pause after 5 minutes between 0 and 1 ACU', () => {
    expect(cluster.resource.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0, MaxCapacity: 1, SecondsUntilAutoPause: 300 });
  });

  test('one Serverless v2 writer and no reader', () => {
    template.resourceCountIs('AWS::RDS::DBInstance', 1);
    template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', PromotionTier: 0 });
  });

  test('runs Aurora PostgreSQL 16.8, the LTS minor of 16 (offered for new clusters until February 2029)', () => {
    expect(cluster.resource.Properties).toMatchObject({ Engine: 'aurora-postgresql', EngineVersion: '16.8' });
    // The LTS minors of the Aurora PostgreSQL release calendar; any other minor is offered for
    // new clusters about a year only. A new default must be one of these and support auto-pause.
    const ltsMinors = ['16.8', '17.7'];
    expect(ltsMinors).toContain(cluster.resource.Properties.EngineVersion);
  });

  test('storage is encrypted with a new customer-managed key that rotates', () => {
    expect(cluster.resource.Properties.StorageEncrypted).toBe(true);
    expect(cluster.resource.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key.logicalId, 'Arn'] });
    expect(key.resource.Properties.EnableKeyRotation).toBe(true);
  });

  test('the key allows grants only for AWS services', () => {
    expect(key.resource.Properties.KeyPolicy.Statement).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  test('the key lets CloudWatch Logs of this region encrypt the log group', () => {
    expect(key.resource.Properties.KeyPolicy.Statement).toContainEqual(expect.objectContaining({
      Effect: 'Allow',
      Principal: { Service: 'logs.ap-southeast-1.amazonaws.com' },
    }));
  });

  test('the writer is not publicly accessible', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', { PubliclyAccessible: false });
  });

  test('lives in the isolated subnets', () => {
    const isolated = vpc.isolatedSubnets.map((s) => stack.resolve(s.subnetId));
    const group = onlyResource(template, 'AWS::RDS::DBSubnetGroup');
    expect(group.resource.Properties.SubnetIds).toEqual(isolated);
  });

  test('TLS is enforced by the cluster parameter group', () => {
    const params = onlyResource(template, 'AWS::RDS::DBClusterParameterGroup');
    expect(params.resource.Properties).toMatchObject({ Family: 'aurora-postgresql16', Parameters: { 'rds.force_ssl': '1' } });
    expect(cluster.resource.Properties.DBClusterParameterGroupName).toEqual({ Ref: params.logicalId });
  });

  test('the master password is generated in Secrets Manager, encrypted with the key, and never in the template', () => {
    const secret = onlyResource(template, 'AWS::SecretsManager::Secret');
    expect(secret.resource.Properties.GenerateSecretString).toMatchObject({ GenerateStringKey: 'password', SecretStringTemplate: '{"username":"flask"}' });
    expect(secret.resource.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key.logicalId, 'Arn'] });
    expect(JSON.stringify(cluster.resource.Properties.MasterUserPassword)).toContain('{{resolve:secretsmanager:');
  });

  test('the master user is flask and the database is app', () => {
    expect(cluster.resource.Properties).toMatchObject({ MasterUsername: 'flask', DatabaseName: 'app' });
    expect(db.username).toBe('flask');
    expect(db.databaseName).toBe('app');
  });

  test('IAM database authentication is on', () => {
    expect(cluster.resource.Properties.EnableIAMDatabaseAuthentication).toBe(true);
  });

  test('deletion protection is on and deleting the stack keeps a snapshot', () => {
    expect(cluster.resource.Properties.DeletionProtection).toBe(true);
    expect(cluster.resource.DeletionPolicy).toBe('Snapshot');
    expect(cluster.resource.UpdateReplacePolicy).toBe('Snapshot');
  });

  test('the key and the log group outlive the cluster so that the snapshot stays readable', () => {
    expect(key.resource.DeletionPolicy).toBe('Retain');
    expect(onlyResource(template, 'AWS::Logs::LogGroup').resource.DeletionPolicy).toBe('Retain');
  });

  test('backups are kept 7 days and tags are copied to snapshots', () => {
    expect(cluster.resource.Properties).toMatchObject({ BackupRetentionPeriod: 7, CopyTagsToSnapshot: true });
  });

  test('the postgresql log goes to an encrypted log group kept one month', () => {
    expect(cluster.resource.Properties.EnableCloudwatchLogsExports).toEqual(['postgresql']);
    const group = onlyResource(template, 'AWS::Logs::LogGroup');
    expect(group.resource.Properties).toEqual({
      LogGroupName: { 'Fn::Join': ['', ['/aws/rds/cluster/', { Ref: cluster.logicalId }, '/postgresql']] },
      RetentionInDays: 30,
      KmsKeyId: { 'Fn::GetAtt': [key.logicalId, 'Arn'] },
    });
  });

  test('the log group exists before the writer can publish to it', () => {
    const group = onlyResource(template, 'AWS::Logs::LogGroup');
    const writer = onlyResource(template, 'AWS::RDS::DBInstance');
    expect(writer.resource.DependsOn).toContain(group.logicalId);
  });

  test('no log retention custom resource is needed', () => {
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  test('Enhanced Monitoring every 60 seconds', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 60, MonitoringRoleArn: Match.anyValue() });
  });

  test('Performance Insights is off', () => {
    expect(cluster.resource.Properties.PerformanceInsightsEnabled).toBe(false);
  });

  test('minor version upgrades are automatic', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', { AutoMinorVersionUpgrade: true });
  });

  test('listens on 5432', () => {
    expect(cluster.resource.Properties.Port).toBe(5432);
    expect(db.port).toBe(5432);
  });

  test('the security group admits nothing and sends nothing until connections are granted', () => {
    const sg = Object.values(template.findResources('AWS::EC2::SecurityGroup'))
      .find((g: any) => g.Properties.GroupDescription === 'Aurora PostgreSQL cluster') as any;
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
  });

  test('exposes the writer endpoint, the secret and the connections', () => {
    expect(stack.resolve(db.endpointAddress)).toEqual({ 'Fn::GetAtt': [cluster.logicalId, 'Endpoint.Address'] });
    expect(db.secret).toBe(db.cluster.secret);
    expect(db.connections).toBe(db.cluster.connections);
    expect(db.encryptionKey).toBeInstanceOf(kms.Key);
  });

  test('four alarms, none with actions', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    expect(db.alarms).toHaveLength(4);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect((alarm as any).Properties.AlarmActions).toBeUndefined();
    }
  });

  test('alarms treat missing data as not breaching, since a paused database sends none', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect((alarm as any).Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  test('capacity alarm at 90% of the maximum ACU', () => {
    expect(alarmOn(template, 'ACUUtilization')).toMatchObject({
      Namespace: 'AWS/RDS',
      Threshold: 90,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'DBClusterIdentifier', Value: { Ref: cluster.logicalId } }],
    });
  });

  test('CPU alarm at 90%', () => {
    expect(alarmOn(template, 'CPUUtilization')).toMatchObject({ Threshold: 90, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  test('connections alarm at 80% of the 189 connections of 1 ACU', () => {
    expect(db.estimatedMaxConnections).toBe(189);
    expect(alarmOn(template, 'DatabaseConnections')).toMatchObject({ Threshold: 151, Statistic: 'Maximum' });
  });

  test('freeable memory alarm under 10% of the memory of 1 ACU', () => {
    expect(alarmOn(template, 'FreeableMemory')).toMatchObject({
      Threshold: Math.floor(2 * 1024 ** 3 * 0.1),
      ComparisonOperator: 'LessThanThreshold',
      Statistic: 'Minimum',
    });
  });

  test('cdk-nag: the unrotated secret carries its reason; the default port needs none (RDS11 flags Aurora on 3306 only)', () => {
    expect(nagSuppressionIds(cluster.resource)).not.toContain('AwsSolutions-RDS11');
    expect(nagSuppressionIds(onlyResource(template, 'AWS::SecretsManager::Secret').resource)).toContain('AwsSolutions-SMG4');
  });

  test('metric helpers read the cluster\'s AWS/RDS metrics over 5 minutes', () => {
    const metrics = {
      ACUUtilization: db.metricACUUtilization(),
      ServerlessDatabaseCapacity: db.metricServerlessDatabaseCapacity(),
      CPUUtilization: db.metricCPUUtilization(),
      DatabaseConnections: db.metricDatabaseConnections(),
      FreeableMemory: db.metricFreeableMemory(),
    };
    for (const [name, metric] of Object.entries(metrics)) {
      expect(metric.metricName).toBe(name);
      expect(metric.namespace).toBe('AWS/RDS');
      expect(metric.period.toMinutes()).toBe(5);
      expect(stack.resolve(metric.dimensions)).toEqual({ DBClusterIdentifier: { Ref: cluster.logicalId } });
    }
  });

  test('metric helpers take overrides', () => {
    expect(db.metricCPUUtilization({ period: Duration.minutes(1), statistic: 'Maximum' }).period.toMinutes()).toBe(1);
  });

  test('grantConnect lets the grantee connect as the master user with an IAM token', () => {
    const statement = grantConnectStatement((fresh, role) => fresh.grantConnect(role));
    expect(statement.Action).toBe('rds-db:connect');
    expect(JSON.stringify(statement.Resource)).toContain(':dbuser:');
    expect(JSON.stringify(statement.Resource)).toContain('/flask');
  });
});

/** The policy statement a grant on a database that was not synthesized yet produces. */
function grantConnectStatement(grant: (db: AuroraServerlessV2Db, role: iam.Role) => void): any {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const db = new AuroraServerlessV2Db(stack, 'Db', { vpc: newVpc(stack) });
  const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  grant(db, role);
  const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
  expect(policies).toHaveLength(1);
  return (policies[0] as any).Properties.PolicyDocument.Statement[0];
}

describe('AuroraServerlessV2Db options', () => {
  test('auto-pause off keeps a 0.5 ACU floor and no pause timer', () => {
    synth({ autoPause: false }).hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 1, SecondsUntilAutoPause: Match.absent() },
    });
  });

  test('auto-pause off with a configured capacity range', () => {
    synth({ autoPause: false, minCapacity: 2, maxCapacity: 8 }).hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 2, MaxCapacity: 8, SecondsUntilAutoPause: Match.absent() },
    });
  });

  test('minCapacity 0.5 is accepted with auto-pause, which still synthesizes MinCapacity 0', () => {
    synth({ minCapacity: 0.5 }).hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, SecondsUntilAutoPause: 300 },
    });
  });

  test('autoPauseAfter sets SecondsUntilAutoPause', () => {
    synth({ autoPauseAfter: Duration.hours(1) }).hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, SecondsUntilAutoPause: 3600 },
    });
  });

  test('maxCapacity 4 raises the capacity, connections and memory thresholds', () => {
    const { db, template } = build({ maxCapacity: 4 });
    template.hasResourceProperties('AWS::RDS::DBCluster', { ServerlessV2ScalingConfiguration: { MaxCapacity: 4 } });
    expect(db.estimatedMaxConnections).toBe(823);
    expect(alarmOn(template, 'DatabaseConnections').Threshold).toBe(658);
    expect(alarmOn(template, 'FreeableMemory').Threshold).toBe(Math.floor(8 * 1024 ** 3 * 0.1));
  });

  test('with a 0.5 ACU minimum Aurora caps max_connections at 2000', () => {
    expect(build({ maxCapacity: 16 }).db.estimatedMaxConnections).toBe(2000);
  });

  test('with a 1 ACU minimum max_connections follows the maximum', () => {
    expect(build({ autoPause: false, minCapacity: 1, maxCapacity: 16 }).db.estimatedMaxConnections).toBe(3360);
  });

  test('between published points max_connections is interpolated', () => {
    expect(build({ maxCapacity: 2 }).db.estimatedMaxConnections).toBe(400);
  });

  test('engineVersion 17 is used and its parameter group family follows', () => {
    const template = synth({ engineVersion: rds.AuroraPostgresEngineVersion.VER_17_4 });
    template.hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: '17.4' });
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Family: 'aurora-postgresql17' });
  });

  test('an engine without auto-pause is accepted when auto-pause is off', () => {
    synth({ autoPause: false, engineVersion: rds.AuroraPostgresEngineVersion.VER_15_4 })
      .hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: '15.4', ServerlessV2ScalingConfiguration: { MinCapacity: 0.5 } });
  });

  test('the first auto-pause version of a major is accepted', () => {
    synth({ engineVersion: rds.AuroraPostgresEngineVersion.VER_14_12 })
      .hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: '14.12', ServerlessV2ScalingConfiguration: { MinCapacity: 0 } });
  });

  test('databaseName and username are configurable', () => {
    const { db, template } = build({ databaseName: 'todos', username: 'todo_app' });
    template.hasResourceProperties('AWS::RDS::DBCluster', { DatabaseName: 'todos', MasterUsername: 'todo_app' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { SecretStringTemplate: '{"username":"todo_app"}' } });
    expect(db.databaseName).toBe('todos');
    expect(db.username).toBe('todo_app');
  });

  test('a non-default port is used', () => {
    const { db, template } = build({ port: 6543 });
    const cluster = onlyResource(template, 'AWS::RDS::DBCluster');
    expect(cluster.resource.Properties.Port).toBe(6543);
    expect(nagSuppressionIds(cluster.resource)).not.toContain('AwsSolutions-RDS11');
    expect(db.port).toBe(6543);
  });

  test('backupRetention sets the backup period', () => {
    synth({ backupRetention: Duration.days(14) }).hasResourceProperties('AWS::RDS::DBCluster', { BackupRetentionPeriod: 14 });
  });

  test('backup and maintenance windows are passed through', () => {
    const template = synth({ preferredBackupWindow: '17:00-17:30', preferredMaintenanceWindow: 'sun:18:00-sun:18:30' });
    template.hasResourceProperties('AWS::RDS::DBCluster', { PreferredBackupWindow: '17:00-17:30', PreferredMaintenanceWindow: 'sun:18:00-sun:18:30' });
  });

  test('a backup window across midnight next to a maintenance window is accepted', () => {
    synth({ preferredBackupWindow: '23:45-00:15', preferredMaintenanceWindow: 'mon:00:15-mon:00:45' })
      .hasResourceProperties('AWS::RDS::DBCluster', { PreferredBackupWindow: '23:45-00:15' });
  });

  test('deletion protection can be turned off', () => {
    synth({ deletionProtection: false }).hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: false });
  });

  test('removalPolicy DESTROY deletes the cluster, the key (after 7 days) and the log group', () => {
    const template = synth({ removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ PendingWindowInDays: 7 }) });
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
  });

  test('removalPolicy RETAIN keeps the cluster', () => {
    synth({ removalPolicy: RemovalPolicy.RETAIN }).hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Retain' });
  });

  test('a supplied key encrypts the storage, the secret and the logs, and no key is created', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const key = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:ap-southeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const db = new AuroraServerlessV2Db(stack, 'Db', { vpc: newVpc(stack), encryptionKey: key });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::RDS::DBCluster', { KmsKeyId: key.keyArn, StorageEncrypted: true });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: key.keyArn });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: key.keyArn });
    expect(db.encryptionKey).toBe(key);
  });

  test('a key of the app gets the statement that lets CloudWatch Logs use it', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const key = new kms.Key(stack, 'Own', { enableKeyRotation: true });
    new AuroraServerlessV2Db(stack, 'Db', { vpc: newVpc(stack), encryptionKey: key });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    const { resource } = onlyResource(template, 'AWS::KMS::Key');
    expect(resource.Properties.KeyPolicy.Statement).toContainEqual(expect.objectContaining({
      Principal: { Service: 'logs.ap-southeast-1.amazonaws.com' },
    }));
  });

  test('IAM authentication can be turned off, and grantConnect then refuses', () => {
    const { db, stack, template } = build({ iamAuthentication: false });
    template.hasResourceProperties('AWS::RDS::DBCluster', { EnableIAMDatabaseAuthentication: false });
    const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    expect(() => db.grantConnect(role)).toThrow(/grantConnect needs IAM database authentication; set database.iamAuthentication to true/);
  });

  test('grantConnect takes another database user', () => {
    const statement = grantConnectStatement((db, role) => db.grantConnect(role, 'app_user'));
    expect(JSON.stringify(statement.Resource)).toContain('/app_user');
  });

  test('a year of log retention needs no retention reason', () => {
    const template = synth({ logRetention: logs.RetentionDays.ONE_YEAR });
    const group = onlyResource(template, 'AWS::Logs::LogGroup');
    expect(group.resource.Properties.RetentionInDays).toBe(365);
    expect(group.resource.Metadata?.guard).toBeUndefined();
  });

  test('a short log retention records why it is short', () => {
    const group = onlyResource(synth({ logRetention: logs.RetentionDays.ONE_WEEK }), 'AWS::Logs::LogGroup');
    expect(group.resource.Properties.RetentionInDays).toBe(7);
    expect(group.resource.Metadata.guard.SuppressedRules).toEqual(['cloudwatch_log_group_retention_period_check']);
  });

  test('monitoringInterval 0 turns Enhanced Monitoring off', () => {
    const template = synth({ monitoringInterval: Duration.seconds(0) });
    template.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: Match.absent() });
    template.resourceCountIs('AWS::IAM::Role', 0);
  });

  test('monitoringInterval sets the Enhanced Monitoring interval', () => {
    synth({ monitoringInterval: Duration.seconds(15) }).hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 15 });
  });

  test('Performance Insights can be turned on, encrypted with the key, for the free 7 days', () => {
    const template = synth({ enablePerformanceInsights: true });
    const key = onlyResource(template, 'AWS::KMS::Key');
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      PerformanceInsightsEnabled: true,
      PerformanceInsightsKmsKeyId: { 'Fn::GetAtt': [key.logicalId, 'Arn'] },
      PerformanceInsightsRetentionPeriod: 7,
    });
  });

  test('rotateSecretAfter schedules rotation and drops the SMG4 reason', () => {
    const template = synth({ rotateSecretAfter: Duration.days(30) });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    expect(nagSuppressionIds(onlyResource(template, 'AWS::SecretsManager::Secret').resource)).not.toContain('AwsSolutions-SMG4');
  });

  test('the first rotation waits for the writer instance (a new schedule rotates at once)', () => {
    const template = synth({ rotateSecretAfter: Duration.days(30) });
    const writer = onlyResource(template, 'AWS::RDS::DBInstance');
    const schedule = onlyResource(template, 'AWS::SecretsManager::RotationSchedule');
    expect(schedule.resource.DependsOn).toEqual(expect.arrayContaining([writer.logicalId]));
  });

  test('the rotation function runs in rotationSubnets', () => {
    const { stack, vpc, template } = build({
      rotateSecretAfter: Duration.days(30),
      rotationSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    const app = onlyResource(template, 'AWS::Serverless::Application');
    const subnets = JSON.stringify(app.resource.Properties.Parameters.vpcSubnetIds);
    for (const subnet of vpc.privateSubnets) expect(subnets).toContain(JSON.stringify(stack.resolve(subnet.subnetId)));
    for (const subnet of vpc.isolatedSubnets) expect(subnets).not.toContain(JSON.stringify(stack.resolve(subnet.subnetId)));
  });

  test('by default the rotation function runs in the private subnets with egress, not in the isolated database subnets', () => {
    const { stack, vpc, template } = build({ rotateSecretAfter: Duration.days(30) });
    const app = onlyResource(template, 'AWS::Serverless::Application');
    const subnets = JSON.stringify(app.resource.Properties.Parameters.vpcSubnetIds);
    for (const subnet of vpc.privateSubnets) expect(subnets).toContain(JSON.stringify(stack.resolve(subnet.subnetId)));
    for (const subnet of vpc.isolatedSubnets) expect(subnets).not.toContain(JSON.stringify(stack.resolve(subnet.subnetId)));
  });

  test('the rotation function\'s security group is admitted to the database port', () => {
    const template = synth({ rotateSecretAfter: Duration.days(30) });
    const app = onlyResource(template, 'AWS::Serverless::Application');
    const rotationGroup = app.resource.Properties.Parameters.vpcSecurityGroupIds['Fn::GetAtt'][0];
    // The cluster's port, resolved at deploy time (5432 here).
    const port = { 'Fn::GetAtt': [Match.stringLikeRegexp('^DbCluster'), 'Endpoint.Port'] };
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: port,
      ToPort: port,
      SourceSecurityGroupId: { 'Fn::GetAtt': [rotationGroup, 'GroupId'] },
    });
  });

  test('rotation in a VPC with no private subnets with egress asks for rotationSubnets', () => {
    expect(() => {
      const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      new AuroraServerlessV2Db(stack, 'Db', { vpc, rotateSecretAfter: Duration.days(30) });
    }).toThrow(/database.rotateSecretAfter needs rotationSubnets here: the VPC has no private subnets with egress/);
  });

  test('in a standard new ec2.Vpc() (no isolated subnets) the database goes in the private subnets, as rds.DatabaseCluster does', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    new AuroraServerlessV2Db(stack, 'Db', { vpc });
    const group = onlyResource(Template.fromStack(stack), 'AWS::RDS::DBSubnetGroup');
    expect(group.resource.Properties.SubnetIds).toEqual(vpc.privateSubnets.map((s) => stack.resolve(s.subnetId)));
  });

  test('vpcSubnets places the database elsewhere', () => {
    const { stack, vpc, template } = build({}, { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    const group = onlyResource(template, 'AWS::RDS::DBSubnetGroup');
    expect(group.resource.Properties.SubnetIds).toEqual(vpc.privateSubnets.map((s) => stack.resolve(s.subnetId)));
  });
});

describe('AuroraServerlessV2Db validation', () => {
  test('rejects maxCapacity below minCapacity', () => {
    expect(attempt({ autoPause: false, minCapacity: 4, maxCapacity: 2 }))
      .toThrow('database.maxCapacity (2) must be at least minCapacity (4); raise maxCapacity or lower minCapacity.');
  });

  test('rejects a minCapacity that is not a multiple of 0.5', () => {
    expect(attempt({ autoPause: false, minCapacity: 0.75 })).toThrow('database.minCapacity must be a multiple of 0.5 ACU, got 0.75.');
  });

  test('rejects a maxCapacity that is not a multiple of 0.5', () => {
    expect(attempt({ maxCapacity: 1.2 })).toThrow('database.maxCapacity must be a multiple of 0.5 ACU, got 1.2.');
  });

  test('rejects a minCapacity under 0.5 and points to autoPause for 0', () => {
    expect(attempt({ autoPause: false, minCapacity: 0 }))
      .toThrow('database.minCapacity must be at least 0.5 ACU, got 0; to scale to 0 ACU when idle, use autoPause: true.');
  });

  test('rejects a minCapacity over 256', () => {
    expect(attempt({ autoPause: false, minCapacity: 300, maxCapacity: 256 })).toThrow('database.minCapacity must be at most 256 ACU, got 300.');
  });

  test('rejects a maxCapacity over 256', () => {
    expect(attempt({ maxCapacity: 300 })).toThrow('database.maxCapacity must be from 1 to 256 ACU, got 300.');
  });

  test('rejects a maxCapacity under 1', () => {
    expect(attempt({ maxCapacity: 0.5 })).toThrow('database.maxCapacity must be from 1 to 256 ACU, got 0.5.');
  });

  test('rejects a minCapacity other than 0.5 with auto-pause', () => {
    expect(attempt({ minCapacity: 2, maxCapacity: 4 }))
      .toThrow(/database.minCapacity 2 cannot be combined with autoPause: .* Set autoPause: false to keep 2 ACU, or remove minCapacity./);
  });

  test('rejects autoPauseAfter under 5 minutes', () => {
    expect(attempt({ autoPauseAfter: Duration.minutes(4) }))
      .toThrow('database.autoPauseAfter must be whole seconds from 300 (5 minutes) to 86400 (1 day), got 4 minutes.');
  });

  test('rejects autoPauseAfter over a day', () => {
    expect(attempt({ autoPauseAfter: Duration.hours(25) })).toThrow(/database.autoPauseAfter must be whole seconds from 300 .* got 1 day 1 hour/);
  });

  test('rejects autoPauseAfter that is not whole seconds', () => {
    expect(attempt({ autoPauseAfter: Duration.millis(300_500) })).toThrow(/database.autoPauseAfter must be whole seconds/);
  });

  test('rejects autoPauseAfter with auto-pause off', () => {
    expect(attempt({ autoPause: false, autoPauseAfter: Duration.minutes(10) }))
      .toThrow('database.autoPauseAfter applies only with autoPause on; remove autoPauseAfter or set autoPause: true.');
  });

  test('rejects auto-pause on an engine without it, naming the minimum versions', () => {
    expect(attempt({ engineVersion: rds.AuroraPostgresEngineVersion.VER_16_2 }))
      .toThrow('database.engineVersion 16.2 does not support auto-pause, which needs Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 or newer (or 17); choose a newer engineVersion or set autoPause: false.');
  });

  test('rejects auto-pause on a major without it', () => {
    expect(attempt({ engineVersion: rds.AuroraPostgresEngineVersion.VER_12_9 })).toThrow(/database.engineVersion 12.9 does not support auto-pause/);
  });

  test('rejects a backup retention under a day', () => {
    expect(attempt({ backupRetention: Duration.days(0) })).toThrow('database.backupRetention must be whole days from 1 to 35, got 0 days.');
  });

  test('rejects a backup retention over 35 days', () => {
    expect(attempt({ backupRetention: Duration.days(36) })).toThrow('database.backupRetention must be whole days from 1 to 35, got 36 days.');
  });

  test('rejects a backup retention that is not whole days', () => {
    expect(attempt({ backupRetention: Duration.hours(36) })).toThrow(/database.backupRetention must be whole days from 1 to 35, got 1 day 12 hours/);
  });

  test('rejects a database name that is not a lowercase identifier', () => {
    expect(attempt({ databaseName: 'My-App' }))
      .toThrow("database.databaseName must be 1 to 63 lowercase letters, digits or '_', starting with a letter, got 'My-App'.");
  });

  test('rejects a database name longer than 63 characters', () => {
    expect(attempt({ databaseName: 'a'.repeat(64) })).toThrow(/database.databaseName must be 1 to 63 lowercase letters/);
  });

  test('rejects a reserved database name', () => {
    expect(attempt({ databaseName: 'template1' })).toThrow(/database.databaseName 'template1' is reserved by PostgreSQL or RDS; choose another name/);
  });

  test('rejects a username that does not start with a letter', () => {
    expect(attempt({ username: '1flask' }))
      .toThrow("database.username must be 1 to 63 lowercase letters, digits or '_', starting with a letter, got '1flask'.");
  });

  test('rejects postgres as the master user', () => {
    expect(attempt({ username: 'postgres' })).toThrow(/database.username 'postgres' is reserved by PostgreSQL or RDS; choose another name/);
  });

  test('rejects admin as the master user', () => {
    expect(attempt({ username: 'admin' })).toThrow(/database.username 'admin' is reserved/);
  });

  test('rejects a username in the rds_ namespace', () => {
    expect(attempt({ username: 'rds_app' })).toThrow(/database.username 'rds_app' is reserved .* or start with 'pg_'\/'rds_'/);
  });

  test('rejects a username in the pg_ namespace', () => {
    expect(attempt({ username: 'pg_app' })).toThrow(/database.username 'pg_app' is reserved/);
  });

  test('rejects a port outside 1150 to 65535', () => {
    expect(attempt({ port: 80 })).toThrow('database.port must be an integer from 1150 to 65535, got 80.');
  });

  test('rejects a backup window in the wrong format', () => {
    expect(attempt({ preferredBackupWindow: '5pm-6pm' }))
      .toThrow("database.preferredBackupWindow must be 'hh24:mi-hh24:mi' in UTC and at least 30 minutes long (e.g. '17:00-17:30'), got '5pm-6pm'.");
  });

  test('rejects a backup window under 30 minutes', () => {
    expect(attempt({ preferredBackupWindow: '17:00-17:20' })).toThrow(/database.preferredBackupWindow must be .* at least 30 minutes long/);
  });

  test('rejects a maintenance window in the wrong format', () => {
    expect(attempt({ preferredMaintenanceWindow: 'sunday 18:00' }))
      .toThrow("database.preferredMaintenanceWindow must be 'ddd:hh24:mi-ddd:hh24:mi' in UTC and at least 30 minutes long (e.g. 'sun:18:00-sun:18:30'), got 'sunday 18:00'.");
  });

  test('rejects a maintenance window under 30 minutes', () => {
    expect(attempt({ preferredMaintenanceWindow: 'sun:18:00-sun:18:10' })).toThrow(/database.preferredMaintenanceWindow must be .* at least 30 minutes long/);
  });

  test('rejects a backup window that overlaps the maintenance window', () => {
    expect(attempt({ preferredBackupWindow: '18:15-18:45', preferredMaintenanceWindow: 'sun:18:00-sun:18:30' }))
      .toThrow("database.preferredBackupWindow '18:15-18:45' overlaps preferredMaintenanceWindow 'sun:18:00-sun:18:30'; move one of them.");
  });

  test('rejects an overlap across midnight at the end of the week', () => {
    expect(attempt({ preferredBackupWindow: '23:50-00:20', preferredMaintenanceWindow: 'mon:00:00-mon:00:30' }))
      .toThrow(/database.preferredBackupWindow '23:50-00:20' overlaps preferredMaintenanceWindow/);
  });

  test('rejects a monitoring interval Enhanced Monitoring does not offer', () => {
    expect(attempt({ monitoringInterval: Duration.seconds(2) }))
      .toThrow('database.monitoringInterval must be 0 (off), 1, 5, 10, 15, 30 or 60 seconds, got 2 seconds.');
  });

  test('rejects rotationSubnets without rotation', () => {
    expect(attempt({ rotationSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }))
      .toThrow('database.rotationSubnets applies only with rotateSecretAfter; remove rotationSubnets or set rotateSecretAfter.');
  });

  test('rejects a rotation schedule over a year', () => {
    expect(attempt({ rotateSecretAfter: Duration.days(400) })).toThrow('database.rotateSecretAfter must be whole days from 1 to 365, got 400 days.');
  });

  test('rejects vpcSubnets that select nothing', () => {
    expect(attempt({}, 2, { subnetGroupName: 'Nope' })).toThrow(/database.vpcSubnets selects no subnets in the VPC/);
  });

  test('rejects default subnets in a single Availability Zone, naming the option to set', () => {
    expect(attempt({}, 1)).toThrow("The database's default subnets (the VPC's isolated subnets, else its private ones) must select subnets in at least two Availability Zones (Aurora needs them), got 1 subnet(s); pass database.vpcSubnets.");
  });

  test('rejects vpcSubnets in a single Availability Zone', () => {
    expect(attempt({}, 1, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }))
      .toThrow(/^database.vpcSubnets must select subnets in at least two Availability Zones \(Aurora needs them\), got 1 subnet\(s\)/);
  });
});
