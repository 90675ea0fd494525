import { ArnFormat, Aws, Duration, Fn, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as awsbackup from 'aws-cdk-lib/aws-backup';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IDependable } from 'constructs';
import { IFlaskDatabase } from './flask-database';
import { newLogsKey } from '../core/kms';
import { allowLogsToUseKey } from '../core/logs-key';
import { addNagSuppressions, CompliancePack, nagResourceName, packSuppressions, suppressShortLogRetention, suppressAlarmActionsLeftToCaller } from '../core/suppressions';

/** Options of the Aurora Serverless v2 PostgreSQL database: what a user tunes. */
export interface AuroraServerlessV2DbOptions {
  /**
   * Smallest capacity, in Aurora capacity units (ACU, about 2 GiB of memory each), that the
   * instance keeps while it is running. A multiple of 0.5 from 0.5 to 256.
   *
   * Aurora has one minimum setting: with `autoPause` on it is 0 ACU (that is how Aurora
   * expresses auto-pause), and a running instance then scales between 0.5 ACU and `maxCapacity`.
   * CloudFormation cannot express a higher floor while running together with auto-pause, so with
   * `autoPause` on only 0.5 is accepted here; set `autoPause: false` to keep a higher floor.
   *
   * @default 0.5
   */
  readonly minCapacity?: number;

  /**
   * Largest capacity, in ACU, the instance may scale to. A multiple of 0.5 from 1 to 256.
   * It also sets PostgreSQL's `max_connections` (about 189 at 1 ACU, 823 at 4, 1669 at 8).
   * @default 1
   */
  readonly maxCapacity?: number;

  /**
   * Pause the instance (0 ACU, no compute charge) after `autoPauseAfter` without connections.
   * The first connection resumes it, which takes about 15 seconds (longer after a day paused),
   * so the application must tolerate a slow first connect.
   *
   * Synthesizes `ServerlessV2ScalingConfiguration` with `MinCapacity: 0` and
   * `SecondsUntilAutoPause`; with `false`, `MinCapacity` is `minCapacity` and the instance
   * never pauses. Needs Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 or newer.
   *
   * @default true
   */
  readonly autoPause?: boolean;

  /**
   * How long the instance must be without connections before it pauses: whole seconds from
   * 5 minutes to 1 day. Only with `autoPause` on.
   * @default Duration.minutes(5)
   */
  readonly autoPauseAfter?: Duration;

  /**
   * Aurora PostgreSQL engine version. With `autoPause` on it must support auto-pause
   * (13.15+, 14.12+, 15.7+, 16.3+ or 17).
   *
   * The default, 16.8, is the long-term-support (LTS) minor of Aurora PostgreSQL 16: AWS keeps
   * LTS minors available for new clusters for about three years (16.8 until 28 February 2029,
   * per the Aurora PostgreSQL release calendar), where other minors are offered for about a
   * year. 17.7 is the LTS minor of 17 (until 28 February 2030): pass
   * `rds.AuroraPostgresEngineVersion.of('17.7', '17')` for it (older aws-cdk-lib releases, such
   * as 2.201, have no `VER_17_7` constant). To choose another, look up what the region offers with
   * `aws rds describe-db-engine-versions --engine aurora-postgresql --region ap-southeast-1
   * --query 'DBEngineVersions[].EngineVersion'` and the end-of-support dates in the release
   * calendar, then pass the constant or `of('<major>.<minor>', '<major>')`. A new major version
   * on an existing cluster is an in-place major upgrade: snapshot first and test it elsewhere.
   * @default rds.AuroraPostgresEngineVersion.VER_16_8
   */
  readonly engineVersion?: rds.AuroraPostgresEngineVersion;

  /**
   * Name of the application database Aurora creates: lowercase letters, digits and `_`,
   * starting with a letter, at most 63 characters; not `postgres`, `template0`, `template1`
   * or `rdsadmin`.
   * Changing it on a deployed stack replaces the cluster with a new, empty one (see the README,
   * "Changes that replace your database").
   * @default 'app'
   */
  readonly databaseName?: string;

  /**
   * Name of the master user, whose generated password is stored in Secrets Manager:
   * lowercase letters, digits and `_`, starting with a letter, at most 63 characters. Names
   * PostgreSQL or RDS reserve (`postgres`, `admin`, `rdsadmin`, `public`, `pg_*`, `rds_*`, ...)
   * are rejected.
   * Changing it on a deployed stack replaces the cluster with a new, empty one (see the README,
   * "Changes that replace your database").
   * @default 'flask'
   */
  readonly username?: string;

  /**
   * TCP port of the cluster, from 1150 to 65535.
   * @default 5432
   */
  readonly port?: number;

  /**
   * How long automated backups are kept: whole days from 1 to 35.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * Also back the cluster up with AWS Backup: a daily backup plan (starting at 05:00 UTC) whose
   * recovery points are kept `awsBackupRetention`,
   * in a vault of its own encrypted with the database key, retained with the data. AWS Backup
   * protects Aurora by cluster; its recovery points are billed per GB-month (a paused cluster
   * still has its storage).
   * @default false
   */
  readonly awsBackup?: boolean;

