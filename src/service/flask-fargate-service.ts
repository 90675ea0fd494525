import { createHash } from 'crypto';
import { Annotations, ArnFormat, CfnResource, Duration, Fn, Size, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, Dependable, IDependable } from 'constructs';
import { addAppRoleStep, APP_SCHEMA, DEFAULT_APP_ROLE_COMMAND, IAM_AUTH_ENV, SCHEMA_ENV } from './app-role-step';
import { validateFargateSize } from './fargate-sizes';
import { GeneratedSecureStrings } from './generated-secure-strings';
import { givenOrNewLogsKey } from '../core/kms';
import { keepEgressClosed } from '../core/security-groups';
import {
  addCheckovSuppressions, addGuardSuppressions, addNagSuppressions, CompliancePack, INLINE_POLICY_REASON, packSuppressions,
  suppressShortLogRetention, suppressAlarmActionsLeftToCaller, suppressWildcardResourceFor,
} from '../core/suppressions';
import { validatePort } from '../core/validation';
import { FlaskDatabaseGrants, IFlaskDatabase } from '../database/flask-database';

/**
 * Names of the environment variables that carry the database connection to the container.
 *
 * There is deliberately no single `DATABASE_URL`: a URL needs the password inside it, and ECS can
 * only inject a secret as a whole variable, not compose it into a string. Build the URL in the
 * application from these variables.
 */
export interface DatabaseEnvironmentNames {
  /**
   * Host name of the writer endpoint.
   * @default 'DB_HOST'
   */
  readonly host?: string;
  /**
   * TCP port.
   * @default 'DB_PORT'
   */
  readonly port?: string;
  /**
   * Database name.
   * @default 'DB_NAME'
   */
  readonly name?: string;
  /**
   * User name.
   * @default 'DB_USER'
   */
  readonly user?: string;
  /**
   * Password, read from the database secret's `password` field. Not given with `databaseAppRole`
   * (the app signs IAM tokens instead).
   * @default 'DB_PASSWORD'
   */
  readonly password?: string;
  /**
   * libpq SSL mode, always `require` (the connection is encrypted).
   * @default 'DB_SSLMODE'
   */
  readonly sslMode?: string;
}

/**
 * Target tracking on the service's task count. A Network Load Balancer has no per-target request
 * count metric, so the service scales on CPU and, optionally, memory utilization.
 */
export interface FlaskFargateServiceAutoScaling {
  /** Fewest tasks; at least 1. */
  readonly minCapacity: number;
  /** Most tasks; at least `minCapacity`. */
  readonly maxCapacity: number;
  /**
   * Average CPU utilization (percent) to keep the service at.
   * @default 60
   */
  readonly cpuTargetUtilizationPercent?: number;
  /**
   * Average memory utilization (percent) to keep the service at.
   * @default - no memory target
   */
  readonly memoryTargetUtilizationPercent?: number;
}

/** Options of the Fargate service: what a user tunes. */
export interface FlaskFargateServiceOptions {
  /**
   * CPU units of the task (1024 = 1 vCPU): 256, 512, 1024, 2048, 4096, 8192 or 16384.
   * @default 256
   */
  readonly cpu?: number;

  /**
   * Memory of the task in MiB; it must be a size Fargate allows for `cpu` (with 256 CPU units:
   * 512, 1024 or 2048).
   * @default 512
   */
  readonly memoryLimitMiB?: number;

  /**
   * Number of tasks. Leave unset with `autoScaling`, which owns the count.
   * @default 1
   */
  readonly desiredCount?: number;

  /**
   * Port the application listens on inside the container. It is also passed to the container
   * as `PORT` (gunicorn binds to `0.0.0.0:$PORT` when it is set).
   * @default 8000
   */
  readonly containerPort?: number;

  /**
   * HTTP path that answers 200 when the application is up; used by the load balancer and by the
   * container health check. Keep it free of database calls so a paused database does not make
   * the tasks look broken.
   * @default '/health'
   */
  readonly healthCheckPath?: string;

  /**
   * How long ECS ignores failing load balancer health checks of a new task, to cover the boot
   * of the application and the resume of a paused database. From 0 to 7200 seconds.
   * @default - Duration.seconds(120); Duration.seconds(180) with `databaseAppRole`, whose admin
   * step (which wakes a paused database) runs first
   */
  readonly healthCheckGracePeriod?: Duration;

  /**
   * Shell command of the container health check, run with `CMD-SHELL`. It must exit 0 when the
   * application is healthy.
   * @default - Python's urllib fetches `http://localhost:<containerPort><healthCheckPath>` (slim
   * Python images have no curl); with `containerTls`, `https://` without verifying the
   * container's own certificate
   */
  readonly containerHealthCheckCommand?: string;

  /**
   * User (name or UID, optionally `:group`) the container runs as. Set it when the image does not
   * end with a non-root `USER`.
   * @default - the image's USER
   */
  readonly containerUser?: string;

  /**
   * TCP port of the load balancer listener (the VPC link's target port).
   * @default - 443 with `tlsCertificate`, else 80
   */
  readonly listenerPort?: number;

  /**
   * ACM certificate for a TLS listener on the load balancer, so that the hop from API Gateway
   * to the load balancer is encrypted. It must be a certificate API Gateway trusts (issued by ACM
   * or another public CA, in the stack's region) for the host name the API uses
   * (`KeyedRestApiOptions.integrationTlsHostname`). The load balancer then forwards to the tasks
   * over plain TCP unless `containerTls` is on.
   * @default - no TLS: a TCP listener
   */
  readonly tlsCertificate?: acm.ICertificate;

  /**
   * Security policy (TLS versions and ciphers) of the TLS listener. Only with `tlsCertificate`.
   * @default elbv2.SslPolicy.TLS13_RES (TLS 1.3 and 1.2, forward-secret AEAD ciphers only)
   */
  readonly tlsSecurityPolicy?: elbv2.SslPolicy;

  /**
   * The container serves TLS itself on `containerPort`, so that the hop from the load balancer to
   * the task is encrypted too: the target group and its health check use TLS and HTTPS. The image
   * must do it, e.g. gunicorn `--certfile`/`--keyfile` with a self-signed certificate generated
   * when the container starts; the load balancer does not verify target certificates. Requires
   * `tlsCertificate` (a TLS listener in front).
   * @default false
   */
  readonly containerTls?: boolean;

  /**
   * S3 bucket for the load balancer's access logs (one line per TLS connection). Network Load
   * Balancers log TLS listeners only, so this requires `tlsCertificate`. The bucket must be in the
   * stack's region and encrypted with S3 managed keys (SSE-S3) or a customer managed KMS key that
   * lets `delivery.logs.amazonaws.com` use it. A bucket defined in the same app gets the bucket
   * policy statements that let log delivery write for this account only; an imported bucket
   * must have them already.
   * @default - no access logs
   */
  readonly accessLogsBucket?: s3.IBucket;

