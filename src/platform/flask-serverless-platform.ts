import { CfnOutput, Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { ReplaceTasksOnSecretRotation } from './replace-tasks-on-secret-rotation';
import { KeyedRestApi, KeyedRestApiOptions, KeyedRestApiProps } from '../api';
import { checkIntegRunnerCanRead } from '../core/integ-runner';
import { newLogsKey } from '../core/kms';
import { addGuardSuppressions, addNagSuppressions, CompliancePack, INLINE_POLICY_REASON, packSuppressions } from '../core/suppressions';
import { validateStageName } from '../core/validation';
import { FlaskDataImport, FlaskDataImportOptions } from '../data-import';
import { AuroraServerlessV2Db, AuroraServerlessV2DbOptions } from '../database';
import { FlaskLambdaService, FlaskLambdaServiceOptions } from '../function';
import { FlaskServerlessMonitoring, FlaskServerlessMonitoringOptions } from '../monitoring';
import { EgressMode, FlaskServerlessVpc, FlaskServerlessVpcOptions } from '../network';
import { FlaskFargateService, FlaskFargateServiceOptions } from '../service';

/**
 * A set of defaults for the whole platform. Anything set explicitly in a prop group wins over
 * the profile.
 */
export enum PlatformProfile {
  /**
   * The masterplan as written, cost first: one NAT gateway, the per-key limit enforced by the
   * usage plan only (no WAF). Database deletion protection and final snapshot stay on.
   */
  STANDARD = 'STANDARD',
  /**
   * For production traffic: adds the AWS WAF web ACL that enforces 100 requests per minute per
   * API key in a 60-second window, a NAT gateway per Availability Zone (egress survives the
   * loss of an AZ), and X-Ray tracing of the API stage (billed per trace recorded; nothing at idle).
   * About 8 USD a month more for WAF (5 for the web ACL, 1 for each of its 3 rules) plus about 47
   * USD a month per extra NAT gateway with its public address; the cost estimator
   * (`cdk-flask-serverless cost`) gives the figures of your template.
   */
  PRODUCTION = 'PRODUCTION',
  /**
   * PRODUCTION plus what the NIST 800-53 R5, HIPAA Security, PCI DSS 3.2.1 and Serverless rule packs
   * of cdk-nag ask for, so that they report nothing unsuppressed (what they still flag is inherent,
   * suppressed next to the resource with its reason; the README lists it):
   * - TLS from API Gateway to the load balancer: `service.tlsCertificate` (with
   *   `api.integrationTlsHostname`) is required;
   * - the load balancer's access logs in a new S3 bucket (`service.accessLogsBucket` to bring your
   *   own), encrypted with S3 managed keys, versioned, TLS only, kept 1 year;
   * - the master secret rotated every 30 days (`database.rotateSecretAfter`);
   * - an AWS Backup plan for the cluster (`database.awsBackup`), daily, kept 35 days, in a vault
   *   encrypted with the platform key;
   * - WAF and X-Ray tracing of the stage, as PRODUCTION;
   * - egress through NAT gateways (one per AZ, as PRODUCTION) or VPC endpoints only: a NAT instance
   *   or tasks with public addresses (`network.egress` NAT_INSTANCE, PUBLIC_SUBNETS) are rejected.
   * Explicit options still win. At idle it costs what PRODUCTION does; the recovery points, the log
   * bucket and the rotation function bill by use (the estimator, `cdk-flask-serverless cost`, lists
   * them as not priced).
   */
  REGULATED = 'REGULATED',
}

/** Where the Flask app runs. */
export enum ComputeType {
  /**
   * One always-on ECS Fargate task (0.25 vCPU, 0.5 GB by default) behind an internal Network
   * Load Balancer and a VPC link. No cold start, no request time limit beyond API Gateway's 29 s;
   * about 30 USD a month for the task and the load balancer even when idle, plus egress.
   */
  FARGATE = 'FARGATE',
  /**
   * AWS Lambda, from the same image (`functionCode`): nothing runs and nothing is billed for
   * compute while no request comes; no load balancer, no VPC link, and by default no NAT and no
   * VPC endpoint (`EgressMode.NONE`). Migrations run once per deployment. Limits: a request and
   * its response are at most 6 MB (API Gateway's own limit is 10 MB), each request at most 29 s
   * (API Gateway; the function's timeout is below it), and the first request after an idle spell
   * pays a cold start of a few seconds on top of the database's resume. See `FlaskLambdaService`.
   */
  LAMBDA = 'LAMBDA',
}

/** Props of `FlaskServerlessPlatform`. Each group takes the options of the part it configures. */
export interface FlaskServerlessPlatformProps {
  /**
   * The Flask app's container image, e.g. `ecs.ContainerImage.fromAsset('./flask-app')`, with
   * `ComputeType.FARGATE` (required there). The container must listen on `service.containerPort`
   * and answer `service.healthCheckPath` without touching the database.
   * @default - none; required with ComputeType.FARGATE
   */
  readonly image?: ecs.ContainerImage;

  /**
   * Where the app runs: an ECS Fargate service, or Lambda functions from the same image.
   * @default ComputeType.FARGATE
   */
  readonly compute?: ComputeType;

  /**
   * The Flask app's image for `ComputeType.LAMBDA` (required there), built from the same
   * Dockerfile, e.g. `lambda.DockerImageCode.fromImageAsset('./flask-app', { platform: ecr_assets.Platform.LINUX_AMD64 })`.
   * Lambda pulls only from a private ECR repository in the stack's account and region: an image
   * you would run with `ecs.ContainerImage.fromRegistry` must be copied there first
   * (`DockerImageCode.fromEcr`).
   * @default - none; required with ComputeType.LAMBDA
   */
  readonly functionCode?: lambda.DockerImageCode;

  /**
   * The Lambda functions, with `ComputeType.LAMBDA`. `settings` and `generatedSecrets` are added
   * to the platform's own (`JWT_EXPIRES_SECONDS` from `jwtExpiry`, and a generated `JWT_SECRET`
   * unless `existingSecrets` has one).
   * @default - 1024 MiB, 25 s timeout, x86_64, migrations at deploy time with a 5-minute limit
   */
  readonly function?: FlaskLambdaServiceOptions;

  /**
   * Short name of the application: with it, the Parameter Store path of the app's settings and
   * secrets is `/<appName>/<stage>/`. Lowercase letters, digits and hyphens. Choose a name no
   * other platform in the account and region uses (two platforms of one CDK app with the same
   * path are rejected at synth).
   *
   * Without it, the path is `/flask-app/<stack name>/<construct path in the stack>/<stage>/`,
   * which no other platform in the account and region can share (stack names are unique there).
   * In a nested stack, the stack name is the top-level stack's and the construct path includes
   * the nested stack. If that path gets too deep for Parameter Store, set appName.
   * Earlier releases defaulted to `/flask-app/<stage>/`; set `appName: 'flask-app'` to keep the
   * parameters (and the generated `JWT_SECRET`) where they were created.
   * @default - '/flask-app/<stack name>/<construct path>/<stage>/'
   */
  readonly appName?: string;

  /**
   * Defaults for the whole platform; explicit options in the groups below win.
   * @default PlatformProfile.STANDARD
   */
  readonly profile?: PlatformProfile;

  /**
   * An existing VPC to deploy into, instead of a new one, e.g. a standard `new ec2.Vpc()` or
   * `ec2.Vpc.fromLookup()`. The tasks and the load balancer go in `appSubnets`, the database in
   * `database.vpcSubnets`; both need two AZs. The tasks need a route to ECR, CloudWatch Logs,
   * SSM and Secrets Manager (a NAT or VPC endpoints). Cannot be combined with `network`.
   * @default - a new VPC configured by `network`
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets of the load balancer and the tasks.
   * @default - the private subnets with egress, or else one isolated subnet per AZ; in the
   * platform's own VPC, its App subnets
   */
  readonly appSubnets?: ec2.SubnetSelection;

  /**
   * The new VPC: CIDR, AZs, egress (NAT gateway, NAT instance or VPC endpoints), flow logs.
   * @default - 10.0.0.0/16, 2 AZs, one NAT gateway, flow logs kept one month
   */
  readonly network?: FlaskServerlessVpcOptions;

  /**
   * The Aurora Serverless v2 database.
   * @default - PostgreSQL 16, 0.5-1 ACU, auto-pause after 5 minutes, KMS-encrypted, TLS only
   */
  readonly database?: AuroraServerlessV2DbOptions;

  /**
   * The Fargate service. `settings` and `generatedSecrets` are added to the platform's own
   * (`JWT_EXPIRES_SECONDS` from `jwtExpiry`, and a generated `JWT_SECRET` unless `existingSecrets`
   * has one). `tlsCertificate` goes together with `api.integrationTlsHostname`.
   * @default - 0.25 vCPU, 0.5 GB, one task, port 8000, health check GET /health
   */
  readonly service?: FlaskFargateServiceOptions;

  /**
   * The REST API. `integrationTlsHostname` goes together with `service.tlsCertificate`.
   * @default - Regional, stage `Test`, one API key, 1000 rps, 100 requests per minute per key
   */
  readonly api?: KeyedRestApiOptions;

  /**
   * The alarm topic and dashboard.
   * @default - a new KMS-encrypted SNS topic with no subscription, and one dashboard
   */
  readonly monitoring?: FlaskServerlessMonitoringOptions;

  /**
   * The one customer-managed KMS key of the platform: it encrypts the database (storage,
   * backups, master secret, logs), the SecureString parameters, every log group and the alarm
   * topic. Each service may use it only as its part needs (CloudWatch Logs for this account's
   * log groups, CloudWatch for the alarm topic, grants only for AWS resources); a key set in a
   * group (`database.encryptionKey`, `service.encryptionKey`, ...) wins for that part.
   *
   * The key is retained when the stack is deleted unless `database.removalPolicy` is DESTROY,
   * because the final snapshot is encrypted with it: it keeps costing 1 USD a month, 2 after its
   * first yearly rotation and 3 after its second, until you schedule its deletion.
   * @default - one new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Bring an existing PostgreSQL database's data across: a dump bucket and a one-off Fargate
   * import task in the app subnets, with stack outputs giving each command (see the README,
   * "Bringing your data across"). The dumps and the import logs are encrypted with the platform key.
   * @default - no data import
   */
  readonly dataImport?: FlaskDataImportOptions;

  /**
   * Lifetime of the JWTs the app issues, given to the container as `JWT_EXPIRES_SECONDS`.
   * @default Duration.hours(1)
   */
  readonly jwtExpiry?: Duration;
}

/**
 * A Flask + PostgreSQL application, serverless: a VPC, Aurora Serverless v2, the container on
 * ECS Fargate behind an internal load balancer (or, with `ComputeType.LAMBDA`, the same image as
 * Lambda functions), an API-keyed REST API in front, configuration and secrets in Parameter Store
 * (and Secrets Manager), every alarm on one SNS topic and one dashboard.
 *
 * What changing each prop does to a deployed stack (in place, rolls the tasks, replaces a
 * resource, or replaces stateful data such as the database) is in the generated table
 * `docs/lifecycle.md` of the repository. Keep this construct's id and its parent's ids stable:
 * they make the logical ids, and a new logical id is a new, empty database.
 */
export class FlaskServerlessPlatform extends Construct {
  /** The VPC the platform runs in. */
  public readonly vpc: ec2.IVpc;
  /** The network construct, when the platform created the VPC. */
  public readonly network?: FlaskServerlessVpc;
  /** The database. */
  public readonly database: AuroraServerlessV2Db;
  /** Where the app runs. */
  public readonly compute: ComputeType;
  /** The Fargate service and its load balancer, with `ComputeType.FARGATE`. */
  public readonly service?: FlaskFargateService;
  /** The Lambda functions, with `ComputeType.LAMBDA`. */
  public readonly function?: FlaskLambdaService;
  /** The REST API. */
  public readonly api: KeyedRestApi;
  /** The alarm topic and dashboard. */
  public readonly monitoring: FlaskServerlessMonitoring;
  /** The data import, with `dataImport`. */
  public readonly dataImport?: FlaskDataImport;
  /** The platform's KMS key (the one passed in, or the one created). */
  public readonly encryptionKey: kms.IKey;
  /** The Parameter Store path that holds the app's settings and secrets, e.g. `/flask-app/MyStack/Platform/Test/`. */
  public readonly parameterPath: string;

  constructor(scope: Construct, id: string, props: FlaskServerlessPlatformProps) {
    super(scope, id);
    checkIntegRunnerCanRead();
    this.compute = props?.compute ?? ComputeType.FARGATE;
    const onLambda = this.compute === ComputeType.LAMBDA;
    validateCompute(props ?? {} as FlaskServerlessPlatformProps, this.compute);
    if (props.vpc && props.network) {
      throw new Error('Pass either `vpc` (an existing VPC) or `network` (options of a new VPC), not both: the options would be ignored.');
    }
    const appName = props.appName;
    if (appName !== undefined && !Token.isUnresolved(appName) && !/^[a-z][a-z0-9-]{0,39}$/.test(appName)) {
      throw new Error(`appName must be 1-40 lowercase letters, digits or hyphens, starting with a letter (it names the Parameter Store path), got '${appName}'.`);
    }
    const jwtExpiry = props.jwtExpiry ?? Duration.hours(1);
    if (Token.isUnresolved(jwtExpiry.toSeconds({ integral: false }))) {
      throw new Error('jwtExpiry must be a concrete duration, not a token: it is written into the JWT_EXPIRES_SECONDS parameter.');
    }
    if (jwtExpiry.toSeconds() < 60 || jwtExpiry.toSeconds() > 86400) {
      throw new Error(`jwtExpiry must be from 1 minute to 24 hours, got ${jwtExpiry.toSeconds()} s.`);
    }
    const profile = props.profile ?? PlatformProfile.STANDARD;
    const regulated = profile === PlatformProfile.REGULATED;
    const production = profile === PlatformProfile.PRODUCTION || regulated;
    const egressMode = props.network?.egress ?? EgressMode.NAT_GATEWAY;
    if (regulated && (egressMode === EgressMode.NAT_INSTANCE || egressMode === EgressMode.PUBLIC_SUBNETS)) {
      throw new Error(`profile REGULATED does not take network.egress ${egressMode}: ${egressMode === EgressMode.NAT_INSTANCE
        ? 'a NAT instance is an EC2 instance with a public address that you patch yourself'
        : 'tasks in public subnets have public addresses'}. Choose NAT_GATEWAY (the default) or VPC_ENDPOINTS, or another profile.`);
    }
    if (regulated && onLambda) {
      throw new Error('profile REGULATED is built and checked against the compliance packs for compute FARGATE only; choose PRODUCTION (or STANDARD) with compute LAMBDA, or compute FARGATE.');
    }
    if (regulated && props.service?.tlsCertificate === undefined) {
      throw new Error('profile REGULATED needs service.tlsCertificate (with api.integrationTlsHostname): the hop from API Gateway to the load balancer must be TLS. Pass an ACM certificate for a host name the API calls, or choose another profile.');
    }
    // The import task runs in the app subnets and needs ECR, S3, CloudWatch Logs and Secrets
    // Manager from there; an egress mode that gives a Fargate task none of them is refused.
    const importEgress = props.network?.egress ?? (onLambda ? EgressMode.NONE : EgressMode.NAT_GATEWAY);
    if (props.dataImport && !props.vpc && !IMPORT_EGRESS.includes(importEgress)) {
      throw new Error(`dataImport needs the app subnets to reach ECR, S3, CloudWatch Logs and Secrets Manager, which network.egress ${importEgress} does not give a Fargate task; choose ${IMPORT_EGRESS.join(', ')}, or remove dataImport.`);
    }
    if (props.dataImport && props.service?.databaseAppRole === false) {
      throw new Error('dataImport hands the restored tables to the app\'s own database role, which service.databaseAppRole: false never creates; remove databaseAppRole: false, or remove dataImport.');
    }
    // A TLS listener is only useful if the API calls it over HTTPS by a name its certificate covers.
    const tlsCertificate = props.service?.tlsCertificate;
    const tlsHostname = props.api?.integrationTlsHostname;
    if ((tlsCertificate === undefined) !== (tlsHostname === undefined)) {
      throw new Error(tlsCertificate
        ? 'service.tlsCertificate needs api.integrationTlsHostname: API Gateway must call the TLS listener by a host name the certificate covers; pass both, or neither for plain HTTP.'
        : `api.integrationTlsHostname ('${tlsHostname}') needs service.tlsCertificate: the load balancer needs a TLS listener with a certificate covering that name; pass both, or neither for plain HTTP.`);
    }

    // One key for every part instead of one each: each key costs per month and per rotation.
    const keepData = props.database?.removalPolicy !== RemovalPolicy.DESTROY;
    this.encryptionKey = props.encryptionKey ?? newLogsKey(this, 'Key', {
      description: 'Encrypts the Flask platform: database, parameters, logs and the alarm topic',
      // Snapshots stay encrypted with this key: keep it as long as the data is kept.
      removalPolicy: keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: keepData ? undefined : Duration.days(7),
    });
    const encryptionKey = this.encryptionKey;

    let dataSubnets: ec2.SubnetSelection | undefined;
    let appSubnets: ec2.SubnetSelection | undefined;
    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      // Lambda needs nothing from AWS at run time: no NAT and no endpoints unless asked for.
      const network = { egress: onLambda ? EgressMode.NONE : undefined, ...props.network };
      const useNatPerAz = production && (network.egress ?? EgressMode.NAT_GATEWAY) === EgressMode.NAT_GATEWAY && network.natGateways === undefined;
      this.network = new FlaskServerlessVpc(this, 'Network', {
        ...network,
        natGateways: useNatPerAz ? (network.maxAzs ?? 2) : network.natGateways,
        encryptionKey: network.encryptionKey ?? encryptionKey,
      });
      this.vpc = this.network.vpc;
      dataSubnets = this.network.dataSubnets;
      appSubnets = this.network.appSubnets;
    }

    // REGULATED rotates the master secret every 30 days unless the group says otherwise.
    const rotateSecretAfter = props.database?.rotateSecretAfter ?? (regulated ? Duration.days(30) : undefined);
    const rotation = rotateSecretAfter !== undefined;
    if (rotation && onLambda) {
      throw new Error('database.rotateSecretAfter is not available with ComputeType.LAMBDA: the rotation function needs a route to Secrets Manager, which the Lambda platform\'s network does not have (no NAT, no endpoints), and the app does not use the master password (it connects with IAM tokens). Remove rotateSecretAfter.');
    }
    // A Lambda function in a VPC never gets a public IP, so in public subnets it reaches no AWS API.
    if (rotation && !props.vpc && props.network?.egress === EgressMode.PUBLIC_SUBNETS && !props.database?.rotationSubnets) {
      throw new Error('database.rotateSecretAfter needs a route to Secrets Manager, which network.egress PUBLIC_SUBNETS does not give the rotation function (a Lambda function in a VPC gets no public IP); choose NAT_GATEWAY, NAT_INSTANCE or VPC_ENDPOINTS egress, or pass database.rotationSubnets that reach Secrets Manager.');
    }
    this.database = new AuroraServerlessV2Db(this, 'Database', {
      ...props.database,
      rotateSecretAfter,
      awsBackup: props.database?.awsBackup ?? (regulated || undefined),
      encryptionKey: props.database?.encryptionKey ?? encryptionKey,
      vpc: this.vpc,
      vpcSubnets: props.database?.vpcSubnets ?? dataSubnets,
      // The app subnets reach Secrets Manager in every egress mode (NAT, or its endpoint).
      rotationSubnets: props.database?.rotationSubnets ?? (rotation ? (props.appSubnets ?? appSubnets) : undefined),
    });

    const stageName = props.api?.stageName ?? 'Test';
    // The stage name becomes part of the parameter path; report a bad one as the API's option,
    // before the service would report the path built from it.
    validateStageName(stageName);
    const serviceOptions = onLambda ? props.function ?? {} : props.service ?? {};
    const group = onLambda ? 'function' : 'service';
    if (serviceOptions.settings?.JWT_EXPIRES_SECONDS !== undefined) {
      throw new Error(`${group}.settings.JWT_EXPIRES_SECONDS is set by the platform from jwtExpiry; set jwtExpiry instead.`);
    }
    // A JWT_SECRET the user brings (existingSecrets) replaces the generated one.
    const generatedSecrets = serviceOptions.existingSecrets?.JWT_SECRET ? [] : ['JWT_SECRET'];
    if (serviceOptions.parameterPath === undefined && appName === undefined) {
      this.parameterPath = `${defaultPathPrefix(this)}${stageName}/`;
      checkDefaultParameterPath(this, this.parameterPath);
    } else {
      this.parameterPath = serviceOptions.parameterPath ?? `/${appName}/${stageName}/`;
    }
    rejectSharedParameterPath(this, this.parameterPath, serviceOptions.parameterPath !== undefined ? `${group}.parameterPath` : 'appName');
    const settings = { JWT_EXPIRES_SECONDS: String(jwtExpiry.toSeconds()), ...serviceOptions.settings };
    const allGeneratedSecrets = [...new Set([...generatedSecrets, ...(serviceOptions.generatedSecrets ?? [])])];

    let apiTarget: { loadBalancer?: KeyedRestApiProps['loadBalancer']; listenerPort?: number; handler?: KeyedRestApiProps['handler'] };
    if (onLambda) {
      const functionOptions = props.function ?? {};
      this.function = new FlaskLambdaService(this, 'Function', {
        ...functionOptions,
        encryptionKey: functionOptions.encryptionKey ?? encryptionKey,
        vpc: this.vpc,
        vpcSubnets: props.appSubnets ?? appSubnets,
        code: props.functionCode!,
        database: this.database,
        parameterPath: this.parameterPath,
        settings,
        generatedSecrets: allGeneratedSecrets,
      });
      const integrationTimeout = props.api?.integrationTimeout ?? Duration.seconds(29);
      const fnSeconds = this.function.timeout.toSeconds({ integral: false });
      const apiSeconds = integrationTimeout.toSeconds({ integral: false });
      if (!Token.isUnresolved(fnSeconds) && !Token.isUnresolved(apiSeconds) && fnSeconds >= apiSeconds) {
        throw new Error(`function.timeout (${this.function.timeout.toHumanString()}) must be shorter than api.integrationTimeout (${integrationTimeout.toHumanString()}): API Gateway would answer 504 before the app could answer 503 with Retry-After. Lower function.timeout.`);
      }
      apiTarget = { handler: this.function.function };
    } else {
      const fargateOptions = props.service ?? {};
      if (fargateOptions.enableExecuteCommand && props.network?.egress === EgressMode.VPC_ENDPOINTS) {
        throw new Error('service.enableExecuteCommand needs the SSM Messages endpoint, which network.egress VPC_ENDPOINTS does not create; use a NAT egress mode for ECS Exec, or leave it off.');
      }
      const publicTasks = !props.vpc && props.network?.egress === EgressMode.PUBLIC_SUBNETS;
      if (publicTasks && fargateOptions.assignPublicIp === false) {
        throw new Error('service.assignPublicIp is false, but network.egress PUBLIC_SUBNETS has no NAT and no endpoints: the tasks reach AWS APIs only through their public addresses. Remove assignPublicIp or choose another egress mode.');
      }
      const service = new FlaskFargateService(this, 'Service', {
        ...fargateOptions,
        accessLogsBucket: fargateOptions.accessLogsBucket ?? (regulated ? accessLogsBucket(this, keepDataOf(props)) : undefined),
        encryptionKey: fargateOptions.encryptionKey ?? encryptionKey,
        assignPublicIp: fargateOptions.assignPublicIp ?? (publicTasks || undefined),
        vpc: this.vpc,
        vpcSubnets: props.appSubnets ?? appSubnets,
        image: props.image!,
        database: this.database,
        parameterPath: this.parameterPath,
        settings,
        generatedSecrets: allGeneratedSecrets,
      });
      this.service = service;

      if (rotation && service.appRoleContainer) {
        // The running app connects as its own role with IAM tokens and never holds the master
        // password; only the admin step reads it, when a task starts, so it always gets the current
        // one and nothing needs replacing. The first rotation runs as soon as the schedule exists:
        // it waits until the first tasks have run the admin step (CloudFormation creates the service
        // once its tasks are stable), so that no admin step reads a password being rotated.
        this.database.rotationSchedule?.node.addDependency(service.service);
      } else if (rotation) {
        // Tasks get DB_PASSWORD when they start: replace them after each rotation.
        const replaceTasks = new ReplaceTasksOnSecretRotation(this, 'ReplaceTasksOnRotation', {
          secret: this.database.secret,
          service: service.service,
          logKey: service.parametersKey,
        });
        // The first rotation runs as soon as the schedule exists: without the rule and the state
        // machine in place, it would change the password under the running tasks unnoticed.
        this.database.rotationSchedule?.node.addDependency(replaceTasks);
      }
      apiTarget = { loadBalancer: service.loadBalancer, listenerPort: service.listenerPort };
    }

    this.api = new KeyedRestApi(this, 'Api', {
      ...props.api,
      encryptionKey: props.api?.encryptionKey ?? encryptionKey,
      wafRateLimit: props.api?.wafRateLimit ?? production,
      tracingEnabled: props.api?.tracingEnabled ?? production,
      ...apiTarget,
    });

    if (props.dataImport) {
      this.dataImport = new FlaskDataImport(this, 'DataImport', {
        ...props.dataImport,
        encryptionKey: props.dataImport.encryptionKey ?? encryptionKey,
        vpc: this.vpc,
        vpcSubnets: props.appSubnets ?? appSubnets,
        database: this.database,
        cluster: this.service?.cluster,
        // Where the tasks need a public address to reach AWS APIs, the import task needs one too.
        assignPublicIp: props.service?.assignPublicIp ?? (!props.vpc && props.network?.egress === EgressMode.PUBLIC_SUBNETS),
      });
    }

    this.addInherentPackSuppressions(props);

    this.monitoring = new FlaskServerlessMonitoring(this, 'Monitoring', {
      ...props.monitoring,
      encryptionKey: props.monitoring?.encryptionKey ?? encryptionKey,
    });
    this.monitoring.addAlarms(...this.api.alarms, ...(this.service?.alarms ?? []), ...(this.function?.alarms ?? []), ...this.database.alarms);
    this.addDashboard(props.function?.reservedConcurrentExecutions);

    // The API outputs its URL, each key's ID and the command that prints the key's value.
    const dashboardUrl = this.monitoring.dashboardUrl;
    if (dashboardUrl) new CfnOutput(this, 'DashboardUrl', { value: dashboardUrl, description: 'CloudWatch dashboard' });
    new CfnOutput(this, 'ParameterPath', {
      value: this.parameterPath,
      description: 'Parameter Store path of the app\'s settings and secrets',
    });
  }

  /**
   * What cdk-nag's NIST 800-53 R5, HIPAA and PCI DSS packs still flag on the parts once the
   * REGULATED profile has turned on what they ask for; each is inherent to this architecture.
   */
  private addInherentPackSuppressions(props: FlaskServerlessPlatformProps): void {
    const { NIST, HIPAA, PCI } = CompliancePack;
    const flowLogPolicy = this.network?.node.tryFindChild('FlowLogRole')?.node.tryFindChild('DefaultPolicy');
    if (flowLogPolicy) addNagSuppressions(flowLogPolicy, packSuppressions('IAMNoInlinePolicy', [NIST, HIPAA, PCI], INLINE_POLICY_REASON));
    const egress = props.network?.egress ?? EgressMode.NAT_GATEWAY;
    if (this.network && (egress === EgressMode.NAT_GATEWAY || egress === EgressMode.NAT_INSTANCE)) {
      for (const subnet of this.network.vpc.publicSubnets) {
        const route = subnet.node.tryFindChild('DefaultRoute');
        if (route) {
          addNagSuppressions(route, packSuppressions('VPCNoUnrestrictedRouteToIGW', [NIST, HIPAA, PCI],
            'The public subnets hold only the NAT, which forwards the private subnets\' traffic to the internet through this route; they map no public addresses on launch and nothing else runs in them.'));
        }
      }
    }
    const stage = this.api.api.deploymentStage.node.defaultChild!;
    addNagSuppressions(stage, packSuppressions('APIGWSSLEnabled', [NIST, HIPAA, PCI], this.service
      ? 'API Gateway client certificates let a backend verify the caller; the backend is an internal Network Load Balancer reachable only through this API\'s VPC link, and it cannot verify client certificates.'
      : 'API Gateway client certificates let an HTTP backend verify the caller; this API invokes its Lambda function through the Lambda API, signed with IAM, which only this API\'s stage may do (the function\'s resource policy).'));
    if (!props.api?.cacheEnabled) {
      addNagSuppressions(stage, packSuppressions('APIGWCacheEnabledAndEncrypted', [NIST, HIPAA, PCI],
        'Responses depend on the caller\'s JWT and API key; a stage cache would have to key on both to avoid serving one user\'s data to another, so caching is opt-in (api.cacheEnabled).'));
    }
  }

  private addDashboard(functionReservedConcurrency?: number): void {
    const graph = (title: string, metrics: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left: metrics, right, width: 8, height: 6 });
    const api = this.api;
    this.monitoring.addSection('API', [
      graph('Requests', [api.metricCount()]),
      graph('4XX / 5XX', [api.metric4XXError(), api.metric5XXError()]),
      graph('Latency (p50, p99)', [api.metricLatency({ statistic: 'p50' }), api.metricLatency({ statistic: 'p99' })]),
    ]);
    const svc = this.service;
    if (svc) {
      this.monitoring.addSection('Service', [
        graph('CPU utilization (%)', [svc.metricCpuUtilization()]),
        graph('Memory utilization (%)', [svc.metricMemoryUtilization()]),
        graph('Healthy / unhealthy tasks', [svc.metricHealthyHosts()], [svc.metricUnhealthyHosts()]),
      ]);
    }
    const fn = this.function;
    if (fn) {
      // Alarms (error rate, throttles, p99 duration near the timeout, concurrency near its limit)
      // on the topic, and the function's section of the dashboard.
      this.monitoring.monitorFunction({
        lambdaFunction: fn.function,
        timeout: fn.timeout,
        reservedConcurrentExecutions: functionReservedConcurrency,
      });
    }
    const db = this.database;
    this.monitoring.addSection('Database', [
      new cloudwatch.SingleValueWidget({
        title: 'Capacity now (ACU; 0 = paused)',
        metrics: [db.metricServerlessDatabaseCapacity({ statistic: 'Minimum', period: Duration.minutes(1) })],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Capacity (ACU) and ACU utilization (%)',
        left: [db.metricServerlessDatabaseCapacity()],
        right: [db.metricACUUtilization()],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({ title: 'CPU utilization (%)', left: [db.metricCPUUtilization()], width: 6, height: 6 }),
      new cloudwatch.GraphWidget({ title: 'Connections', left: [db.metricDatabaseConnections()], width: 6, height: 6 }),
    ]);
  }
}

/** Egress modes whose app subnets give a Fargate task a way to ECR, S3, CloudWatch Logs and Secrets Manager. */
const IMPORT_EGRESS: string[] = [EgressMode.NAT_GATEWAY, EgressMode.NAT_INSTANCE, EgressMode.VPC_ENDPOINTS, EgressMode.PUBLIC_SUBNETS];

/** Rejects props that belong to the other compute type, naming them. */
function validateCompute(props: FlaskServerlessPlatformProps, compute: ComputeType): void {
  if (compute === ComputeType.LAMBDA) {
    if (!props.functionCode) {
      throw new Error('compute LAMBDA needs `functionCode`, e.g. lambda.DockerImageCode.fromImageAsset(\'./flask-app\', { platform: ecr_assets.Platform.LINUX_AMD64 }).');
    }
    if (props.image) {
      throw new Error('image is the Fargate task\'s image, but compute is LAMBDA; pass the image as functionCode (lambda.DockerImageCode.fromImageAsset of the same folder) and remove image.');
    }
    if (props.service) {
      throw new Error('service configures the Fargate service, but compute is LAMBDA; move what applies to `function` (settings, generatedSecrets, existingSecrets, environment, parameterPath, logRetention) and remove service.');
    }
    if (props.api?.integrationTlsHostname !== undefined) {
      throw new Error('api.integrationTlsHostname applies to the Fargate load balancer, but compute is LAMBDA (API Gateway invokes the function over the Lambda API); remove it.');
    }
    return;
  }
  if (!props.image) {
    throw new Error('FlaskServerlessPlatform needs `image`, e.g. ecs.ContainerImage.fromAsset(\'./flask-app\') (or compute: ComputeType.LAMBDA with functionCode).');
  }
  if (props.functionCode || props.function) {
    throw new Error(`${props.functionCode ? 'functionCode' : 'function'} applies to compute LAMBDA, but compute is FARGATE; set compute: ComputeType.LAMBDA or remove it.`);
  }
  if (!props.vpc && props.network?.egress === EgressMode.NONE) {
    throw new Error('network.egress NONE leaves the app subnets without any route to AWS APIs, where Fargate tasks cannot pull their image or read their settings; use it with compute LAMBDA, or choose NAT_GATEWAY, NAT_INSTANCE, VPC_ENDPOINTS or PUBLIC_SUBNETS.');
  }
}

function keepDataOf(props: FlaskServerlessPlatformProps): boolean {
  return props.database?.removalPolicy !== RemovalPolicy.DESTROY;
}

/**
 * The load balancer's access-log bucket of the REGULATED profile. NLB log delivery writes with
 * S3 managed keys or a customer managed key; S3 managed keys need no key-policy statement for the
 * log delivery service. Versioned, TLS only, logs kept a year; retained with the data.
 */
function accessLogsBucket(scope: Construct, keepData: boolean): s3.Bucket {
  const { NIST, HIPAA, PCI } = CompliancePack;
  const bucket = new s3.Bucket(scope, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    removalPolicy: keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  const kmsReason = 'Encrypted with S3 managed keys (AES-256), which Network Load Balancer log delivery uses without a key-policy grant; the logs hold connection metadata (addresses, TLS versions and ciphers, byte counts), never request content.';
  const selfLogging = 'This bucket holds the load balancer\'s access logs; logging access to it would need another bucket, and that one another. Only the log delivery service of this account may write to it (bucket policy).';
  addNagSuppressions(bucket, [
    { id: 'AwsSolutions-S1', reason: selfLogging },
    ...packSuppressions('S3BucketLoggingEnabled', [NIST, HIPAA, PCI], selfLogging),
    ...packSuppressions('S3BucketReplicationEnabled', [NIST, HIPAA, PCI],
      'Access logs are a record derived from traffic, kept a year in a versioned bucket; replicating them to a second region would double their storage for no record that cannot be recreated.'),
    ...packSuppressions('S3DefaultEncryptionKMS', [NIST, HIPAA, PCI], kmsReason),
  ]);
  addGuardSuppressions(bucket, [
    { id: 's3_bucket_default_encryption_kms_check', reason: kmsReason },
    { id: 's3_bucket_logging_enabled_check', reason: selfLogging },
    { id: 's3_event_notifications_enabled_check', reason: 'Nothing consumes new log files as they arrive; they are read when a connection is investigated.' },
    { id: 's3_bucket_object_lock_enabled_check', reason: 'The lifecycle rule deletes logs after a year; write-once retention (Object Lock) is a retention period the owner chooses, and only when a bucket is created: pass a bucket with it as service.accessLogsBucket if your rules require write-once logs.' },
  ]);
  return bucket;
}

/**
 * `/flask-app/<stack name>/<construct path in the stack>/`: unique in the account and region,
 * because stack names are unique there and construct paths are unique in a stack. A nested
 * stack's own name is only known at deploy time, so the path starts at the top-level stack
 * that holds it (two deployments of one app under different stack names stay apart).
 */
function defaultPathPrefix(platform: Construct): string {
  let stack = Stack.of(platform);
  while (stack.nestedStackParent) stack = stack.nestedStackParent;
  const segment = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '-');
  const stackName = Token.isUnresolved(stack.stackName) ? Names.uniqueId(stack) : stack.stackName;
  const inStack = platform.node.scopes.slice(stack.node.scopes.length).map((c) => segment(c.node.id));
  return `/flask-app/${segment(stackName)}/${inStack.join('/')}/`;
}

/**
 * The default path grows with the construct path; Parameter Store allows 15 levels and 1011
 * characters per name (the service checks the same limits). The user never set this path, so
 * point them at what they can set.
 */
function checkDefaultParameterPath(platform: Construct, path: string): void {
  const levels = path.split('/').length - 1;
  if (levels > 14 || path.length > 900) {
    throw new Error(`${platform.node.path}: the default Parameter Store path '${path}' ${levels > 14 ? `puts the parameter names ${levels} levels deep (keep them under 15, Parameter Store's limit)` : `is ${path.length} characters long (it must stay under 900)`} because the platform sits deep in the construct tree. Set appName (the path becomes /<appName>/<stage>/), choosing a name no other platform in this account and region uses.`);
  }
}

/** Parameter paths of the platforms of each CDK app, with the account and region they deploy to. */
const parameterPathsByApp = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Two platforms writing the same parameters in one account and region fail on the second
 * deploy (the names are taken); reject that at synth when both are in this app.
 */
function rejectSharedParameterPath(platform: Construct, path: string, prop: string): void {
  if (Token.isUnresolved(path)) return;
  const stack = Stack.of(platform);
  const key = `${stack.account}/${stack.region}${path}`;
  const root = platform.node.root;
  const paths = parameterPathsByApp.get(root) ?? new Map<string, string>();
  parameterPathsByApp.set(root, paths);
  const other = paths.get(key);
  if (other !== undefined) {
    throw new Error(`${platform.node.path}: the Parameter Store path '${path}' is already used by ${other} in the same account and region; the second deploy would fail on existing parameters. Set a different ${prop} (or leave appName and service.parameterPath unset for a path unique to each platform).`);
  }
  paths.set(key, platform.node.path);
}