  /**
   * How long AWS Backup keeps each recovery point (with `awsBackup`): whole days from 1 to 36500.
   * @default Duration.days(35)
   */
  readonly awsBackupRetention?: Duration;

  /**
   * Daily backup window in UTC, `hh24:mi-hh24:mi`, at least 30 minutes, not overlapping the
   * maintenance window.
   * @default - a 30-minute window Aurora picks in the region's default block
   */
  readonly preferredBackupWindow?: string;

  /**
   * Weekly maintenance window in UTC, `ddd:hh24:mi-ddd:hh24:mi` (e.g. `sun:18:00-sun:18:30`),
   * at least 30 minutes.
   * @default - a 30-minute window Aurora picks at random in the region's default block
   */
  readonly preferredMaintenanceWindow?: string;

  /**
   * Refuse to delete the cluster (CloudFormation deletes fail until it is turned off).
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * What happens to the cluster when it leaves the stack. With `SNAPSHOT` or `RETAIN` the
   * encryption key and the log group are retained too, so that the snapshot stays readable.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * KMS key that encrypts the storage, the backups, the master secret, the PostgreSQL log
   * group and Performance Insights. CloudWatch Logs (`logs.<region>.amazonaws.com`) must be
   * allowed to use it: a `kms.Key` of this app gets that statement added, an imported key
   * must have it already.
   * Changing it on a deployed stack replaces the cluster with a new, empty one (see the README,
   * "Changes that replace your database").
   * @default - a new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Allow IAM database authentication (`grantConnect`).
   * @default true
   */
  readonly iamAuthentication?: boolean;

  /**
   * The database role the application connects as with IAM authentication, owner of its own
   * schema only (created by the app's admin step, `python -m app.app_role`). Same naming rules
   * as `username`, and it must differ from it. Ignored without `iamAuthentication`.
   * @default 'flask_app'
   */
  readonly appUsername?: string;

  /**
   * Retention of the exported `postgresql` log in CloudWatch Logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Interval of Enhanced Monitoring (OS metrics to CloudWatch Logs): 1, 5, 10, 15, 30 or 60
   * seconds, or 0 to turn it off. A paused instance sends nothing.
   * @default Duration.seconds(60)
   */
  readonly monitoringInterval?: Duration;

  /**
   * Turn on Performance Insights (7 days, the free retention, encrypted with `encryptionKey`).
   * It takes memory on the instance, which matters at 0.5 to 1 ACU.
   * @default false
   */
  readonly enablePerformanceInsights?: boolean;

  /**
   * Rotate the master password on this schedule (1 to 365 days) with the Secrets Manager
   * single-user rotation function. The function runs in `rotationSubnets`, which need a route to
   * the Secrets Manager API (a NAT, or a Secrets Manager interface endpoint); its security group
   * is admitted to the database port.
   *
   * ECS tasks read the password only when they start. `FlaskServerlessPlatform` therefore
   * replaces the tasks after each successful rotation (`ReplaceTasksOnSecretRotation`); with a
   * `FlaskFargateService` of your own, add that construct, or have the app read the secret
   * whenever it opens a connection. Until the new tasks run, connections the old tasks already
   * hold keep working, while new connections from them fail.
   * @default - no rotation
   */
  readonly rotateSecretAfter?: Duration;

  /**
   * Subnets of the rotation function, with `rotateSecretAfter`: they need a route to the Secrets
   * Manager API. The database's own (isolated) subnets usually have none.
   * @default - the VPC's private subnets with egress (`SubnetType.PRIVATE_WITH_EGRESS`); without
   * such subnets, rotationSubnets must be given
   */
  readonly rotationSubnets?: ec2.SubnetSelection;

