import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ACCOUNT, REGION } from './cfn';
import {
  AuroraServerlessV2Db,
  CloudWatchRoleMode,
  ComputeType,
  EgressMode,
  FlaskFargateService,
  FlaskServerlessPlatform,
  FlaskServerlessPlatformProps,
  KeyedRestApi,
  PlatformProfile,
} from '../../../src';

/** One way of using the library whose synthesized template the path proofs run on. */
export interface Mode {
  /** Short id, used in test names and the README matrix. */
  readonly id: string;
  /** What the mode sets, in a few words (README). */
  readonly description: string;
  /** What the mode assumes of the account: its API Gateway CloudWatch role is already set. */
  readonly accountHasApiGatewayRole?: boolean;
  /** Builds the mode's stack in a fresh app. */
  build(): Stack;
}

const image = ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', '..', 'integ', 'assets', 'echo-app'));
const CERT_ARN = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7`;

function platform(props: Partial<FlaskServerlessPlatformProps>): Stack {
  const stack = new Stack(new App(), 'Paths', { env: { account: ACCOUNT, region: REGION } });
  new FlaskServerlessPlatform(stack, 'P', { image, ...props });
  return stack;
}

/** The platform on Lambda: the same image as functions, no NAT, no endpoints, no load balancer. */
function lambdaPlatform(): Stack {
  const stack = new Stack(new App(), 'Paths', { env: { account: ACCOUNT, region: REGION } });
  const functionCode = lambda.DockerImageCode.fromImageAsset(path.join(__dirname, '..', '..', '..', 'integ', 'assets', 'echo-app'), { platform: Platform.LINUX_AMD64 });
  new FlaskServerlessPlatform(stack, 'P', { compute: ComputeType.LAMBDA, functionCode });
  return stack;
}

/** The parts on their own, in a VPC the user made: public, private-with-egress and isolated subnets. */
function partsInUserVpc(): Stack {
  const stack = new Stack(new App(), 'Paths', { env: { account: ACCOUNT, region: REGION } });
  const vpc = new ec2.Vpc(stack, 'UserVpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const database = new AuroraServerlessV2Db(stack, 'Db', { vpc });
  const service = new FlaskFargateService(stack, 'Svc', { vpc, image, database, parameterPath: '/parts/Test/' });
  new KeyedRestApi(stack, 'Api', { loadBalancer: service.loadBalancer, listenerPort: service.listenerPort });
  return stack;
}

/** Every mode the issue asks for: egress modes, profiles, rotation, CloudWatch role modes, TLS, the parts alone. */
export const MODES: Mode[] = [
  { id: 'nat-gateway', description: 'defaults: STANDARD, EgressMode.NAT_GATEWAY, CloudWatchRoleMode.CREATE', build: () => platform({}) },
  { id: 'nat-instance', description: 'network.egress NAT_INSTANCE', build: () => platform({ network: { egress: EgressMode.NAT_INSTANCE } }) },
  { id: 'vpc-endpoints', description: 'network.egress VPC_ENDPOINTS', build: () => platform({ network: { egress: EgressMode.VPC_ENDPOINTS } }) },
  { id: 'public-subnets', description: 'network.egress PUBLIC_SUBNETS (tasks with their own public IPv4)', build: () => platform({ network: { egress: EgressMode.PUBLIC_SUBNETS } }) },
  { id: 'one-az-endpoints', description: 'network.egress VPC_ENDPOINTS with singleAzEndpoints', build: () => platform({ network: { egress: EgressMode.VPC_ENDPOINTS, singleAzEndpoints: true } }) },
  { id: 'production', description: 'profile PRODUCTION (WAF with logging, a NAT gateway per AZ)', build: () => platform({ profile: PlatformProfile.PRODUCTION }) },
  { id: 'rotation', description: 'database.rotateSecretAfter 30 days', build: () => platform({ database: { rotateSecretAfter: Duration.days(30) } }) },
  {
    id: 'master-user',
    description: 'database.iamAuthentication false (no app role: the app connects as the master user) with rotateSecretAfter 30 days',
    build: () => platform({ database: { iamAuthentication: false, rotateSecretAfter: Duration.days(30) } }),
  },
  { id: 'cw-role-existing', description: 'api.cloudWatchRole USE_EXISTING', build: () => platform({ api: { cloudWatchRole: CloudWatchRoleMode.USE_EXISTING } }), accountHasApiGatewayRole: true },
  { id: 'cw-role-none', description: 'api.cloudWatchRole NONE', build: () => platform({ api: { cloudWatchRole: CloudWatchRoleMode.NONE } }) },
  {
    id: 'tls',
    description: 'service.tlsCertificate + api.integrationTlsHostname, containerTls',
    build: () => {
      const certificate = acm.Certificate.fromCertificateArn(new Stack(), 'Certificate', CERT_ARN);
      return platform({
        service: { tlsCertificate: certificate, containerTls: true },
        api: { integrationTlsHostname: 'app.internal.example.com' },
      });
    },
  },
  {
    id: 'regulated',
    description: 'profile REGULATED (TLS to the NLB, NLB access logs, rotation, AWS Backup, WAF, X-Ray)',
    build: () => {
      const certificate = acm.Certificate.fromCertificateArn(new Stack(), 'Certificate', CERT_ARN);
      return platform({ profile: PlatformProfile.REGULATED, service: { tlsCertificate: certificate }, api: { integrationTlsHostname: 'app.internal.example.com' } });
    },
  },
  { id: 'ecs-exec', description: 'service.enableExecuteCommand (ECS Exec)', build: () => platform({ service: { enableExecuteCommand: true } }) },
  { id: 'lambda', description: 'compute LAMBDA (functions from the same image, EgressMode.NONE: no NAT, no endpoints)', build: lambdaPlatform },
  { id: 'parts', description: 'AuroraServerlessV2Db, FlaskFargateService and KeyedRestApi in a user\'s ec2.Vpc', build: partsInUserVpc },
];

export function mode(id: string): Mode {
  const found = MODES.find((m) => m.id === id);
  if (!found) throw new Error(`no mode '${id}'`);
  return found;
}