  /**
   * Plain environment variables, written into the task definition. Not for secrets: anyone who
   * can read the task definition or the template sees them. Prefer `settings`.
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * Configuration values, each stored as a String parameter `<parameterPath><NAME>` and given to
   * the container as the environment variable NAME through ECS `secrets`. Tasks read them at
   * start: changing a value here also rolls the tasks. Plain values stay out of the task
   * definition (only a hash of them is in a docker label). A value that is a token, known only at
   * deploy time (such as a database address), is also copied into the docker label
   * `cdk-flask-serverless.settings-tokens`, so that the tasks roll when it changes; a dynamic
   * reference (`{{resolve:...}}`) is copied as the reference, never as the value it resolves to.
   * Not for secrets: use `generatedSecrets` or `existingSecrets`.
   * @default - none
   */
  readonly settings?: Record<string, string>;

  /**
   * Names of secrets to generate, e.g. `['SECRET_KEY']`: each becomes a SecureString parameter
   * `<parameterPath><NAME>` with 64 random URL-safe characters, encrypted with `parametersKey`,
   * created inside AWS by a custom resource (the value never appears in a template, log or
   * output) and given to the container as the environment variable NAME. The value is kept
   * across deployments; it is deleted with the stack.
   * @default - none
   */
  readonly generatedSecrets?: string[];

  /**
   * Secrets you manage yourself, by environment variable name. Create each as a SecureString
   * first, for example
   * `aws ssm put-parameter --type SecureString --name /flask/MyStack/Service/API_TOKEN --value '...' --key-id alias/my-key`,
   * then pass `ssm.StringParameter.fromSecureStringParameterAttributes(this, 'ApiToken', { parameterName: '/flask/MyStack/Service/API_TOKEN' })`.
   * The task execution role may read exactly these parameters.
   * @default - none
   */
  readonly existingSecrets?: Record<string, ssm.IParameter>;

  /**
   * The customer-managed KMS key that encrypts `existingSecrets`, so that the task may decrypt
   * them (only through Parameter Store, only those parameters).
   * @default - none; the secrets are encrypted with the AWS managed key `aws/ssm`, which needs no grant
   */
  readonly existingSecretsKey?: kms.IKey;

  /**
   * KMS key that encrypts the generated SecureString parameters and the service logs. A `kms.Key` of this app gets the statements it needs added;
   * an imported key must allow CloudWatch Logs (`logs.<region>.amazonaws.com`) already.
   * `FlaskServerlessPlatform` passes its one platform key here.
   * @default - a new customer-managed key with yearly rotation (1 USD a month, and 1 more after each of its first two rotations)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Parameter Store path of this service's settings and generated secrets; it must start and
   * end with '/', and contain only letters, digits and `_.-/`.
   * @default '/flask/<stack name>/<construct id>/'
   */
  readonly parameterPath?: string;

  /**
   * Names of the database environment variables (with a `database`).
   * @default - DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, DB_SSLMODE
   */
  readonly databaseEnvironmentNames?: DatabaseEnvironmentNames;

  /**
   * Connect as the database's own app role (`IFlaskDatabase.appUsername`; `flask_app` with
   * `AuroraServerlessV2Db`) with IAM database authentication, so that the running app never holds
   * the master password:
   * - Every task first runs an admin step (`appRoleCommand`, a non-essential container from the
   *   same image, logged under the `app-role/` stream prefix). It alone receives the master secret,
   *   as `DB_ADMIN_USER` and `DB_ADMIN_PASSWORD`, creates or updates the role (owner of schema
   *   `DB_SCHEMA`, `app`, only) and exits.
   * - The app container starts once the step has exited with status 0. It gets `DB_USER` = the
   *   app role, `DB_IAM_AUTH=1` and `DB_SCHEMA`, and no `DB_PASSWORD`: it signs an IAM
   *   authentication token for each new connection (ECS sets `AWS_REGION`).
   * - The task role may `rds-db:connect` as the app role only, never as the master user.
   *
   * Turn it off for an image without the admin step: the app then connects as the master user
   * with `DB_PASSWORD`, as before. A database migrated by earlier tasks as the master user has its
   * tables in `public`: the reference app's admin step moves them into the role's schema once. Until
   * a rolling deployment has replaced them, older tasks still connecting as the master user no longer
   * see those tables, and a rollback to such a task definition would not either.
   * @default - true when the database has an `appUsername`
   */
  readonly databaseAppRole?: boolean;

  /**
   * The admin step's command (with `databaseAppRole`). It replaces both the image's ENTRYPOINT and
   * its CMD, and must exit 0 once the app role is ready.
   * @default ['python', '-m', 'app.app_role']
   */
  readonly appRoleCommand?: string[];

  /**
   * CPU architecture of the image. ARM64 (Graviton) costs about 20% less. An image built with
   * `ecs.ContainerImage.fromAsset` must be built for it: pass `platform` (`Platform.LINUX_AMD64`
   * or `Platform.LINUX_ARM64`), otherwise Docker builds for the machine that deploys and a
   * mismatched task stops with "exec format error".
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * Run the tasks on Fargate Spot (up to 70% cheaper; a task can be stopped with two minutes'
   * notice), on x86-64 or ARM64 (platform version 1.4.0, which the service uses). With a single
   * task, expect short outages. A cluster you pass in must have the Fargate capacity providers
   * enabled.
   * @default false
   */
  readonly spot?: boolean;

  /**
   * Scale the number of tasks on CPU (and optionally memory) utilization.
   * @default - a fixed `desiredCount`
   */
  readonly autoScaling?: FlaskFargateServiceAutoScaling;

  /**
   * Allow `aws ecs execute-command` into the tasks (needs a writable root file system).
   * @default false
   */
  readonly enableExecuteCommand?: boolean;

  /**
   * Mount the container's root file system read-only; a writable `/tmp` volume is added.
   * @default false
   */
  readonly readonlyRootFilesystem?: boolean;

  /**
   * Time between SIGTERM and SIGKILL when a task stops, for gunicorn to finish requests in
   * flight. At most 120 seconds (the Fargate limit). The load balancer's deregistration delay is
   * two thirds of it.
   * @default Duration.seconds(30)
   */
  readonly stopTimeout?: Duration;

  /**
   * Retention of the application log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Give the tasks public IP addresses (only useful in public subnets).
   * @default false
   */
  readonly assignPublicIp?: boolean;

  /**
   * Container Insights level of the cluster this construct creates. Off by default: it publishes
   * about 31 custom metrics per service (about 9.30 USD a month in ap-southeast-1) and every
   * alarm here reads free metrics (`AWS/ECS` CPU and memory, the load balancer's healthy and
   * unhealthy host counts). Turn it on for per-task metrics and performance logs.
   * @default ecs.ContainerInsights.DISABLED
   */
  readonly containerInsights?: ecs.ContainerInsights;
}

