import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildStacks as apiInteg } from '../../integ/integ.api';
import { buildStacks as databaseInteg } from '../../integ/integ.database';
import { buildStacks as platformInteg } from '../../integ/integ.platform';
import { buildStacks as platformLambdaInteg } from '../../integ/integ.platform-lambda';
import { buildStacks as serviceInteg } from '../../integ/integ.service';
import { CloudWatchRoleMode, KeyedRestApi, KeyedRestApiOptions } from '../../src/api';
import { FlaskDataImport } from '../../src/data-import';
import { AuroraServerlessV2Db, AuroraServerlessV2DbOptions } from '../../src/database';
import { EgressMode, FlaskServerlessVpc } from '../../src/network';
import { ComputeType, FlaskServerlessPlatform, FlaskServerlessPlatformProps, PlatformProfile } from '../../src/platform';
import { FlaskFargateService, FlaskFargateServiceOptions } from '../../src/service';

const env = { region: 'ap-southeast-1' };
const CERT_ARN = 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7';
const echoApp = path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app');

function platform(props: Omit<FlaskServerlessPlatformProps, 'image'>) {
  return (app: App) => {
    const stack = new Stack(app, 'Platform', { env });
    new FlaskServerlessPlatform(stack, 'App', {
      image: ecs.ContainerImage.fromAsset(echoApp),
      ...props,
      service: { containerUser: '10001', ...props.service },
    });
    return [stack];
  };
}

function api(props: KeyedRestApiOptions) {
  return (app: App) => {
    const stack = new Stack(app, 'Api', { env });
    const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef',
      loadBalancerDnsName: 'app-0123456789abcdef.elb.ap-southeast-1.amazonaws.com',
    });
    const certificate = props.domainName ? acm.Certificate.fromCertificateArn(stack, 'Cert', CERT_ARN) : undefined;
    new KeyedRestApi(stack, 'Api', { loadBalancer, certificate, ...props });
    return [stack];
  };
}

function service(props: FlaskFargateServiceOptions) {
  return (app: App) => {
    const stack = new Stack(app, 'Service', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    new FlaskFargateService(stack, 'Service', {
      vpc: network.vpc,
      vpcSubnets: network.appSubnets,
      image: ecs.ContainerImage.fromAsset(echoApp),
      containerUser: '10001',
      ...props,
    });
    return [stack];
  };
}

function database(props: AuroraServerlessV2DbOptions) {
  return (app: App) => {
    const stack = new Stack(app, 'Database', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets, ...props });
    return [stack];
  };
}

function vpcOnly(egress: EgressMode) {
  return (app: App) => {
    const stack = new Stack(app, 'Network', { env });
    new FlaskServerlessVpc(stack, 'Vpc', { egress });
    return [stack];
  };
}

/**
 * Every mode whose templates carry a different set of suppressions: the integ stacks, the
 * umbrella's profiles and the options that add or drop a suppression in each part.
 */
export const SCENARIOS: Record<string, (app: App) => Stack[]> = {
  'platform integ': platformInteg,
  'platform STANDARD': platform({}),
  'platform PRODUCTION': platform({ profile: PlatformProfile.PRODUCTION }),
  'platform with TLS on both inner hops and NLB access logs': (app) => {
    const stack = new Stack(app, 'PlatformTls', { env });
    new FlaskServerlessPlatform(stack, 'App', {
      image: ecs.ContainerImage.fromAsset(echoApp),
      service: {
        containerUser: '10001',
        tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERT_ARN),
        containerTls: true,
        accessLogsBucket: s3.Bucket.fromBucketName(stack, 'AccessLogs', 'nlb-access-logs-111111111111'),
      },
      api: { integrationTlsHostname: 'backend.example.com' },
    });
    return [stack];
  },
  'platform on Lambda integ': platformLambdaInteg,
  'platform on Lambda, reserved concurrency': (app) => {
    const stack = new Stack(app, 'PlatformLambda', { env });
    new FlaskServerlessPlatform(stack, 'App', {
      compute: ComputeType.LAMBDA,
      functionCode: lambda.DockerImageCode.fromImageAsset(echoApp),
      function: { reservedConcurrentExecutions: 10 },
    });
    return [stack];
  },
  'platform REGULATED (NAT gateways)': (app) => {
    const stack = new Stack(app, 'PlatformRegulated', { env });
    new FlaskServerlessPlatform(stack, 'App', {
      image: ecs.ContainerImage.fromAsset(echoApp),
      profile: PlatformProfile.REGULATED,
      service: { containerUser: '10001', tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERT_ARN) },
      api: { integrationTlsHostname: 'backend.example.com' },
    });
    return [stack];
  },
  'api integ (WAF)': apiInteg,
  'api defaults': api({}),
  'api OpenAPI, cache, CORS, X-Ray, a year of logs': api({
    openApiDocument: path.join(__dirname, '..', 'api', 'fixtures', 'items.yaml'),
    cacheEnabled: true,
    cors: { allowOrigins: ['https://app.example.com'] },
    tracingEnabled: true,
    accessLogRetention: 365,
  }),
  'api without CloudWatch role, WAF rate rule only': api({ cloudWatchRole: CloudWatchRoleMode.NONE, wafRateLimit: true, wafManagedRules: false, wafLogging: false }),
  'api custom domain, existing CloudWatch role': api({ domainName: 'api.example.com', cloudWatchRole: CloudWatchRoleMode.USE_EXISTING }),
  'service integ': serviceInteg,
  'service with ECS Exec and plain environment': service({ enableExecuteCommand: true, environment: { FLASK_ENV: 'production' } }),
  'service with a read-only root file system and TLS': service({
    readonlyRootFilesystem: true,
    tlsCertificate: acm.Certificate.fromCertificateArn(new Stack(), 'Certificate', CERT_ARN),
  }),
  'database integ': databaseInteg,
  'database with rotation, no Enhanced Monitoring': database({ rotateSecretAfter: Duration.days(30), monitoringInterval: Duration.seconds(0) }),
  'network NAT gateway': vpcOnly(EgressMode.NAT_GATEWAY),
  'network NAT instance': vpcOnly(EgressMode.NAT_INSTANCE),
  'network VPC endpoints only': vpcOnly(EgressMode.VPC_ENDPOINTS),
  'platform with data import': platform({ dataImport: {} }),
  'data import on its own, versioned, with access logs': (app) => {
    const stack = new Stack(app, 'DataImport', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    const db = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
    const accessLogsBucket = s3.Bucket.fromBucketName(stack, 'AccessLogs', 's3-access-logs-111111111111');
    new FlaskDataImport(stack, 'Import', { vpc: network.vpc, vpcSubnets: network.appSubnets, database: db, versioned: true, accessLogsBucket });
    return [stack];
  },
  'network without egress': vpcOnly(EgressMode.NONE),
};
