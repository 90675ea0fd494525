import { CfnOutput, Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';
import { KeyedRestApi, KeyedRestApiOptions } from '../api';
import { AuroraServerlessV2Db, AuroraServerlessV2DbOptions } from '../database';
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
   * loss of an AZ), and X-Ray tracing of the API stage (billed per trace recorded; nothing at idle). About 10 USD a month more for WAF plus about 45 USD a month per extra NAT gateway.
   */
  PRODUCTION = 'PRODUCTION',
}

/** Props of `FlaskServerlessPlatform`. Each group takes the options of the part it configures. */
export interface FlaskServerlessPlatformProps {
  /**
   * The Flask app's container image, e.g. `ecs.ContainerImage.fromAsset('./flask-app')`.
   * The container must listen on `service.containerPort` and answer `service.healthCheckPath`
   * without touching the database.
   */
  readonly image: ecs.ContainerImage;

  /**
   * Short name of the application: the first segment of the Parameter Store path
   * `/<appName>/<stage>/`. Lowercase letters, digits and hyphens.
   * @default 'flask-app'
   */
  readonly appName?: string;

  /**
   * Defaults for the whole platform; explicit options in the groups below win.
   * @default PlatformProfile.STANDARD
   */
  readonly profile?: PlatformProfile;

  /**
   * An existing VPC to deploy into, instead of a new one. It needs private subnets with egress
   * (or VPC endpoints) for the tasks and isolated subnets for the database in at least two AZs.
   * Cannot be combined with `network`.
   * @default - a new VPC configured by `network`
   */
  readonly vpc?: ec2.IVpc;

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
   * Lifetime of the JWTs the app issues, given to the container as `JWT_EXPIRES_SECONDS`.
   * @default Duration.hours(1)
   */
  readonly jwtExpiry?: Duration;
}

/**
 * A Flask + PostgreSQL application, serverless: a VPC, Aurora Serverless v2, the container on
 * ECS Fargate behind an internal load balancer, an API-keyed REST API in front, configuration
 * and secrets in Parameter Store, every alarm on one SNS topic and one dashboard.
 */
export class FlaskServerlessPlatform extends Construct {
  /** The VPC the platform runs in. */
  public readonly vpc: ec2.IVpc;
  /** The network construct, when the platform created the VPC. */
  public readonly network?: FlaskServerlessVpc;
  /** The database. */
  public readonly database: AuroraServerlessV2Db;
  /** The Fargate service and its load balancer. */
  public readonly service: FlaskFargateService;
  /** The REST API. */
  public readonly api: KeyedRestApi;
  /** The alarm topic and dashboard. */
  public readonly monitoring: FlaskServerlessMonitoring;
  /** The Parameter Store path that holds the app's settings and secrets, e.g. `/flask-app/Test/`. */
  public readonly parameterPath: string;

  constructor(scope: Construct, id: string, props: FlaskServerlessPlatformProps) {
    super(scope, id);
    if (!props || !props.image) {
      throw new Error('FlaskServerlessPlatform needs `image`, e.g. ecs.ContainerImage.fromAsset(\'./flask-app\').');
    }
    if (props.vpc && props.network) {
      throw new Error('Pass either `vpc` (an existing VPC) or `network` (options of a new VPC), not both: the options would be ignored.');
    }
    const appName = props.appName ?? 'flask-app';
    if (!Token.isUnresolved(appName) && !/^[a-z][a-z0-9-]{0,39}$/.test(appName)) {
      throw new Error(`appName must be 1-40 lowercase letters, digits or hyphens, starting with a letter (it names the Parameter Store path), got '${appName}'.`);
    }
    const jwtExpiry = props.jwtExpiry ?? Duration.hours(1);
    if (Token.isUnresolved(jwtExpiry.toSeconds({ integral: false }))) {
      throw new Error('jwtExpiry must be a concrete duration, not a token: it is written into the JWT_EXPIRES_SECONDS parameter.');
    }
    if (jwtExpiry.toSeconds() < 60 || jwtExpiry.toSeconds() > 86400) {
      throw new Error(`jwtExpiry must be from 1 minute to 24 hours, got ${jwtExpiry.toSeconds()} s.`);
    }
    const production = (props.profile ?? PlatformProfile.STANDARD) === PlatformProfile.PRODUCTION;
    // A TLS listener is only useful if the API calls it over HTTPS by a name its certificate covers.
    const tlsCertificate = props.service?.tlsCertificate;
    const tlsHostname = props.api?.integrationTlsHostname;
    if ((tlsCertificate === undefined) !== (tlsHostname === undefined)) {
      throw new Error(tlsCertificate
        ? 'service.tlsCertificate needs api.integrationTlsHostname: API Gateway must call the TLS listener by a host name the certificate covers; pass both, or neither for plain HTTP.'
        : `api.integrationTlsHostname ('${tlsHostname}') needs service.tlsCertificate: the load balancer needs a TLS listener with a certificate covering that name; pass both, or neither for plain HTTP.`);
    }

    let dataSubnets: ec2.SubnetSelection | undefined;
    let appSubnets: ec2.SubnetSelection | undefined;
    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      const network = props.network ?? {};
      const useNatPerAz = production && (network.egress ?? EgressMode.NAT_GATEWAY) === EgressMode.NAT_GATEWAY && network.natGateways === undefined;
      this.network = new FlaskServerlessVpc(this, 'Network', {
        ...network,
        natGateways: useNatPerAz ? (network.maxAzs ?? 2) : network.natGateways,
      });
      this.vpc = this.network.vpc;
      dataSubnets = this.network.dataSubnets;
      appSubnets = this.network.appSubnets;
    }