/** Props of `FlaskFargateService`: the options plus the wiring. */
export interface FlaskFargateServiceProps extends FlaskFargateServiceOptions {
  /** The VPC of the load balancer and the tasks. */
  readonly vpc: ec2.IVpc;

  /** The application image, e.g. `ecs.ContainerImage.fromAsset('app')`. */
  readonly image: ecs.ContainerImage;

  /**
   * The PostgreSQL database the application uses: its address, name and user become settings,
   * its password a secret, and the tasks may reach its port.
   * @default - no database
   */
  readonly database?: IFlaskDatabase;

  /**
   * An existing ECS cluster, with Container Insights enabled (the running-task alarm reads it).
   * @default - a new cluster with Container Insights
   */
  readonly cluster?: ecs.ICluster;

  /**
   * Subnets of the load balancer and the tasks. In a VPC with several isolated subnet groups
   * (such as `FlaskServerlessVpc` with VPC endpoints), pass its `appSubnets`.
   * @default - the private subnets with egress, or else one isolated subnet per AZ
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Why the log groups may keep less than the year some rule packs ask for. */
const LOG_RETENTION_REASON = 'Retention is the logRetention option (one month by default, for cost); application logs are for operations, not an audit archive.';
const PORT_ENV = 'PORT';
const REASON_NO_DELETION_PROTECTION = 'Stateless and owned by the stack: CloudFormation recreates it, and deletion protection would block stack updates that replace it and stack deletion.';
const MAX_STOP_TIMEOUT_SECONDS = 120;
const MAX_GRACE_PERIOD_SECONDS = 7200;

/**
 * A Flask application on ECS Fargate behind an internal Network Load Balancer, ready to be the
 * target of an API Gateway VPC link.
 *
 * Configuration comes from Parameter Store through ECS `secrets`: `settings` as String
 * parameters, `generatedSecrets` as SecureString parameters created inside AWS and encrypted
 * with a customer-managed key, `existingSecrets` as your own SecureStrings, and the database
 * password from its Secrets Manager secret. Deployments keep one task serving and roll back on
 * failure; logs go to a KMS-encrypted log group.
 *
 * Environment contract: `PORT` always; with a `database`, `DB_HOST`, `DB_PORT`, `DB_NAME`,
 * `DB_USER`, `DB_PASSWORD` and `DB_SSLMODE` (`require`), or with the database's app role
 * (`databaseAppRole`) `DB_USER` = that role, `DB_IAM_AUTH=1` and `DB_SCHEMA` instead of
 * `DB_PASSWORD`; plus every `settings`,
 * `generatedSecrets`, `existingSecrets` and `environment` name.
 */
export class FlaskFargateService extends Construct {
  /** The ECS cluster. */
  public readonly cluster: ecs.ICluster;
  /** The Fargate service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The application container. */
  public readonly container: ecs.ContainerDefinition;
  /**
   * The admin step that creates the app's database role before the app starts (with
   * `databaseAppRole`): the only container that receives the master secret.
   */
  public readonly appRoleContainer?: ecs.ContainerDefinition;
  /** The database user the app connects as: the app role with `databaseAppRole`, else the master user. */
  public readonly databaseUser?: string;
  /** The internal Network Load Balancer, for a VPC link. */
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** The listener of the load balancer: TCP, or TLS with `tlsCertificate`. */
  public readonly listener: elbv2.NetworkListener;
  /** The target group of the tasks. */
  public readonly targetGroup: elbv2.NetworkTargetGroup;
  /** Port of the load balancer listener. */
  public readonly listenerPort: number;
  /** Whether the listener terminates TLS (`tlsCertificate` is set): the API must call it over HTTPS. */
  public readonly tlsEnabled: boolean;
  /** Whether the load balancer speaks TLS to the tasks (`containerTls`). */
  public readonly containerTls: boolean;
  /** The tasks' security group: open `connections` to reach other resources from the tasks. */
  public readonly connections: ec2.Connections;
  /** The application log group. */
  public readonly logGroup: logs.LogGroup;
  /** The customer-managed key of the generated SecureString parameters and of the logs. */
  public readonly parametersKey: kms.IKey;
  /** Parameter Store path of this service's parameters, ending with '/'. */
  public readonly parameterPath: string;
  /** The service's alarms, with no actions (route them with `FlaskServerlessMonitoring`). */
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: FlaskFargateServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const cpu = props.cpu ?? 256;
    const memoryLimitMiB = props.memoryLimitMiB ?? 512;
    const containerPort = props.containerPort ?? 8000;
    this.tlsEnabled = props.tlsCertificate !== undefined;
    this.containerTls = props.containerTls ?? false;
    this.listenerPort = props.listenerPort ?? (this.tlsEnabled ? 443 : 80);
    const healthCheckPath = props.healthCheckPath ?? '/health';
    const appUsername = appRoleOf(props);
    // With the app role, the admin step runs (and wakes a paused database) before the app boots.
    const gracePeriod = props.healthCheckGracePeriod ?? Duration.seconds(appUsername === undefined ? 120 : 180);
    const stopTimeout = props.stopTimeout ?? Duration.seconds(30);
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    const spot = props.spot ?? false;
    const readonlyRootFilesystem = props.readonlyRootFilesystem ?? false;
    const enableExecuteCommand = props.enableExecuteCommand ?? false;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const desiredCount = props.desiredCount ?? (props.autoScaling ? undefined : 1);

    if (!Token.isUnresolved(cpu) && !Token.isUnresolved(memoryLimitMiB)) validateFargateSize(cpu, memoryLimitMiB);
    validateCount('service.desiredCount', props.desiredCount);
    validatePort('service.containerPort', containerPort);
    validatePort('service.listenerPort', this.listenerPort);
    validateHealthCheckPath(healthCheckPath);
    validateSeconds('service.healthCheckGracePeriod', gracePeriod, 0, MAX_GRACE_PERIOD_SECONDS,
      'ECS accepts more, but a task that needs longer to answer its health check is stuck, not booting');
    if (Token.isUnresolved(stopTimeout.toSeconds({ integral: false }))) {
      throw new Error('service.stopTimeout must be a concrete duration, not a token: it also sets the load balancer\'s deregistration delay (two thirds of it).');
    }
    validateSeconds('service.stopTimeout', stopTimeout, 2, MAX_STOP_TIMEOUT_SECONDS, 'the Fargate limit');
    validateImagePlatform(this, props.image, cpuArchitecture, props.cpuArchitecture !== undefined);
    if (enableExecuteCommand && readonlyRootFilesystem) {
      throw new Error('service.enableExecuteCommand needs a writable root file system (the ECS Exec agent writes to it); turn off readonlyRootFilesystem or enableExecuteCommand.');
    }
    if (props.autoScaling) {
      if (props.desiredCount !== undefined) {
        throw new Error(`service.desiredCount (${props.desiredCount}) conflicts with autoScaling, which owns the task count; remove desiredCount and set autoScaling.minCapacity.`);
      }
      validateAutoScaling(props.autoScaling);
    }
    if (props.cluster && props.containerInsights !== undefined) {
      throw new Error('service.containerInsights applies only to the cluster this construct creates; enable Container Insights on the cluster you pass instead.');
    }
    if (props.existingSecretsKey && Object.keys(props.existingSecrets ?? {}).length === 0) {
      throw new Error('service.existingSecretsKey is set but existingSecrets is empty; pass the parameters the key encrypts in existingSecrets.');
    }
    if (props.databaseEnvironmentNames && !props.database) {
      throw new Error('service.databaseEnvironmentNames is set but there is no database; pass a database or remove databaseEnvironmentNames.');
    }
    validateTls(props, this.containerTls);