  /**
   * Subnets of the database, in at least two Availability Zones. In an existing VPC, e.g.
   * `{ subnetGroupName: 'Data' }` or `{ subnets: [...] }`.
   * @default - the VPC's isolated subnets if it has any, else its private subnets with egress
   * (a standard `new ec2.Vpc()` has only the latter); in the platform's own VPC, its Data subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/** Props of `AuroraServerlessV2Db`. */
export interface AuroraServerlessV2DbProps extends AuroraServerlessV2DbOptions {
  /** The VPC to place the database in; it needs subnets in at least two AZs. */
  readonly vpc: ec2.IVpc;
}

/**
 * An Aurora PostgreSQL cluster with one Serverless v2 writer that pauses when idle: encrypted
 * with a customer-managed key, TLS enforced, IAM authentication, credentials generated in
 * Secrets Manager, the `postgresql` log in an encrypted log group, and alarms on capacity,
 * CPU, connections and memory.
 */
export class AuroraServerlessV2Db extends Construct implements IFlaskDatabase {
  /** The Aurora cluster. */
  public readonly cluster: rds.DatabaseCluster;
  /** Secret with the master user's credentials (`username`, `password`, `host`, `port`, `dbname`). */
  public readonly secret: secretsmanager.ISecret;
  /** Network access to the cluster; allow the service in with `connections.allowDefaultPortFrom`. */
  public readonly connections: ec2.Connections;
  /** Host name of the writer endpoint. */
  public readonly endpointAddress: string;
  /** TCP port of the writer endpoint. */
  public readonly port: number;
  /** Name of the application database. */
  public readonly databaseName: string;
  /** Name of the master user. */
  public readonly username: string;
  /** Key that encrypts the storage, the secret and the logs. */
  public readonly encryptionKey: kms.IKey;
  /** Log group of the exported `postgresql` log. */
  public readonly logGroup: logs.LogGroup;
  /** Whether the instance pauses when idle. */
  public readonly autoPause: boolean;
  /** Largest capacity in ACU. */
  public readonly maxCapacity: number;
  /**
   * The `max_connections` Aurora derives from the capacity range, as published in the Aurora
   * user guide; the connections alarm fires at 80% of it.
   */
  public readonly estimatedMaxConnections: number;
  /** Alarms on capacity, CPU, connections and memory, with no actions. */
  public readonly alarms: cloudwatch.Alarm[];
  /**
   * The secret's rotation schedule, with `rotateSecretAfter`. A new schedule rotates at once,
   * so it waits for the writer instance; make it depend on whatever else must exist before the
   * first rotation (e.g. what brings the new password to the app).
   */
  public readonly rotationSchedule?: secretsmanager.RotationSchedule;
  /** The writer instance: a service using this database starts its first tasks after it exists. */
  public readonly startAfter?: IDependable;

  /** The AWS Backup plan of the cluster (with `awsBackup`). */
  public readonly backupPlan?: awsbackup.BackupPlan;

  /** The role the app connects as with IAM authentication; undefined without `iamAuthentication`. */
  public readonly appUsername?: string;
  /** Resource ID of the cluster (`DBClusterResourceId`), which `rds-db:connect` ARNs name. */
  public readonly clusterResourceId?: string;

  private readonly iamAuthentication: boolean;

  constructor(scope: Construct, id: string, props: AuroraServerlessV2DbProps) {
    super(scope, id);

    const autoPause = props.autoPause ?? true;
    const minCapacity = props.minCapacity ?? 0.5;
    const maxCapacity = props.maxCapacity ?? 1;
    // The LTS minor of 16: offered for new clusters until February 2029 (see engineVersion).
    const engineVersion = props.engineVersion ?? rds.AuroraPostgresEngineVersion.VER_16_8;
    const databaseName = props.databaseName ?? 'app';
    const username = props.username ?? 'flask';
    const port = props.port ?? 5432;
    const backupRetention = props.backupRetention ?? Duration.days(7);
    const monitoringInterval = props.monitoringInterval ?? Duration.seconds(60);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;

    validateCapacity(minCapacity, maxCapacity, autoPause);
    if (!autoPause && props.autoPauseAfter !== undefined) {
      throw new Error('database.autoPauseAfter applies only with autoPause on; remove autoPauseAfter or set autoPause: true.');
    }
    const autoPauseAfter = props.autoPauseAfter ?? Duration.minutes(5);
    if (autoPause) {
      validateAutoPauseAfter(autoPauseAfter);
      validateAutoPauseEngine(engineVersion);
    }
    validateIdentifier('database.databaseName', databaseName, RESERVED_DATABASE_NAMES, []);
    validateIdentifier('database.username', username, RESERVED_USERNAMES, ['pg_', 'rds_']);
    const iamAuthentication = props.iamAuthentication ?? true;
    if (props.appUsername !== undefined && !iamAuthentication) {
      throw new Error('database.appUsername needs IAM database authentication; remove appUsername or set iamAuthentication: true.');
    }
    const appUsername = iamAuthentication ? (props.appUsername ?? 'flask_app') : undefined;
    if (appUsername !== undefined) {
      validateIdentifier('database.appUsername', appUsername, RESERVED_USERNAMES, ['pg_', 'rds_']);
      if (appUsername === username) {
        throw new Error(`database.appUsername must differ from database.username (both '${username}'): the app gets a role of its own.`);
      }
    }
    if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1150 || port > 65535)) {
      throw new Error(`database.port must be an integer from 1150 to 65535, got ${port}.`);
    }
    validateWholeDays('database.backupRetention', backupRetention, 35);
    validateWindows(props.preferredBackupWindow, props.preferredMaintenanceWindow);
    if (!monitoringInterval.isUnresolved() && ![0, 1, 5, 10, 15, 30, 60].includes(monitoringInterval.toMilliseconds() / 1000)) {
      throw new Error(`database.monitoringInterval must be 0 (off), 1, 5, 10, 15, 30 or 60 seconds, got ${monitoringInterval.toHumanString()}.`);
    }
    if (props.rotationSubnets !== undefined && props.rotateSecretAfter === undefined) {
      throw new Error('database.rotationSubnets applies only with rotateSecretAfter; remove rotationSubnets or set rotateSecretAfter.');
    }
    if (props.rotateSecretAfter !== undefined) validateWholeDays('database.rotateSecretAfter', props.rotateSecretAfter, 365);
    if (props.awsBackupRetention !== undefined) {
      if (!props.awsBackup) throw new Error('database.awsBackupRetention applies only with awsBackup; remove awsBackupRetention or set awsBackup: true.');
      validateWholeDays('database.awsBackupRetention', props.awsBackupRetention, 36500);
    }