    this.database = new AuroraServerlessV2Db(this, 'Database', {
      ...props.database,
      vpc: this.vpc,
      vpcSubnets: dataSubnets,
    });

    const stageName = props.api?.stageName ?? 'Test';
    const serviceOptions = props.service ?? {};
    if (serviceOptions.settings?.JWT_EXPIRES_SECONDS !== undefined) {
      throw new Error('service.settings.JWT_EXPIRES_SECONDS is set by the platform from jwtExpiry; set jwtExpiry instead.');
    }
    if (serviceOptions.enableExecuteCommand && props.network?.egress === EgressMode.VPC_ENDPOINTS) {
      throw new Error('service.enableExecuteCommand needs the SSM Messages endpoint, which network.egress VPC_ENDPOINTS does not create; use a NAT egress mode for ECS Exec, or leave it off.');
    }
    // A JWT_SECRET the user brings (existingSecrets) replaces the generated one.
    const generatedSecrets = serviceOptions.existingSecrets?.JWT_SECRET ? [] : ['JWT_SECRET'];
    this.parameterPath = serviceOptions.parameterPath ?? `/${appName}/${stageName}/`;
    this.service = new FlaskFargateService(this, 'Service', {
      ...serviceOptions,
      vpc: this.vpc,
      vpcSubnets: appSubnets,
      image: props.image,
      database: this.database,
      parameterPath: this.parameterPath,
      settings: {
        JWT_EXPIRES_SECONDS: String(jwtExpiry.toSeconds()),
        ...serviceOptions.settings,
      },
      generatedSecrets: [...new Set([...generatedSecrets, ...(serviceOptions.generatedSecrets ?? [])])],
    });

    this.api = new KeyedRestApi(this, 'Api', {
      ...props.api,
      wafRateLimit: props.api?.wafRateLimit ?? production,
      tracingEnabled: props.api?.tracingEnabled ?? production,
      loadBalancer: this.service.loadBalancer,
      listenerPort: this.service.listenerPort,
    });

    this.monitoring = new FlaskServerlessMonitoring(this, 'Monitoring', props.monitoring);
    this.monitoring.addAlarms(...this.api.alarms, ...this.service.alarms, ...this.database.alarms);
    this.addDashboard();

    // The API outputs its URL, each key's ID and the command that prints the key's value.
    new CfnOutput(this, 'DashboardUrl', { value: this.monitoring.dashboardUrl, description: 'CloudWatch dashboard' });
    new CfnOutput(this, 'ParameterPath', {
      value: this.parameterPath,
      description: 'Parameter Store path of the app\'s settings and secrets',
    });
  }

  private addDashboard(): void {
    const graph = (title: string, metrics: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left: metrics, right, width: 8, height: 6 });
    const api = this.api;
    this.monitoring.addSection('API', [
      graph('Requests', [api.metricCount()]),
      graph('4XX / 5XX', [api.metric4XXError(), api.metric5XXError()]),
      graph('Latency (p50, p99)', [api.metricLatency({ statistic: 'p50' }), api.metricLatency({ statistic: 'p99' })]),
    ]);
    const svc = this.service;
    this.monitoring.addSection('Service', [
      graph('CPU utilization (%)', [svc.metricCpuUtilization()]),
      graph('Memory utilization (%)', [svc.metricMemoryUtilization()]),
      graph('Running tasks / unhealthy targets', [svc.metricRunningTaskCount()], [svc.metricUnhealthyHosts()]),
    ]);
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