    this.parameterPath = props.parameterPath ?? defaultParameterPath(stack.stackName, id);
    validateParameterPath(this.parameterPath);

    const dbNames = props.database ? databaseNames(props.databaseEnvironmentNames) : undefined;
    const settings: Record<string, string> = { [PORT_ENV]: Tokenization.stringifyNumber(containerPort) };
    // Every name the container receives, to catch an invalid name or one used twice.
    const names = new NameRegistry();
    names.add(PORT_ENV, 'the container port');
    if (props.database && dbNames) {
      settings[dbNames.host] = props.database.endpointAddress;
      settings[dbNames.port] = Tokenization.stringifyNumber(props.database.port);
      settings[dbNames.name] = props.database.databaseName;
      settings[dbNames.user] = appUsername ?? props.database.username;
      settings[dbNames.sslMode] = 'require';
      for (const [field, name] of Object.entries(dbNames)) {
        if (appUsername === undefined || field !== 'password') names.add(name, `databaseEnvironmentNames.${field}`);
      }
      if (appUsername !== undefined) {
        settings[IAM_AUTH_ENV] = '1';
        settings[SCHEMA_ENV] = APP_SCHEMA;
        names.add(IAM_AUTH_ENV, 'databaseAppRole');
        names.add(SCHEMA_ENV, 'databaseAppRole');
      }
    }
    this.databaseUser = props.database ? settings[dbNames!.user] : undefined;
    for (const [name, value] of Object.entries(props.settings ?? {})) {
      names.add(name, 'settings');
      if (!Token.isUnresolved(value) && value.length === 0) {
        throw new Error(`service.settings.${name} is empty; Parameter Store does not store empty values, so remove it or give it a value.`);
      }
      settings[name] = value;
    }
    for (const name of props.generatedSecrets ?? []) names.add(name, 'generatedSecrets');
    for (const name of Object.keys(props.existingSecrets ?? {})) names.add(name, 'existingSecrets');
    for (const name of Object.keys(props.environment ?? {})) names.add(name, 'environment');