    const vpcSubnets = props.vpcSubnets ?? defaultSubnets(props.vpc);
    validateSubnets(props.vpc, vpcSubnets, props.vpcSubnets !== undefined);

    this.autoPause = autoPause;
    this.maxCapacity = maxCapacity;
    this.port = port;
    this.databaseName = databaseName;
    this.username = username;
    this.iamAuthentication = iamAuthentication;
    this.appUsername = appUsername;
    const keepData = removalPolicy !== RemovalPolicy.DESTROY;

    if (props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
      if (props.encryptionKey instanceof kms.Key) allowLogsToUseKey(props.encryptionKey);
    } else {
      // Grants only for AWS services acting for the account (RDS, Secrets Manager, Logs).
      this.encryptionKey = newLogsKey(this, 'Key', {
        description: 'Encrypts the Aurora storage, backups, master secret and logs',
        // Snapshots stay encrypted with this key: keep it as long as the data is kept.
        removalPolicy: keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        pendingWindow: keepData ? undefined : Duration.days(7),
      });
    }

    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: engineVersion });
    const parameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: 'TLS-only connections',
      parameters: { 'rds.force_ssl': '1' },
    });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Aurora PostgreSQL cluster',
      // The database never opens connections of its own.
      allowAllOutbound: false,
    });

    // Enhanced Monitoring writes OS metrics to the RDSOSMetrics log group of this account and
    // region. AWS's AmazonRDSEnhancedMonitoringRole also lets it create and write any `RDS*` log
    // group in every region; this role allows only what Enhanced Monitoring does, and only for
    // RDS acting for instances of this account (confused-deputy conditions RDS documents).
    const monitoringOn = monitoringInterval.isUnresolved() || monitoringInterval.toMilliseconds() > 0;
    const monitoringRole = monitoringOn ? enhancedMonitoringRole(this) : undefined;
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      writer: rds.ClusterInstance.serverlessV2('Writer', {
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
      }),
      serverlessV2MinCapacity: autoPause ? 0 : minCapacity,
      serverlessV2MaxCapacity: maxCapacity,
      serverlessV2AutoPauseDuration: autoPause ? autoPauseAfter : undefined,
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: [securityGroup],
      port,
      defaultDatabaseName: databaseName,
      credentials: rds.Credentials.fromGeneratedSecret(username, { encryptionKey: this.encryptionKey }),
      parameterGroup,
      storageEncrypted: true,
      storageEncryptionKey: this.encryptionKey,
      iamAuthentication: this.iamAuthentication,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy,
      backup: { retention: backupRetention, preferredWindow: props.preferredBackupWindow },
      preferredMaintenanceWindow: props.preferredMaintenanceWindow,
      copyTagsToSnapshot: true,
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: monitoringOn ? monitoringInterval : undefined,
      monitoringRole,
      enablePerformanceInsights: props.enablePerformanceInsights ?? false,
      performanceInsightEncryptionKey: props.enablePerformanceInsights ? this.encryptionKey : undefined,
    });

    // Own the log group RDS exports to, so it is encrypted and its retention needs no
    // custom resource. It must exist before the instance publishes its first log line.
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.logGroup = new logs.LogGroup(this, 'PostgresqlLog', {
      logGroupName: `/aws/rds/cluster/${this.cluster.clusterIdentifier}/postgresql`,
      retention: logRetention,
      encryptionKey: this.encryptionKey,
      removalPolicy: keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.cluster.node.findChild('Writer').node.addDependency(this.logGroup);
    suppressShortLogRetention(this.logGroup, logRetention,
      'The PostgreSQL log is for troubleshooting (errors, slow statements), not an audit trail; its retention is the logRetention option.');

    this.secret = this.cluster.secret!;
    this.connections = this.cluster.connections;
    this.endpointAddress = this.cluster.clusterEndpoint.hostname;

    if (props.rotateSecretAfter !== undefined) {
      this.cluster.addRotationSingleUser({
        automaticallyAfter: props.rotateSecretAfter,
        vpcSubnets: props.rotationSubnets ?? defaultRotationSubnets(props.vpc),
      });
      // Secrets Manager rotates a new schedule at once. Before the writer instance exists the
      // rotation fails and leaves an AWSPENDING version behind, and every later rotation (and
      // deploy that touches the schedule) fails with "A previous rotation isn't complete".
      this.rotationSchedule = findRotationSchedule(this.cluster);
      this.rotationSchedule.node.addDependency(this.cluster.node.findChild('Writer'));
      // CDK opens the cluster port to the rotation function by a port token the packs cannot read,
      // so they take it for any port, SSH included.
      const { NIST, HIPAA, PCI } = CompliancePack;
      const reason = 'The only port open is the cluster port (database.port), and only to the rotation function\'s own security group; the rule cannot read the port, which CDK writes as a token.';
      for (const ingress of securityGroup.node.children.filter((c) => c instanceof ec2.CfnSecurityGroupIngress && c.node.id.includes('RotationSingleUser'))) {
        addNagSuppressions(ingress, [...packSuppressions('EC2RestrictedCommonPorts', [NIST, HIPAA, PCI], reason), ...packSuppressions('EC2RestrictedSSH', [NIST, HIPAA, PCI], reason)]);
      }
    } else {
      addNagSuppressions(this.cluster.node.findChild('Secret'), [{
        id: 'AwsSolutions-SMG4',
        reason: 'Rotation is opt-in (rotateSecretAfter; on in the platform\'s REGULATED profile): the rotation function needs subnets with a route to Secrets Manager, and an app that connects with the master password reads it only when its task starts.',
      }]);
    }

    if (props.awsBackup) this.backupPlan = this.addBackupPlan(props.awsBackupRetention ?? Duration.days(35), keepData);

    this.estimatedMaxConnections = estimateMaxConnections(autoPause ? 0 : minCapacity, maxCapacity);
    this.startAfter = this.cluster.node.findChild('Writer');
    this.clusterResourceId = this.cluster.clusterResourceIdentifier;
    this.alarms = this.createAlarms();
    suppressAlarmActionsLeftToCaller(this.alarms);
  }

  private addBackupPlan(retention: Duration, keepData: boolean): awsbackup.BackupPlan {
    // Both names must be unique in the account and region (CDK would name every plan
    // 'BackupPlan', and the vault by its construct path, which a retained vault or a second copy
    // of the stack under another name already holds): the construct path plus the first part of
    // the stack's own ID, which differs for every stack ever created.
    const stackIdPart = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));
    const unique = (suffix: string) => `${Names.uniqueResourceName(this, { maxLength: 40 - suffix.length, separator: '-', allowedSpecialCharacters: '-' })}${suffix}-${stackIdPart}`;
    const vault = new awsbackup.BackupVault(this, 'BackupVault', {
      backupVaultName: unique('-vault'),
      encryptionKey: this.encryptionKey,
      // A vault that still holds recovery points cannot be deleted: keep it as long as the data.
      removalPolicy: keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const plan = new awsbackup.BackupPlan(this, 'BackupPlan', { backupVault: vault, backupPlanName: unique('-plan') });
    plan.addRule(new awsbackup.BackupPlanRule({
      ruleName: 'Daily',
      scheduleExpression: events.Schedule.cron({ minute: '0', hour: '5' }),
      deleteAfter: retention,
    }));
    const selection = plan.addSelection('Cluster', { resources: [awsbackup.BackupResource.fromRdsServerlessCluster(this.cluster)] });
    const writer = this.cluster.node.findChild('Writer').node.defaultChild!;
    addNagSuppressions(writer, packSuppressions('RDSInBackupPlan', [CompliancePack.NIST, CompliancePack.HIPAA],
      'AWS Backup protects Aurora by cluster: the backup plan selects the cluster, whose storage holds all of this instance\'s data.'));
    addNagSuppressions(selection.node.findChild('Role'), [{
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: 'The AWS managed policy AWS Backup documents for its service role; it only acts on the resources a selection names (here, the cluster).',
    }]);
    return plan;
  }

  /**
   * Lets the grantee connect as `dbUser` with an IAM authentication token (`rds-db:connect`).
   *
   * The database user must also be granted the `rds_iam` role (`GRANT rds_iam TO <user>`);
   * from then on it can log in only with IAM tokens, so granting it to the master user makes
   * the password in `secret` stop working. Prefer a separate application user.
   *
   * @param grantee who may connect
   * @param dbUser the database user to connect as; defaults to `username`
   */
  public grantConnect(grantee: iam.IGrantable, dbUser?: string): iam.Grant {
    if (!this.iamAuthentication) {
      throw new Error('grantConnect needs IAM database authentication; set database.iamAuthentication to true (the default).');
    }
    return this.cluster.grantConnect(grantee, dbUser ?? this.username);
  }

  /** Capacity in use as a percentage of `maxCapacity` (average over 5 minutes). */
  public metricACUUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricACUUtilization({ period: Duration.minutes(5), ...props });
  }

  /** Capacity in use, in ACU (average over 5 minutes); 0 while paused. */
  public metricServerlessDatabaseCapacity(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricServerlessDatabaseCapacity({ period: Duration.minutes(5), ...props });
  }

  /** CPU use as a percentage of the CPU at `maxCapacity` (average over 5 minutes). */
  public metricCPUUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricCPUUtilization({ period: Duration.minutes(5), ...props });
  }

  /** Open client connections (maximum over 5 minutes). */
  public metricDatabaseConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricDatabaseConnections({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Memory, in bytes, still free if the instance scaled to `maxCapacity` (minimum over
   * 5 minutes).
   */
  public metricFreeableMemory(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricFreeableMemory({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  private createAlarms(): cloudwatch.Alarm[] {
    // A paused instance publishes nothing; missing data is the quiet state, not a fault.
    const common = {
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const maxMemoryBytes = this.maxCapacity * 2 * 1024 ** 3;
    return [
      new cloudwatch.Alarm(this, 'CapacityAlarm', {
        ...common,
        metric: this.metricACUUtilization(),
        threshold: 90,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `Aurora has run at 90% or more of its ${this.maxCapacity} ACU maximum for 15 minutes; raise maxCapacity.`,
      }),
      new cloudwatch.Alarm(this, 'CpuAlarm', {
        ...common,
        metric: this.metricCPUUtilization(),
        threshold: 90,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: 'Aurora CPU has been at 90% or more for 15 minutes.',
      }),
      new cloudwatch.Alarm(this, 'ConnectionsAlarm', {
        ...common,
        metric: this.metricDatabaseConnections(),
        threshold: Math.floor(this.estimatedMaxConnections * 0.8),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `Aurora connections have been at 80% or more of max_connections (about ${this.estimatedMaxConnections}) for 15 minutes.`,
      }),
      new cloudwatch.Alarm(this, 'FreeableMemoryAlarm', {
        ...common,
        metric: this.metricFreeableMemory(),
        threshold: Math.floor(maxMemoryBytes * 0.1),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        alarmDescription: `Aurora freeable memory has been under 10% of ${this.maxCapacity} ACU for 15 minutes.`,
      }),
    ];
  }
}

const RESERVED_DATABASE_NAMES = ['postgres', 'template0', 'template1', 'rdsadmin'];
// Names PostgreSQL or RDS reserve, and the defaults Control Tower's
// RDS_CLUSTER_DEFAULT_ADMIN_CHECK rejects as master user names.
const RESERVED_USERNAMES = ['postgres', 'admin', 'rdsadmin', 'rdsrepladmin', 'public', 'root', 'master', 'none'];

/** Aurora PostgreSQL `max_connections` by maximum ACU, from the Aurora user guide. */
const MAX_CONNECTIONS_BY_ACU: [number, number][] = [[1, 189], [4, 823], [8, 1669], [16, 3360], [32, 5000]];

/** Linear between the published points; capped at 2000 when the minimum is 0 or 0.5 ACU. */
function estimateMaxConnections(minCapacity: number, maxCapacity: number): number {
  let estimate = 5000;
  for (let i = 0; i < MAX_CONNECTIONS_BY_ACU.length - 1; i++) {
    const [acu0, conn0] = MAX_CONNECTIONS_BY_ACU[i];
    const [acu1, conn1] = MAX_CONNECTIONS_BY_ACU[i + 1];
    if (maxCapacity <= acu1) {
      estimate = Math.floor(conn0 + ((maxCapacity - acu0) * (conn1 - conn0)) / (acu1 - acu0));
      break;
    }
  }
  return minCapacity <= 0.5 ? Math.min(estimate, 2000) : estimate;
}

function isHalfStep(value: number): boolean {
  return Number.isFinite(value) && Number.isInteger(value * 2);
}

function validateCapacity(minCapacity: number, maxCapacity: number, autoPause: boolean): void {
  if (!Token.isUnresolved(maxCapacity)) {
    if (!isHalfStep(maxCapacity)) {
      throw new Error(`database.maxCapacity must be a multiple of 0.5 ACU, got ${maxCapacity}.`);
    }
    if (maxCapacity < 1 || maxCapacity > 256) {
      throw new Error(`database.maxCapacity must be from 1 to 256 ACU, got ${maxCapacity}.`);
    }
  }
  if (Token.isUnresolved(minCapacity)) return;
  if (!isHalfStep(minCapacity)) {
    throw new Error(`database.minCapacity must be a multiple of 0.5 ACU, got ${minCapacity}.`);
  }
  if (minCapacity < 0.5) {
    throw new Error(`database.minCapacity must be at least 0.5 ACU, got ${minCapacity}; to scale to 0 ACU when idle, use autoPause: true.`);
  }
  if (minCapacity > 256) {
    throw new Error(`database.minCapacity must be at most 256 ACU, got ${minCapacity}.`);
  }
  if (autoPause && minCapacity !== 0.5) {
    throw new Error(`database.minCapacity ${minCapacity} cannot be combined with autoPause: with auto-pause Aurora's minimum is 0 ACU and a running instance scales from 0.5 ACU. Set autoPause: false to keep ${minCapacity} ACU, or remove minCapacity.`);
  }
  if (!Token.isUnresolved(maxCapacity) && maxCapacity < minCapacity) {
    throw new Error(`database.maxCapacity (${maxCapacity}) must be at least minCapacity (${minCapacity}); raise maxCapacity or lower minCapacity.`);
  }
}

function validateAutoPauseAfter(after: Duration): void {
  if (after.isUnresolved()) return;
  const ms = after.toMilliseconds();
  if (ms % 1000 !== 0 || ms < 300_000 || ms > 86_400_000) {
    throw new Error(`database.autoPauseAfter must be whole seconds from 300 (5 minutes) to 86400 (1 day), got ${after.toHumanString()}.`);
  }
}

/** First version of each major with Serverless v2 auto-pause. */
const AUTO_PAUSE_MINIMUM: Record<number, number> = { 13: 15, 14: 12, 15: 7, 16: 3 };

function validateAutoPauseEngine(version: rds.AuroraPostgresEngineVersion): void {
  const full = version.auroraPostgresFullVersion;
  if (Token.isUnresolved(full)) return;
  const match = /^(\d+)\.(\d+)/.exec(full);
  const major = match ? Number(match[1]) : NaN;
  const minor = match ? Number(match[2]) : NaN;
  const supported = major >= 17 || (AUTO_PAUSE_MINIMUM[major] !== undefined && minor >= AUTO_PAUSE_MINIMUM[major]);
  if (!supported) {
    throw new Error(`database.engineVersion ${full} does not support auto-pause, which needs Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 or newer (or 17); choose a newer engineVersion or set autoPause: false.`);
  }
}

function validateIdentifier(prop: string, value: string, reserved: string[], reservedPrefixes: string[]): void {
  if (Token.isUnresolved(value)) return;
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(value)) {
    throw new Error(`${prop} must be 1 to 63 lowercase letters, digits or '_', starting with a letter, got '${value}'.`);
  }
  if (reserved.includes(value) || reservedPrefixes.some((p) => value.startsWith(p))) {
    const prefixes = reservedPrefixes.length ? ` or start with ${reservedPrefixes.map((p) => `'${p}'`).join('/')}` : '';
    throw new Error(`${prop} '${value}' is reserved by PostgreSQL or RDS; choose another name (it must not be ${reserved.map((r) => `'${r}'`).join(', ')}${prefixes}).`);
  }
}

function validateWholeDays(prop: string, value: Duration, maxDays: number): void {
  if (value.isUnresolved()) return;
  const hours = value.toHours({ integral: false });
  if (hours % 24 !== 0 || hours < 24 || hours > maxDays * 24) {
    throw new Error(`${prop} must be whole days from 1 to ${maxDays}, got ${value.toHumanString()}.`);
  }
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function minuteOfDay(hh: string, mi: string): number | undefined {
  const h = Number(hh);
  const m = Number(mi);
  return h <= 23 && m <= 59 ? h * 60 + m : undefined;
}

/** Whether [s1, s1+len1) and [s2, s2+len2) overlap on a circle of `period` minutes. */
function overlapsOnCircle(s1: number, len1: number, s2: number, len2: number, period: number): boolean {
  return [-period, 0, period].some((shift) => s1 < s2 + shift + len2 && s2 + shift < s1 + len1);
}

function validateWindows(backup: string | undefined, maintenance: string | undefined): void {
  const week = 7 * 1440;
  let backupWindow: { start: number; length: number } | undefined;
  let maintenanceWindow: { start: number; length: number } | undefined;
  if (backup !== undefined && !Token.isUnresolved(backup)) {
    const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(backup);
    const start = m ? minuteOfDay(m[1], m[2]) : undefined;
    const end = m ? minuteOfDay(m[3], m[4]) : undefined;
    const length = start !== undefined && end !== undefined ? (end - start + 1440) % 1440 : 0;
    if (start === undefined || length < 30) {
      throw new Error(`database.preferredBackupWindow must be 'hh24:mi-hh24:mi' in UTC and at least 30 minutes long (e.g. '17:00-17:30'), got '${backup}'.`);
    }
    backupWindow = { start, length };
  }
  if (maintenance !== undefined && !Token.isUnresolved(maintenance)) {
    const m = /^([a-z]{3}):(\d\d):(\d\d)-([a-z]{3}):(\d\d):(\d\d)$/.exec(maintenance.toLowerCase());
    const d0 = m ? DAYS.indexOf(m[1]) : -1;
    const d1 = m ? DAYS.indexOf(m[4]) : -1;
    const t0 = m ? minuteOfDay(m[2], m[3]) : undefined;
    const t1 = m ? minuteOfDay(m[5], m[6]) : undefined;
    const start = d0 >= 0 && t0 !== undefined ? d0 * 1440 + t0 : undefined;
    const end = d1 >= 0 && t1 !== undefined ? d1 * 1440 + t1 : undefined;
    const length = start !== undefined && end !== undefined ? (end - start + week) % week : 0;
    if (start === undefined || length < 30) {
      throw new Error(`database.preferredMaintenanceWindow must be 'ddd:hh24:mi-ddd:hh24:mi' in UTC and at least 30 minutes long (e.g. 'sun:18:00-sun:18:30'), got '${maintenance}'.`);
    }
    maintenanceWindow = { start, length };
  }
  if (backupWindow && maintenanceWindow) {
    const b = backupWindow;
    const mw = maintenanceWindow;
    // The backup window recurs every day of the week.
    if ([0, 1, 2, 3, 4, 5, 6].some((day) => overlapsOnCircle(day * 1440 + b.start, b.length, mw.start, mw.length, week))) {
      throw new Error(`database.preferredBackupWindow '${backup}' overlaps preferredMaintenanceWindow '${maintenance}'; move one of them.`);
    }
  }
}

/** The schedule `addRotationSingleUser` attaches to the cluster's secret. */
function findRotationSchedule(cluster: rds.DatabaseCluster): secretsmanager.RotationSchedule {
  const schedules = cluster.node.findAll().filter((c): c is secretsmanager.RotationSchedule => c instanceof secretsmanager.RotationSchedule);
  if (schedules.length !== 1) {
    throw new Error(`${cluster.node.path}: expected one rotation schedule on the cluster's secret, found ${schedules.length}.`);
  }
  return schedules[0];
}

/**
 * The rotation function calls the Secrets Manager API, which the isolated database subnets
 * cannot reach; the VPC's private subnets with egress can.
 */
function defaultRotationSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  const selection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  let found = false;
  try {
    found = vpc.selectSubnets(selection).subnetIds.length > 0;
  } catch {
    found = false;
  }
  if (!found) {
    throw new Error('database.rotateSecretAfter needs rotationSubnets here: the VPC has no private subnets with egress, and the rotation function must reach the Secrets Manager API. Pass rotationSubnets that have a NAT route or a Secrets Manager interface endpoint.');
  }
  return selection;
}

/** Isolated subnets when the VPC has them, else private ones, so any standard VPC works. */
function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.isolatedSubnets.length > 0
    ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }
    : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
}

function validateSubnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection, userSet: boolean): void {
  // Name what the user set: their selection, or the default that found nothing in their VPC.
  const what = userSet ? 'database.vpcSubnets' : 'The database\'s default subnets (the VPC\'s isolated subnets, else its private ones)';
  let selected: ec2.SelectedSubnets;
  try {
    selected = vpc.selectSubnets(selection);
  } catch (e) {
    throw new Error(userSet
      ? `database.vpcSubnets selects no subnets in the VPC (${(e as Error).message}); pass a selection that exists, e.g. { subnetGroupName: '<a subnet group of the VPC>' }.`
      : `The VPC has no isolated or private subnets for the database (${(e as Error).message}); pass database.vpcSubnets.`);
  }
  const azs = new Set(selected.availabilityZones.filter((az) => !Token.isUnresolved(az)));
  if (selected.subnetIds.length < 2 || (azs.size > 0 && azs.size < 2)) {
    const where = azs.size > 0 ? ` in ${azs.size} AZ(s)` : '';
    throw new Error(`${what} must select subnets in at least two Availability Zones (Aurora needs them), got ${selected.subnetIds.length} subnet(s)${where}${userSet ? '' : '; pass database.vpcSubnets'}.`);
  }
}

/** The log group RDS Enhanced Monitoring writes to, in each account and region. */
const ENHANCED_MONITORING_LOG_GROUP = 'RDSOSMetrics';

function enhancedMonitoringRole(scope: Construct): iam.Role {
  const stack = Stack.of(scope);
  const logGroupArn = enhancedMonitoringLogGroupArn(scope);
  // A customer-managed policy rather than an inline one: the NIST 800-53, HIPAA and PCI packs
  // ask for no inline policies.
  const policy = new iam.ManagedPolicy(scope, 'MonitoringPolicy', {
    description: 'RDS Enhanced Monitoring: write OS metrics to the RDSOSMetrics log group',
    statements: [
      // IAM authorizes every Logs action but the tagging ones against the ':*' form of the
      // log-group ARN (CloudWatch Logs permissions reference), which also covers its streams.
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
        resources: [`${logGroupArn}:*`],
      }),
    ],
  });
  addNagSuppressions(policy, [{
    id: `AwsSolutions-IAM5[Resource::${nagResourceName(scope, logGroupArn)}:*]`,
    reason: 'RDS names one log stream per instance by its resource ID, which is unknown until the instance exists; the role writes to the RDSOSMetrics log group only.',
  }]);
  return new iam.Role(scope, 'MonitoringRole', {
    description: 'Lets RDS Enhanced Monitoring of this account write OS metrics to the RDSOSMetrics log group',
    assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'rds', resource: 'db', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    }),
    managedPolicies: [policy],
  });
}

function enhancedMonitoringLogGroupArn(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: 'logs', resource: 'log-group', resourceName: ENHANCED_MONITORING_LOG_GROUP, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}
