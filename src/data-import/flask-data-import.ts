import * as path from 'path';
import { ArnFormat, Aws, CfnOutput, Duration, Fn, RemovalPolicy, Size, SizeRoundingBehavior, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { givenOrNewLogsKey } from '../core/kms';
import { addCheckovSuppressions, addGuardSuppressions, addNagSuppressions, nagResourceName, suppressShortLogRetention, suppressWildcardResourceFor } from '../core/suppressions';
import { AuroraServerlessV2Db } from '../database/aurora-serverless-v2-db';
import { IFlaskDatabase } from '../database/flask-database';
import { FARGATE_MEMORY_BY_CPU } from '../service/fargate-sizes';

/** Options of the data import: what a user tunes. */
export interface FlaskDataImportOptions {
  /**
   * How long a dump (and its manifest) stays in the bucket after it was uploaded; S3 then
   * deletes it. Whole days from 1 to 365. A dump is a full copy of your data: keep it only
   * as long as you need to run and check the import.
   * @default Duration.days(7)
   */
  readonly expireDumpsAfter?: Duration;

  /**
   * Keep earlier versions of a dump uploaded again under the same key. Noncurrent versions are
   * deleted one day after they were replaced (or expired), so versioning keeps a copy at most a
   * day longer than `expireDumpsAfter`.
   * @default false
   */
  readonly versioned?: boolean;

  /**
   * What happens to the dump bucket when it leaves the stack. The default keeps it: a dump may
   * be the only copy of your data once the old server is gone, so deleting the stack must not
   * delete it. The kept bucket still applies its lifecycle rule, so it empties itself within
   * `expireDumpsAfter` and then costs nothing; delete it yourself when you like. With
   * `RemovalPolicy.DESTROY` CloudFormation deletes the bucket only when it is empty (there is no
   * automatic emptying): a stack deletion while a dump is still there fails on the bucket, and
   * you decide whether to delete the dump.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * A bucket for S3 server access logs of the dump bucket (one line per request: who uploaded or
   * read which dump). It must be in the same account and region, and must not be the dump bucket.
   * @default - no server access logs; CloudTrail (management events, and data events if you turn
   * them on) records who called S3
   */
  readonly accessLogsBucket?: s3.IBucket;

  /**
   * Key prefix of the server access logs in `accessLogsBucket`.
   * @default 'dump-bucket/'
   */
  readonly accessLogsPrefix?: string;

  /**
   * KMS key that encrypts the dumps (SSE-KMS with an S3 Bucket Key) and the import's log group.
   * A `kms.Key` of this app gets the statement CloudWatch Logs needs added; an imported key must
   * allow CloudWatch Logs (`logs.<region>.amazonaws.com`) already. `FlaskServerlessPlatform`
   * passes its platform key.
   * @default - the database's key when the database is an `AuroraServerlessV2Db` (the dump holds
   * the same data), else a new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * CPU units of the import task (1024 = 1 vCPU): 256, 512, 1024, 2048, 4096, 8192 or 16384.
   * `pg_restore` does little work itself (the database does), but each parallel job is a process.
   * @default 1024
   */
  readonly cpu?: number;

  /**
   * Memory of the import task in MiB; a size Fargate allows for `cpu` (with 1024: 2048 to 8192).
   * @default 2048
   */
  readonly memoryLimitMiB?: number;

  /**
   * Ephemeral storage of the import task, where the dump is downloaded before it is restored:
   * at least the dump's size plus a margin. From 21 to 200 GiB (Fargate's limits); the first
   * 20 GiB are free, the rest is billed per GiB-hour while the task runs. Fargate encrypts it
   * with an AWS owned key.
   * @default Size.gibibytes(50)
   */
  readonly ephemeralStorage?: Size;

  /**
   * The app's migration bookkeeping table, which the dump must contain (`IMPORT_MIGRATIONS_TABLE`):
   * the import records the old database's migration state with the data, so that the app does
   * not run its migrations again on the imported schema. `schema_migrations` is the reference
   * app's, `alembic_version` Flask-Migrate's; `-` skips the check.
   * @default 'schema_migrations'
   */
  readonly migrationsTable?: string;

  /**
   * The schema the app's role owns, into which the dump is restored (`DB_SCHEMA`).
   * @default 'app'
   */
  readonly schema?: string;

  /**
   * The import program's image. It must follow the import contract (see the README, "Bringing
   * your data across"), and run `python3 /opt/data-import/import.py` as its command.
   * @default - the image built from the package's `assets/data-import` folder, for linux/amd64
   */
  readonly image?: ecs.ContainerImage;

  /**
   * User (name or UID, optionally `:group`) the import container runs as; not root.
   * @default - 'postgres' (the default image's unprivileged user); with your own `image`, its USER
   */
  readonly containerUser?: string;

  /**
   * Retention of the import's log group. Each run writes a few lines (what was restored, the
   * counts it verified, or why it stopped), never row data or credentials: a record of the
   * migration worth keeping.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props of `FlaskDataImport`: the options plus the wiring. */
export interface FlaskDataImportProps extends FlaskDataImportOptions {
  /** The VPC of the database and of the import task. */
  readonly vpc: ec2.IVpc;

  /**
   * The database to import into. The task gets its master credentials (the `username` and
   * `password` fields of its secret) and may reach its port.
   */
  readonly database: IFlaskDatabase;

  /**
   * Subnets the import task runs in: they need a route to ECR, S3, CloudWatch Logs and Secrets
   * Manager (a NAT, VPC endpoints, or public subnets with `assignPublicIp`). Use the app's subnets.
   * @default - the private subnets with egress, or else one isolated subnet per AZ
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Give the import task a public IP address; needed in public subnets without a NAT.
   * @default false
   */
  readonly assignPublicIp?: boolean;

  /**
   * The ECS cluster to run the task in.
   * @default - a new cluster without Container Insights
   */
  readonly cluster?: ecs.ICluster;
}

/** Name of the import container (the run-task overrides name it). */
const CONTAINER_NAME = 'Import';
/** Key prefix of the dumps: the task may read under it only. */
const DUMP_PREFIX = 'dumps/';
/** The dump's key in the commands of the stack outputs. */
const DUMP_FILE = 'dump.pgc';
/** The default image's unprivileged user (the `postgres` user of its base image). */
const DEFAULT_IMAGE_USER = 'postgres';

/**
 * Brings the data of an existing PostgreSQL database into the platform's Aurora database: an
 * encrypted, private, SSL-only S3 bucket that keeps dumps for a few days, and a one-off Fargate
 * task that wakes the database, downloads a dump, restores it in one transaction, hands what it
 * restored to the app's database role, checks every table's row count against the manifest
 * uploaded with the dump, and commits only if they all match (exit 0); on any failure nothing
 * changes.
 *
 * The stack outputs give the commands: dump (`pg_dump -Fc`), write the manifest, upload both,
 * run the task, follow its log and read its exit status. The README walks through them
 * ("Bringing your data across").
 *
 * The task runs in the app's subnets and reaches the database the way the app does; its
 * environment follows the import contract: `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_SSLMODE`
 * (`verify-full`), `DB_USER` (the app's role), `DB_SCHEMA`, `IMPORT_MIGRATIONS_TABLE`,
 * `AWS_REGION`, and `DB_ADMIN_USER`/`DB_ADMIN_PASSWORD` injected by ECS from the database's
 * secret; the run-task command adds `IMPORT_DUMP_URI` (and, if you choose, `IMPORT_REPLACE=1`).
 */
export class FlaskDataImport extends Construct {
  /** The bucket of the dumps. Upload under `dumpPrefix`. */
  public readonly bucket: s3.Bucket;
  /** Key prefix under which the task may read dumps (`dumps/`). */
  public readonly dumpPrefix: string = DUMP_PREFIX;
  /** The key that encrypts the dumps and the logs. */
  public readonly encryptionKey: kms.IKey;
  /** The one-off import task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The import container. */
  public readonly container: ecs.ContainerDefinition;
  /** The cluster the task runs in. */
  public readonly cluster: ecs.ICluster;
  /** The task's security group: admitted to the database port. */
  public readonly connections: ec2.Connections;
  /** The security group of the task (for `aws ecs run-task`). */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The subnets the task runs in (for `aws ecs run-task`). */
  public readonly subnets: ec2.SelectedSubnets;
  /** Whether the run-task command gives the task a public IP. */
  public readonly assignPublicIp: boolean;
  /** The import's log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FlaskDataImportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const expireDumpsAfter = props.expireDumpsAfter ?? Duration.days(7);
    const versioned = props.versioned ?? false;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const cpu = props.cpu ?? 1024;
    const memoryLimitMiB = props.memoryLimitMiB ?? 2048;
    const ephemeralStorage = props.ephemeralStorage ?? Size.gibibytes(50);
    const migrationsTable = props.migrationsTable ?? 'schema_migrations';
    const schema = props.schema ?? 'app';
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.assignPublicIp = props.assignPublicIp ?? false;

    validateWholeDays('dataImport.expireDumpsAfter', expireDumpsAfter, 1, 365);
    validateSize(cpu, memoryLimitMiB);
    const storageGiB = validateEphemeralStorage(ephemeralStorage);
    if (!Token.isUnresolved(migrationsTable) && migrationsTable !== '-' && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(migrationsTable)) {
      throw new Error(`dataImport.migrationsTable must be a table name (letters, digits and '_', at most 63) or '-' to skip the check, got '${migrationsTable}'.`);
    }
    if (props.containerUser !== undefined && !Token.isUnresolved(props.containerUser) && /^(root|0)(:|$)/.test(props.containerUser)) {
      throw new Error(`dataImport.containerUser must not be root, got '${props.containerUser}'; the import needs no privilege in its container.`);
    }
    if (!Token.isUnresolved(schema) && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new Error(`dataImport.schema must be 1 to 63 lowercase letters, digits or '_', not starting with a digit (a PostgreSQL schema name), got '${schema}'.`);
    }
    if (props.accessLogsPrefix !== undefined && !props.accessLogsBucket) {
      throw new Error('dataImport.accessLogsPrefix applies only with accessLogsBucket; pass the log bucket or remove accessLogsPrefix.');
    }
    if (props.cluster && props.cluster.vpc && !Token.isUnresolved(props.cluster.vpc.vpcId) && !Token.isUnresolved(props.vpc.vpcId)
      && props.cluster.vpc.vpcId !== props.vpc.vpcId) {
      throw new Error('dataImport: the cluster belongs to another VPC than the database; pass a cluster of the same VPC, or none (a new one is created).');
    }
    let subnets: ec2.SelectedSubnets;
    try {
      subnets = props.vpc.selectSubnets(props.vpcSubnets ?? defaultSubnets(props.vpc));
    } catch (e) {
      throw new Error(`dataImport: the import task's subnets select nothing in the VPC (${(e as Error).message}); pass vpcSubnets that reach ECR, S3, CloudWatch Logs and Secrets Manager.`);
    }
    if (subnets.subnetIds.length === 0) {
      throw new Error('dataImport: the import task\'s subnets select nothing in the VPC; pass vpcSubnets that reach ECR, S3, CloudWatch Logs and Secrets Manager.');
    }
    this.subnets = subnets;

    const defaultKey = props.database instanceof AuroraServerlessV2Db ? props.database.encryptionKey : undefined;
    this.encryptionKey = givenOrNewLogsKey(this, 'Key', props.encryptionKey ?? defaultKey, {
      description: 'Encrypts the database dumps to import and the import logs',
    });
    const key = this.encryptionKey;

    // ---- the dump bucket ----
    this.bucket = new s3.Bucket(this, 'Dumps', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      // One data key per bucket instead of one KMS call per object and part.
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: props.accessLogsBucket ? (props.accessLogsPrefix ?? 'dump-bucket/') : undefined,
      lifecycleRules: [
        {
          id: 'ExpireDumps',
          expiration: expireDumpsAfter,
          // A failed upload of a large dump leaves parts behind: they are data too.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          noncurrentVersionExpiration: versioned ? Duration.days(1) : undefined,
        },
        ...(versioned ? [{ id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true }] : []),
      ],
      removalPolicy,
    });
    // Uploads that name no encryption get the bucket's key. One that asks for another (SSE-S3,
    // or `--sse aws:kms` without a key ID, which S3 serves with the AWS managed key aws/s3) is
    // refused, so that every dump is under this key and its key policy. Requests without the
    // headers pass: multipart parts never carry them, and a negated condition on a missing key
    // holds, so each statement also requires its header to be there.
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyOtherEncryption',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [this.bucket.arnForObjects('*')],
      conditions: { Null: { 's3:x-amz-server-side-encryption': 'false', 's3:x-amz-server-side-encryption-aws-kms-key-id': 'true' } },
    }));
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyOtherKeys',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [this.bucket.arnForObjects('*')],
      conditions: {
        Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
        StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': key.keyArn },
      },
    }));
    this.suppressBucketFindings(props.accessLogsBucket !== undefined, versioned, expireDumpsAfter);

    // ---- the log group and the cluster ----
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logRetention, encryptionKey: key });
    suppressShortLogRetention(this.logGroup, logRetention,
      'Retention is the dataImport.logRetention option, shortened by the user; the import writes a few lines per run.');

    if (props.cluster) {
      this.cluster = props.cluster;
    } else {
      this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.DISABLED });
      const reason = 'Runs one-off import tasks only; Container Insights would bill custom metrics for a task that runs minutes, and the task\'s exit status and logs say how it went.';
      addNagSuppressions(this.cluster, [{ id: 'AwsSolutions-ECS4', reason }]);
      addCheckovSuppressions(this.cluster, [{ id: 'CKV_AWS_65', reason }]);
      addGuardSuppressions(this.cluster, [{ id: 'ecs_container_insights_enabled_check', reason }]);
    }

    // ---- the task ----
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      ephemeralStorageGiB: storageGiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    // ECS may assume the task role only for tasks of this account and region (confused deputy).
    (this.taskDefinition.taskRole.node.defaultChild as iam.CfnRole).addPropertyOverride('AssumeRolePolicyDocument.Statement.0.Condition', {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ecs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) },
    });

    const database = props.database;
    if (database.appUsername === undefined) {
      // The import hands every restored object to the app's own role; the master user cannot be
      // that role (the program refuses it), and without one the app would not find the tables.
      throw new Error('FlaskDataImport needs a database with its app role (appUsername, which needs iamAuthentication: true, the default): the import hands the restored objects to that role.');
    }
    this.container = this.taskDefinition.addContainer(CONTAINER_NAME, {
      image: props.image ?? ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'assets', 'data-import'), { platform: Platform.LINUX_AMD64 }),
      command: props.image ? undefined : ['python3', '/opt/data-import/import.py'],
      essential: true,
      memoryLimitMiB,
      // Connection settings only: the credentials come from the secret below.
      environment: {
        DB_HOST: database.endpointAddress,
        DB_PORT: Tokenization.stringifyNumber(database.port),
        DB_NAME: database.databaseName,
        DB_SSLMODE: 'verify-full',
        DB_USER: database.appUsername,
        DB_SCHEMA: schema,
        IMPORT_MIGRATIONS_TABLE: migrationsTable,
        AWS_REGION: Aws.REGION,
      },
      secrets: {
        DB_ADMIN_USER: ecs.Secret.fromSecretsManager(database.secret, 'username'),
        DB_ADMIN_PASSWORD: ecs.Secret.fromSecretsManager(database.secret, 'password'),
      },
      // Blocking: the last lines (the pg_restore error, the count that did not match) are the result.
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'import', mode: ecs.AwsLogDriverMode.BLOCKING }),
      user: props.containerUser ?? (props.image ? undefined : DEFAULT_IMAGE_USER),
    });

    // Read dumps (and their manifests), nothing else; decrypt only through S3 for this bucket.
    this.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [this.bucket.arnForObjects(`${DUMP_PREFIX}*`)],
    }));
    this.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${stack.region}.amazonaws.com`,
          // With an S3 Bucket Key the encryption context is the bucket's ARN.
          'kms:EncryptionContext:aws:s3:arn': this.bucket.bucketArn,
        },
      },
    }));

    // ---- network ----
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'One-off data import task: out to the database port and to AWS APIs over HTTPS; nothing in',
      allowAllOutbound: false,
    });
    // ECR, S3, CloudWatch Logs and Secrets Manager: through a NAT, the task's public IP, or the
    // VPC endpoints; the subnets' routes decide which of them the address reaches.
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and the image registry');
    this.securityGroup = securityGroup;
    this.connections = securityGroup.connections;
    database.connections.allowFrom(this.connections, ec2.Port.tcp(database.port), 'PostgreSQL from the data import task');

    this.addSuppressions();
    this.addOutputs();
  }

  /**
   * Lets `grantee` upload dumps under `dumpPrefix`: `s3:PutObject` and `s3:AbortMultipartUpload`
   * there, and encrypting with the dumps' key (large uploads are multipart, which also decrypts).
   * It cannot read dumps back.
   */
  public grantUpload(grantee: iam.IGrantable): iam.Grant {
    const grant = this.bucket.grantPut(grantee, `${DUMP_PREFIX}*`);
    iam.Grant.addToPrincipal({ grantee, actions: ['s3:AbortMultipartUpload'], resourceArns: [this.bucket.arnForObjects(`${DUMP_PREFIX}*`)] });
    return grant;
  }

  /** The S3 URI of a dump uploaded as `fileName` under the dump prefix. */
  public dumpUri(fileName: string = DUMP_FILE): string {
    return `s3://${this.bucket.bucketName}/${DUMP_PREFIX}${fileName}`;
  }

  /**
   * The `aws ecs run-task` command that imports `fileName` (a dump under the dump prefix), with
   * the task's subnets, security group and public IP setting; it prints the task's ARN.
   */
  public runTaskCommand(fileName: string = DUMP_FILE): string {
    const network = `awsvpcConfiguration={subnets=[${Fn.join(',', this.subnets.subnetIds)}],securityGroups=[${this.securityGroup.securityGroupId}],assignPublicIp=${this.assignPublicIp ? 'ENABLED' : 'DISABLED'}}`;
    const overrides = `{"containerOverrides":[{"name":"${CONTAINER_NAME}","environment":[{"name":"IMPORT_DUMP_URI","value":"${this.dumpUri(fileName)}"}]}]}`;
    return [
      'aws ecs run-task',
      `--region ${Aws.REGION}`,
      `--cluster ${this.cluster.clusterName}`,
      `--task-definition ${this.taskDefinition.family}`,
      '--launch-type FARGATE',
      `--network-configuration '${network}'`,
      `--overrides '${overrides}'`,
      '--query \'tasks[0].taskArn\' --output text',
    ].join(' ');
  }

  private addOutputs(): void {
    const region = Aws.REGION;
    const sse = `--sse aws:kms --sse-kms-key-id ${this.encryptionKey.keyArn}`;
    const cluster = this.cluster.clusterName;
    new CfnOutput(this, 'DumpBucketName', { value: this.bucket.bucketName, description: `Bucket of the database dumps to import (under ${DUMP_PREFIX})` });
    new CfnOutput(this, 'DumpCommand', {
      description: '1. Dump the old database (PostgreSQL 11 to 16) in custom format with pg_dump 16, while the app is stopped',
      value: `pg_dump -Fc --dbname="$SOURCE_DATABASE_URL" -f ${DUMP_FILE}`,
    });
    new CfnOutput(this, 'ManifestCommand', {
      description: `2. Count its rows for the import to check (make-manifest.py is in the package's assets/data-import folder). While the app still writes, do 1 and 2 in one: python3 make-manifest.py --dump ${DUMP_FILE} --dbname "$SOURCE_DATABASE_URL"`,
      value: `python3 make-manifest.py --dbname "$SOURCE_DATABASE_URL" --output ${DUMP_FILE}.manifest.json`,
    });
    new CfnOutput(this, 'UploadCommand', {
      description: '3. Upload the dump and its manifest (encrypted with the platform key)',
      value: `aws s3 cp ${DUMP_FILE} ${this.dumpUri()} ${sse} --region ${region} && aws s3 cp ${DUMP_FILE}.manifest.json ${this.dumpUri(`${DUMP_FILE}.manifest.json`)} ${sse} --region ${region}`,
    });
    new CfnOutput(this, 'RunTaskCommand', {
      description: '4. Start the import (add {"name":"IMPORT_REPLACE","value":"1"} to the environment to replace existing tables)',
      value: `TASK=$(${this.runTaskCommand()}) && echo $TASK`,
    });
    new CfnOutput(this, 'LogsCommand', {
      description: '5. Follow the import\'s log',
      value: `aws logs tail ${this.logGroup.logGroupName} --region ${region} --follow --log-stream-name-prefix import/${CONTAINER_NAME}/`,
    });
    new CfnOutput(this, 'ResultCommand', {
      description: '6. Wait for the task to stop and print its exit code (0 = imported and verified); run again if the wait times out',
      value: `aws ecs wait tasks-stopped --region ${region} --cluster ${cluster} --tasks "$TASK"; aws ecs describe-tasks --region ${region} --cluster ${cluster} --tasks "$TASK" --query 'tasks[0].[containers[0].exitCode,stoppedReason]' --output text`,
    });
  }

  private suppressBucketFindings(accessLogs: boolean, versioned: boolean, expireAfter: Duration): void {
    const bucket = this.bucket.node.defaultChild!;
    const days = expireAfter.isUnresolved() ? 'expireDumpsAfter' : `${expireAfter.toDays()} days`;
    if (!accessLogs) {
      const reason = 'Server access logs are opt-in (dataImport.accessLogsBucket): a log bucket of its own would be one more bucket to secure and pay for, for a bucket that holds dumps for a few days; CloudTrail records who called S3, and the import task is the only reader the bucket policy and IAM allow besides the account\'s administrators.';
      addNagSuppressions(bucket, [{ id: 'AwsSolutions-S1', reason }]);
      addCheckovSuppressions(bucket, [{ id: 'CKV_AWS_18', reason }]);
      addGuardSuppressions(bucket, [{ id: 's3_bucket_logging_enabled_check', reason }]);
    }
    if (!versioned) {
      const reason = `Dumps are short-lived copies of the user's data that expire after ${days}; versioning would keep deleted copies longer. Turn it on with dataImport.versioned (noncurrent versions then expire after a day).`;
      addCheckovSuppressions(bucket, [{ id: 'CKV_AWS_21', reason }]);
      addGuardSuppressions(bucket, [{ id: 's3_bucket_versioning_enabled_check', reason }]);
    }
    addGuardSuppressions(bucket, [
      { id: 's3_bucket_object_lock_enabled_check', reason: `Object Lock would stop the lifecycle rule from deleting dumps, copies of the user's data, after ${days}; here deleting them on time is the protection.` },
      { id: 's3_event_notifications_enabled_check', reason: 'Nothing reacts to an upload: the user starts the import (aws ecs run-task) once both the dump and its manifest are uploaded.' },
    ]);
  }

  private addSuppressions(): void {
    const taskDefinition = this.taskDefinition.node.defaultChild!;
    addGuardSuppressions(taskDefinition, [{
      id: 'ecs_containers_readonly_access_check',
      reason: 'The import downloads the dump to /tmp on the task\'s ephemeral storage, as an unprivileged user; a Fargate bind mount there would be writable by root only. The task runs once, for one import.',
    }]);
    addNagSuppressions(taskDefinition, [{
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds the connection settings only (host, port, database, role and schema names, region); the credentials come from the database secret through ECS secrets.',
    }]);
    const taskPolicy = this.taskDefinition.taskRole.node.tryFindChild('DefaultPolicy');
    if (taskPolicy) {
      addNagSuppressions(taskPolicy, [{
        id: `AwsSolutions-IAM5[Resource::${nagResourceName(this, this.bucket.arnForObjects(`${DUMP_PREFIX}*`))}]`,
        reason: `The dump's key is chosen when the import is run; the task may only read objects under ${DUMP_PREFIX} of the dump bucket.`,
      }]);
    }
    const executionPolicy = this.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      suppressWildcardResourceFor(executionPolicy, {
        'ecr:GetAuthorizationToken': 'it has no resource-level permissions; the image pull, the logs and the secret are scoped to their ARNs.',
      });
    }
  }
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  if (vpc.privateSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED, onePerAz: true };
}

function validateWholeDays(prop: string, value: Duration, min: number, max: number): void {
  if (value.isUnresolved()) return;
  const hours = value.toHours({ integral: false });
  if (hours % 24 !== 0 || hours < min * 24 || hours > max * 24) {
    throw new Error(`${prop} must be whole days from ${min} to ${max}, got ${value.toHumanString()}.`);
  }
}

function validateSize(cpu: number, memoryLimitMiB: number): void {
  if (Token.isUnresolved(cpu) || Token.isUnresolved(memoryLimitMiB)) return;
  const memories = FARGATE_MEMORY_BY_CPU[cpu];
  if (!memories) {
    throw new Error(`dataImport.cpu must be one of the Fargate CPU sizes ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')} (CPU units, 1024 = 1 vCPU), got ${cpu}.`);
  }
  if (!memories.includes(memoryLimitMiB)) {
    throw new Error(`dataImport.memoryLimitMiB ${memoryLimitMiB} is not valid with cpu ${cpu}; Fargate accepts these memory sizes (MiB) for that CPU: ${memories.join(', ')}.`);
  }
}

function validateEphemeralStorage(size: Size): number {
  const gib = size.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
  if (Token.isUnresolved(gib)) return gib;
  if (!Number.isInteger(gib) || gib < 21 || gib > 200) {
    throw new Error(`dataImport.ephemeralStorage must be whole GiB from 21 to 200 (Fargate's limits), got ${gib} GiB.`);
  }
  return gib;
}