    const key = givenOrNewLogsKey(this, 'ParametersKey', props.encryptionKey, {
      description: `Encrypts the SecureString parameters under ${this.parameterPath} and the service logs`,
    });
    this.parametersKey = key;

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logRetention, encryptionKey: key });
    suppressShortLogRetention(this.logGroup, logRetention, LOG_RETENTION_REASON);

    // Cluster
    if (props.cluster) {
      this.cluster = props.cluster;
    } else {
      this.cluster = new ecs.Cluster(this, 'Cluster', {
        vpc: props.vpc,
        containerInsightsV2: props.containerInsights ?? ecs.ContainerInsights.DISABLED,
        enableFargateCapacityProviders: spot,
        // ECS Exec sessions are logged to the service's own (encrypted) log group, so the task
        // role writes to that group only rather than to every log group.
        executeCommandConfiguration: enableExecuteCommand ? {
          logging: ecs.ExecuteCommandLogging.OVERRIDE,
          logConfiguration: { cloudWatchLogGroup: this.logGroup, cloudWatchEncryptionEnabled: true },
        } : undefined,
      });
      if ((props.containerInsights ?? ecs.ContainerInsights.DISABLED) === ecs.ContainerInsights.DISABLED) {
        const reason = 'Container Insights is off to keep idle cost down (about 31 billed metrics per service); every alarm reads free metrics (AWS/ECS CPU and memory, NLB healthy and unhealthy hosts). Set service.containerInsights to turn it on.';
        addNagSuppressions(this.cluster, [{ id: 'AwsSolutions-ECS4', reason }]);
        addCheckovSuppressions(this.cluster, [{ id: 'CKV_AWS_65', reason }]);
        addGuardSuppressions(this.cluster, [{ id: 'ecs_container_insights_enabled_check', reason }]);
      }
    }

    // Task definition and container
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      runtimePlatform: { cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const executionRole = this.taskDefinition.obtainExecutionRole();
    // ECS may assume the task role only for tasks of this account and region (confused deputy;
    // the conditions the ECS guide gives for task roles).
    (this.taskDefinition.taskRole.node.defaultChild as iam.CfnRole).addPropertyOverride('AssumeRolePolicyDocument.Statement.0.Condition', {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ecs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) },
    });

    const secrets: Record<string, ecs.Secret> = {};
    for (const [name, value] of Object.entries(settings)) {
      const parameter = new ssm.StringParameter(this, `Setting${name}`, {
        parameterName: `${this.parameterPath}${name}`,
        stringValue: value,
        description: `${name} of the Flask service`,
        simpleName: false,
      });
      secrets[name] = ecs.Secret.fromSsmParameter(parameter);
    }

    let generated: GeneratedSecureStrings | undefined;
    const generatedNames = props.generatedSecrets ?? [];
    if (generatedNames.length > 0) {
      generated = new GeneratedSecureStrings(this, 'GeneratedSecrets', {
        parameterNames: generatedNames.map((n) => `${this.parameterPath}${n}`),
        key,
        logRetention,
        logRetentionReason: LOG_RETENTION_REASON,
      });
      generated.parameters.forEach((parameter, i) => { secrets[generatedNames[i]] = ecs.Secret.fromSsmParameter(parameter); });
      allowDecryptThroughSsm(executionRole, key, generated.parameters.map((p) => p.parameterArn));
    }

    const existing = props.existingSecrets ?? {};
    for (const [name, parameter] of Object.entries(existing)) {
      secrets[name] = ecs.Secret.fromSsmParameter(parameter);
    }
    if (props.existingSecretsKey) {
      allowDecryptThroughSsm(executionRole, props.existingSecretsKey, Object.values(existing).map((p) => p.parameterArn));
    }
    // With the app role, the master password goes to the admin step only (below).
    if (props.database && dbNames && appUsername === undefined) {
      secrets[dbNames.password] = ecs.Secret.fromSecretsManager(props.database.secret, 'password');
    }

    const healthCommand = props.containerHealthCheckCommand ?? defaultHealthCommand(containerPort, healthCheckPath, this.containerTls);
    this.container = this.taskDefinition.addContainer('App', {
      image: props.image,
      essential: true,
      // The only long-running container (the admin step has exited before it starts, and sets no
      // memory of its own): its hard limit is the task's memory.
      memoryLimitMiB,
      user: props.containerUser,
      portMappings: [{ containerPort, protocol: ecs.Protocol.TCP }],
      environment: props.environment,
      secrets,
      // Tasks read parameters only when they start: a change in the task definition rolls them
      // when a setting changes. Plain values are hashed here; token values (e.g. the database
      // address, which changes when the cluster is replaced) can only be compared by CloudFormation,
      // so they are written into a label as CloudFormation resolves them.
      dockerLabels: settingsLabels(this, settings),
      // Non-blocking whatever the account's default: when CloudWatch Logs cannot be reached (e.g. its
      // endpoint's AZ is down), the app drops log lines from a 25 MiB buffer instead of hanging on stdout.
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'app', mode: ecs.AwsLogDriverMode.NON_BLOCKING, maxBufferSize: Size.mebibytes(25) }),
      healthCheck: {
        command: ['CMD-SHELL', healthCommand],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        // ECS allows up to 300 s; the load balancer's grace period covers the rest.
        startPeriod: Duration.seconds(Math.min(gracePeriod.toSeconds(), 300)),
      },
      stopTimeout,
      readonlyRootFilesystem,
    });
    if (readonlyRootFilesystem) {
      this.taskDefinition.addVolume({ name: 'tmp' });
      this.container.addMountPoints({ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false });
    }
    if (props.database && dbNames && appUsername !== undefined) {
      const shared = [dbNames.host, dbNames.port, dbNames.name, dbNames.sslMode, dbNames.user, IAM_AUTH_ENV, SCHEMA_ENV];
      this.appRoleContainer = addAppRoleStep({
        taskDefinition: this.taskDefinition,
        image: props.image,
        database: props.database,
        command: props.appRoleCommand ?? DEFAULT_APP_ROLE_COMMAND,
        settings: Object.fromEntries(shared.map((name) => [name, secrets[name]])),
        logGroup: this.logGroup,
        user: props.containerUser,
        readonlyRootFilesystem,
      });
      this.container.addContainerDependencies({ container: this.appRoleContainer, condition: ecs.ContainerDependencyCondition.SUCCESS });
      FlaskDatabaseGrants.grantAppConnect(props.database, this.taskDefinition.taskRole);
    }

    // Security groups: the load balancer admits nothing from inside the VPC (the API's VPC link
    // reaches it through PrivateLink, where inbound rules are not enforced, see below), so no
    // workload in the VPC can call the app without the API key; the tasks admit the container
    // port from the load balancer only and send HTTPS out (AWS APIs, image pulls).
    const subnets = props.vpcSubnets ?? defaultSubnets(props.vpc);
    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      description: 'Internal NLB of the Flask service: reachable only through the API Gateway VPC link',
      allowAllOutbound: false,
    });
    const taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: props.vpc,
      description: 'Flask service tasks: the container port from the NLB only',
      allowAllOutbound: false,
    });
    taskSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and image registries');
    this.connections = taskSecurityGroup.connections;

    // Load balancer
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: subnets,
      securityGroups: [lbSecurityGroup],
      // With one task, nodes in the other AZs must still reach it.
      crossZoneEnabled: true,
      // API Gateway REST VPC links reach the NLB through PrivateLink from addresses outside the
      // VPC, which inbound rules cannot name; the VPC link itself is the access control there.
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
    });
    this.connections.allowFrom(this.loadBalancer, ec2.Port.tcp(containerPort), 'Container port from the NLB');
    keepEgressClosed(lbSecurityGroup);
    if (props.accessLogsBucket) this.logAccessLogs(props.accessLogsBucket);
    const guardSuppressions = [{ id: 'elbv2_deletion_protection_enabled_check', reason: REASON_NO_DELETION_PROTECTION }];
    if (!props.accessLogsBucket) {
      const reasonNoAccessLogs = this.tlsEnabled
        ? 'Access logs are opt-in (accessLogsBucket): the bucket and how long it keeps logs are the user\'s to choose; API Gateway access logs record every request sent through the VPC link, and VPC flow logs the connections.'
        : 'The listener is plain TCP, and NLB access logs record TLS listeners only, so a log bucket would stay empty; VPC flow logs record the connections.';
      addNagSuppressions(this.loadBalancer, [{ id: 'AwsSolutions-ELB2', reason: reasonNoAccessLogs }]);
      addCheckovSuppressions(this.loadBalancer, [{ id: 'CKV_AWS_91', reason: reasonNoAccessLogs }]);
      guardSuppressions.unshift({ id: 'elbv2_logging_enabled_check', reason: reasonNoAccessLogs });
    }
    addGuardSuppressions(this.loadBalancer, guardSuppressions);

    this.targetGroup = new elbv2.NetworkTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port: containerPort,
      protocol: this.containerTls ? elbv2.Protocol.TLS : elbv2.Protocol.TCP,
      targetType: elbv2.TargetType.IP,
      // Shorter than stopTimeout: connections drain before gunicorn is asked to stop.
      deregistrationDelay: Duration.seconds(Math.floor(stopTimeout.toSeconds() * 2 / 3)),
      healthCheck: {
        protocol: this.containerTls ? elbv2.Protocol.HTTPS : elbv2.Protocol.HTTP,
        path: healthCheckPath,
        port: String(containerPort),
        healthyHttpCodes: '200-399',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        // Two passes register a task in about 20 s; five failures (50 s) tolerate a slow
        // request while the database resumes.
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 5,
      },
    });
    this.listener = this.loadBalancer.addListener('Listener', {
      port: this.listenerPort,
      protocol: this.tlsEnabled ? elbv2.Protocol.TLS : elbv2.Protocol.TCP,
      certificates: props.tlsCertificate ? [elbv2.ListenerCertificate.fromCertificateManager(props.tlsCertificate)] : undefined,
      sslPolicy: this.tlsEnabled ? props.tlsSecurityPolicy ?? elbv2.SslPolicy.TLS13_RES : undefined,
      defaultTargetGroups: [this.targetGroup],
    });

    // Service
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: gracePeriod,
      vpcSubnets: subnets,
      securityGroups: [taskSecurityGroup],
      assignPublicIp: props.assignPublicIp ?? false,
      enableExecuteCommand,
      capacityProviderStrategies: spot ? [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] : undefined,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    this.service.attachToNetworkTargetGroup(this.targetGroup);
    if (props.assignPublicIp) {
      const reason = 'assignPublicIp: the tasks reach AWS APIs through their own public IPv4 addresses instead of a NAT or endpoints (EgressMode.PUBLIC_SUBNETS); their security group admits only the load balancer, on the container port.';
      addGuardSuppressions(this.service, [{ id: 'ecs_service_assign_public_ip_disabled_check', reason }], true);
      addCheckovSuppressions(this.service, [{ id: 'CKV_AWS_333', reason }], true);
    }
    // Tasks must not start before their generated secrets exist.
    if (generated) this.service.node.addDependency(...generated.resources);
    // With Spot, the service's strategy names FARGATE_SPOT, which ECS accepts only once the cluster's
    // capacity-provider association exists. That association is created late (by an aspect of the
    // cluster, at synthesis), so the dependency is looked up when it is rendered.
    if (spot) this.service.node.addDependency(capacityProviderAssociationsOf(this.cluster));

    // CloudFormation creates the service once the cluster exists, but the writer instance takes
    // minutes more; tasks started before it exhaust the boot kit's wait for the database, and three
    // failed tasks trip the circuit breaker and fail the first deploy. Wait for it.
    if (props.database?.startAfter) this.service.node.addDependency(props.database.startAfter);
    if (props.database) {
      props.database.connections.allowFrom(this.connections, ec2.Port.tcp(props.database.port), 'PostgreSQL from the Flask service');
    }

    if (props.autoScaling) {
      const scaling = this.service.autoScaleTaskCount({
        minCapacity: props.autoScaling.minCapacity,
        maxCapacity: props.autoScaling.maxCapacity,
      });
      scaling.scaleOnCpuUtilization('CpuScaling', {
        targetUtilizationPercent: props.autoScaling.cpuTargetUtilizationPercent ?? 60,
      });
      if (props.autoScaling.memoryTargetUtilizationPercent !== undefined) {
        scaling.scaleOnMemoryUtilization('MemoryScaling', {
          targetUtilizationPercent: props.autoScaling.memoryTargetUtilizationPercent,
        });
      }
    }

    this.addSuppressions(props, executionRole);
    this.addAlarms(props.autoScaling?.minCapacity ?? desiredCount ?? 1);
    suppressAlarmActionsLeftToCaller(this.alarms);
  }

  /** Average CPU utilization of the service (percent). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service.metricCpuUtilization({ period: Duration.minutes(1), ...props });
  }

  /** Average memory utilization of the service (percent). */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service.metricMemoryUtilization({ period: Duration.minutes(1), ...props });
  }

  /**
   * Number of running tasks (Container Insights `RunningTaskCount`): only published when
   * Container Insights is on for the cluster. `metricHealthyHosts` is free and always there.
   */
  public metricRunningTaskCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /**
   * Number of tasks the load balancer considers healthy (free `AWS/NetworkELB` metric). Maximum
   * over the load balancer's nodes, as the NLB guide recommends: each node reports its own count,
   * and a node in an AZ without a task would pull the minimum to 0.
   */
  public metricHealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1), ...props });
  }

  /** Number of targets the load balancer considers unhealthy: minimum over its nodes, as the NLB guide recommends. */
  public metricUnhealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.minutes(1), ...props });
  }

  /**
   * Turns on the NLB access logs. Not `logAccessLogs()`: that also grants the regional ELB
   * account, which only Application and Classic Load Balancers use; NLBs deliver through
   * `delivery.logs.amazonaws.com`, limited here to this account's log deliveries.
   */
  private logAccessLogs(bucket: s3.IBucket): void {
    const stack = Stack.of(this);
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', bucket.bucketName);
    const delivery = new iam.ServicePrincipal('delivery.logs.amazonaws.com');
    const conditions = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'logs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) },
    };
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      principals: [delivery],
      resources: [bucket.arnForObjects(`AWSLogs/${stack.account}/*`)],
      conditions: { ...conditions, StringEquals: { ...conditions.StringEquals, 's3:x-amz-acl': 'bucket-owner-full-control' } },
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['s3:GetBucketAcl'],
      principals: [delivery],
      resources: [bucket.bucketArn],
      conditions,
    }));
    // Elastic Load Balancing checks that it may write when the attribute is set.
    const policy = bucket.policy?.node.defaultChild;
    const lb = this.loadBalancer.node.defaultChild;
    if (CfnResource.isCfnResource(policy) && CfnResource.isCfnResource(lb)) lb.addDependency(policy);
  }

  private addAlarms(minimumTasks: number): void {
    // CPU and memory metrics exist only while tasks run; missing data is not a breach.
    this.alarms.push(new cloudwatch.Alarm(this, 'CpuHighAlarm', {
      alarmDescription: 'Flask service CPU above 80% for 15 minutes: scale up the task size or count.',
      metric: this.metricCpuUtilization({ period: Duration.minutes(5), statistic: cloudwatch.Stats.AVERAGE }),
      threshold: 80,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    this.alarms.push(new cloudwatch.Alarm(this, 'MemoryHighAlarm', {
      alarmDescription: 'Flask service memory above 80% for 15 minutes: raise memoryLimitMiB or look for a leak.',
      metric: this.metricMemoryUtilization({ period: Duration.minutes(5), statistic: cloudwatch.Stats.AVERAGE }),
      threshold: 80,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    if (minimumTasks > 0) {
      // The load balancer's healthy host count is free (no Container Insights needed) and is
      // reported every minute while the load balancer exists, so silence means it is gone or
      // unobserved: treat it as a breach. A task that runs but fails its health check counts too.
      this.alarms.push(new cloudwatch.Alarm(this, 'RunningTasksLowAlarm', {
        alarmDescription: `Fewer than ${minimumTasks} healthy Flask task(s) behind the load balancer for 5 minutes: the tasks are failing to start or to stay healthy.`,
        metric: this.metricHealthyHosts(),
        threshold: minimumTasks,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }));
    }
    this.alarms.push(new cloudwatch.Alarm(this, 'UnhealthyHostsAlarm', {
      alarmDescription: 'A Flask task has failed the load balancer health check for 3 minutes.',
      metric: this.metricUnhealthyHosts(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
  }

  private addSuppressions(props: FlaskFargateServiceProps, executionRole: iam.IRole): void {
    const taskDefinitionResource = this.taskDefinition.node.defaultChild!;
    if (Object.keys(props.environment ?? {}).length > 0) {
      addNagSuppressions(taskDefinitionResource, [
        { id: 'AwsSolutions-ECS2', reason: 'Only the values passed in `environment`, documented as non-secret, are plain; settings and secrets come from Parameter Store and Secrets Manager.' },
      ]);
    }
    if (this.appRoleContainer) {
      addGuardSuppressions(taskDefinitionResource, [{
        id: 'ecs_task_definition_memory_hard_limit_check',
        reason: 'The app container has the task\'s memory as its hard limit; the app-role admin step has none of its own because it runs and exits before the app starts, bounded by the task memory Fargate enforces (a limit of its own would count against the task memory next to the app\'s).',
      }]);
    }
    if (!(props.readonlyRootFilesystem ?? false)) {
      const reason = 'Off by default because existing Flask apps often write outside /tmp (instance folder, caches); readonlyRootFilesystem turns it on with a writable /tmp.';
      addGuardSuppressions(taskDefinitionResource, [{ id: 'ecs_containers_readonly_access_check', reason }]);
    }
    // Each is suppressed only while every action on Resource "*" is one of these (checked at synth).
    const taskPolicy = this.taskDefinition.taskRole.node.tryFindChild('DefaultPolicy');
    if (props.enableExecuteCommand && taskPolicy) {
      const ssmmessages = 'the ECS Exec channel actions have no resource-level permissions; turned on only by enableExecuteCommand.';
      suppressWildcardResourceFor(taskPolicy, {
        'ssmmessages:CreateControlChannel': ssmmessages,
        'ssmmessages:CreateDataChannel': ssmmessages,
        'ssmmessages:OpenControlChannel': ssmmessages,
        'ssmmessages:OpenDataChannel': ssmmessages,
        'logs:DescribeLogGroups': 'the ECS Exec agent lists log groups, which has no resource-level permissions; it writes session logs only to the service log group.',
      });
    }
    const { NIST, HIPAA, PCI } = CompliancePack;
    for (const policy of [taskPolicy, executionRole.node.tryFindChild('DefaultPolicy')]) {
      if (policy) addNagSuppressions(policy, packSuppressions('IAMNoInlinePolicy', [NIST, HIPAA, PCI], INLINE_POLICY_REASON));
    }
    addNagSuppressions(this.loadBalancer, packSuppressions('ELBDeletionProtectionEnabled', [NIST, HIPAA], REASON_NO_DELETION_PROTECTION));
    const executionPolicy = executionRole.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      suppressWildcardResourceFor(executionPolicy, {
        'ecr:GetAuthorizationToken': 'it has no resource-level permissions; image pulls, logs and parameters are scoped to their ARNs.',
      });
    }
  }
}

/** Lets `role` decrypt with `key` only through Parameter Store and only for `parameterArns`. */
function allowDecryptThroughSsm(role: iam.IRole, key: kms.IKey, parameterArns: string[]): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: {
      StringEquals: {
        'kms:ViaService': `ssm.${Stack.of(role).region}.amazonaws.com`,
        'kms:EncryptionContext:PARAMETER_ARN': parameterArns,
      },
    },
  }));
}

/**
 * Python's urllib fetches the health path (slim Python images have no curl). With container TLS
 * the certificate is the container's own self-signed one, reached over loopback, so it is not
 * verified.
 */
function defaultHealthCommand(port: number, path: string, tls: boolean): string {
  if (!tls) {
    return `python3 -c "import urllib.request; urllib.request.urlopen('http://localhost:${port}${path}', timeout=4)" || exit 1`;
  }
  return `python3 -c "import ssl, urllib.request; c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE; urllib.request.urlopen('https://localhost:${port}${path}', timeout=4, context=c)" || exit 1`;
}

/** The app role the service connects as, if any; rejects the app-role options where they cannot apply. */
function appRoleOf(props: FlaskFargateServiceProps): string | undefined {
  const appUsername = props.database?.appUsername;
  if (props.databaseAppRole === true && appUsername === undefined) {
    throw new Error(props.database
      ? 'service.databaseAppRole is true, but the database has no appUsername; give the database an app role (AuroraServerlessV2Db has one while iamAuthentication is on) or remove databaseAppRole.'
      : 'service.databaseAppRole is true, but there is no database; pass a database with an appUsername or remove databaseAppRole.');
  }
  const enabled = props.databaseAppRole ?? appUsername !== undefined;
  if (props.appRoleCommand !== undefined) {
    if (!enabled) throw new Error('service.appRoleCommand is set, but the service does not connect as the database\'s app role (databaseAppRole); remove appRoleCommand or use a database with an appUsername.');
    if (props.appRoleCommand.length === 0) throw new Error('service.appRoleCommand is empty; give the admin step\'s command, e.g. [\'python\', \'-m\', \'app.app_role\'].');
  }
  if (!enabled) return undefined;
  if (props.database?.clusterResourceId === undefined) {
    throw new Error('service.database has an appUsername but no clusterResourceId, which the rds-db:connect permission names; set clusterResourceId on the database or set databaseAppRole to false.');
  }
  return appUsername;
}

function validateTls(props: FlaskFargateServiceProps, containerTls: boolean): void {
  if (props.tlsCertificate) return;
  if (containerTls) {
    throw new Error('service.containerTls needs service.tlsCertificate: the load balancer can only speak TLS to the tasks behind a TLS listener; pass a certificate or turn containerTls off.');
  }
  if (props.accessLogsBucket) {
    throw new Error('service.accessLogsBucket needs service.tlsCertificate: Network Load Balancers write access logs for TLS listeners only, so the bucket would stay empty; pass a certificate or remove accessLogsBucket.');
  }
  if (props.tlsSecurityPolicy !== undefined) {
    throw new Error(`service.tlsSecurityPolicy (${props.tlsSecurityPolicy}) applies only with service.tlsCertificate; pass a certificate or remove tlsSecurityPolicy.`);
  }
}

function databaseNames(names: DatabaseEnvironmentNames = {}): Required<DatabaseEnvironmentNames> {
  return {
    host: names.host ?? 'DB_HOST',
    port: names.port ?? 'DB_PORT',
    name: names.name ?? 'DB_NAME',
    user: names.user ?? 'DB_USER',
    password: names.password ?? 'DB_PASSWORD',
    sslMode: names.sslMode ?? 'DB_SSLMODE',
  };
}

/** Records every environment variable name, rejecting invalid and repeated ones. */
class NameRegistry {
  private readonly sources = new Map<string, string>();

  public add(name: string, source: string): void {
    if (!ENV_NAME.test(name)) {
      throw new Error(`service.${source} has the environment variable name '${name}'; names must match ${ENV_NAME.source} (letters, digits and '_', not starting with a digit).`);
    }
    const previous = this.sources.get(name);
    if (previous) {
      throw new Error(`service: the environment variable '${name}' is set by both ${previous} and ${source}; each name may be used once.`);
    }
    this.sources.set(name, source);
  }
}

/**
 * Docker labels that change whenever a setting does. Plain values go into a hash. Token values
 * are known only to CloudFormation (a replaced database keeps its logical id but gets a new
 * address), so they are joined into a second label that CloudFormation fills in; the hash records
 * their names and synthesized expressions. A dynamic reference stays a reference: Stack.resolve
 * gives its literal `{{resolve:...}}` text, which is hashed and not written into the label, so a
 * secret never lands in the task definition.
 */
function settingsLabels(scope: Construct, settings: Record<string, string>): Record<string, string> {
  const stack = Stack.of(scope);
  const names = Object.keys(settings).sort();
  const hashed: Array<[string, string]> = [];
  const tokenValues: string[] = [];
  for (const name of names) {
    const value = settings[name];
    if (!Token.isUnresolved(value)) {
      hashed.push([name, value]);
      continue;
    }
    const expression = JSON.stringify(stack.resolve(value));
    hashed.push([name, expression]);
    if (!expression.includes('{{resolve:')) tokenValues.push(`${name}=`, value, ';');
  }
  const labels: Record<string, string> = {
    'cdk-flask-serverless.settings-hash': createHash('sha256').update(JSON.stringify(hashed)).digest('hex').slice(0, 16),
  };
  if (tokenValues.length > 0) labels['cdk-flask-serverless.settings-tokens'] = Fn.join('', tokenValues);
  return labels;
}

/**
 * The cluster's AWS::ECS::ClusterCapacityProviderAssociations, found when dependencies are
 * rendered (after the cluster's aspect has created it); none for an imported cluster.
 */
function capacityProviderAssociationsOf(cluster: ecs.ICluster): IDependable {
  const dependable: IDependable = {};
  Dependable.implement(dependable, {
    get dependencyRoots() {
      return cluster.node.children.filter((c) => c instanceof ecs.CfnClusterCapacityProviderAssociations);
    },
  });
  return dependable;
}

/**
 * An image built from a local folder is built for the deploying machine unless it names a
 * platform: on Apple Silicon that is arm64, and an X86_64 task then dies with "exec format
 * error". A platform that contradicts cpuArchitecture is rejected; a missing one is warned about.
 */
function validateImagePlatform(scope: Construct, image: ecs.ContainerImage, cpuArchitecture: ecs.CpuArchitecture, architectureSet: boolean): void {
  if (!(image instanceof ecs.AssetImage)) return;
  // AssetImage keeps its props to itself; read only the platform it will build for.
  const platform = (image as unknown as { readonly props?: { readonly platform?: { readonly platform?: string } } }).props?.platform?.platform;
  const arm = cpuArchitecture === ecs.CpuArchitecture.ARM64;
  const prop = `${architectureSet ? '' : 'the default '}service.cpuArchitecture (${arm ? 'ARM64' : 'X86_64'})`;
  const expected = arm ? 'linux/arm64' : 'linux/amd64';
  const fix = arm ? 'Platform.LINUX_ARM64' : 'Platform.LINUX_AMD64';
  if (platform === undefined) {
    Annotations.of(scope).addWarningV2('cdk-flask-serverless:imagePlatform',
      `The image is built from a local folder without a platform, so Docker builds it for the machine that deploys, while the task runs ${prop}. Pass { platform: ecr_assets.${fix} } to ContainerImage.fromAsset.`);
    return;
  }
  if (Token.isUnresolved(platform)) return;
  if (platform !== expected) {
    throw new Error(`service.image is built for ${platform} but ${prop} runs ${expected}: the task would stop with "exec format error". Pass { platform: ecr_assets.${fix} } to ContainerImage.fromAsset, or set cpuArchitecture to match the image.`);
  }
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  if (vpc.privateSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  // e.g. FlaskServerlessVpc with VPC endpoints: its App group comes before the Data group.
  return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED, onePerAz: true };
}

function defaultParameterPath(stackName: string, id: string): string {
  return `/flask/${stackName}/${id.replace(/[^A-Za-z0-9_.-]/g, '-')}/`;
}

function validateParameterPath(path: string): void {
  if (Token.isUnresolved(path)) return;
  if (!/^(\/[A-Za-z0-9_.-]+)+\/$/.test(path)) {
    throw new Error(`service.parameterPath must start and end with '/' and contain only letters, digits and '_.-/' (e.g. '/flask/my-app/'), got '${path}'.`);
  }
  const first = path.split('/')[1].toLowerCase();
  if (first.startsWith('aws') || first.startsWith('ssm')) {
    throw new Error(`service.parameterPath must not start with 'aws' or 'ssm' (reserved by Parameter Store), got '${path}'.`);
  }
  if (path.split('/').length - 1 > 14) {
    throw new Error(`service.parameterPath has more than 14 levels; Parameter Store allows 15 including the name, got '${path}'.`);
  }
  if (path.length > 900) {
    throw new Error(`service.parameterPath is ${path.length} characters long; keep it under 900 so the parameter names fit Parameter Store's limit.`);
  }
}

function validateCount(prop: string, value: number | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${prop} must be a whole number of tasks, 0 or more, got ${value}.`);
  }
}

function validateHealthCheckPath(path: string): void {
  if (Token.isUnresolved(path)) return;
  // Also embedded in the container health check command, so no quotes or shell metacharacters.
  if (!/^\/[A-Za-z0-9._~\/?=&%-]*$/.test(path) || path.length > 1024) {
    throw new Error(`service.healthCheckPath must start with '/' and contain only letters, digits and '._~/?=&%-' (at most 1024 characters), got '${path}'.`);
  }
}

function validateSeconds(prop: string, value: Duration, min: number, max: number, why: string): void {
  if (Token.isUnresolved(value.toSeconds({ integral: false }))) return;
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new Error(`${prop} must be a whole number of seconds from ${min} to ${max} (${why}), got ${value.toHumanString()}.`);
  }
}

function validateAutoScaling(scaling: FlaskFargateServiceAutoScaling): void {
  const { minCapacity, maxCapacity } = scaling;
  if (!Token.isUnresolved(minCapacity) && (!Number.isInteger(minCapacity) || minCapacity < 1)) {
    throw new Error(`service.autoScaling.minCapacity must be a whole number, 1 or more (CPU metrics need a running task to scale from), got ${minCapacity}.`);
  }
  if (!Token.isUnresolved(maxCapacity) && !Token.isUnresolved(minCapacity) && (!Number.isInteger(maxCapacity) || maxCapacity < minCapacity)) {
    throw new Error(`service.autoScaling.maxCapacity must be a whole number no smaller than minCapacity (${minCapacity}), got ${maxCapacity}.`);
  }
  for (const [field, value] of [
    ['cpuTargetUtilizationPercent', scaling.cpuTargetUtilizationPercent],
    ['memoryTargetUtilizationPercent', scaling.memoryTargetUtilizationPercent],
  ] as const) {
    if (value !== undefined && !Token.isUnresolved(value) && (value < 10 || value > 90)) {
      throw new Error(`service.autoScaling.${field} must be from 10 to 90 percent, got ${value}.`);
    }
  }
}
