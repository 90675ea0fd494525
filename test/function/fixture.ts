import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AuroraServerlessV2Db } from '../../src/database';
import { FlaskLambdaService, FlaskLambdaServiceOptions } from '../../src/function';
import { EgressMode, FlaskServerlessVpc } from '../../src/network';

export const APP_DIR = path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app');

export function code(platform: Platform = Platform.LINUX_AMD64): lambda.DockerImageCode {
  return lambda.DockerImageCode.fromImageAsset(APP_DIR, { platform });
}

/** A Lambda service in the platform's no-egress VPC, with its database. */
export function lambdaStack(options: FlaskLambdaServiceOptions = {}, app: App = new App()) {
  const stack = new Stack(app, 'Fn', { env: { account: '111111111111', region: 'ap-southeast-1' } });
  const network = new FlaskServerlessVpc(stack, 'Network', { egress: EgressMode.NONE });
  const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
  const service = new FlaskLambdaService(stack, 'Service', {
    code: code(),
    database,
    vpc: network.vpc,
    vpcSubnets: network.appSubnets,
    generatedSecrets: ['JWT_SECRET'],
    settings: { JWT_EXPIRES_SECONDS: '3600' },
    ...options,
  });
  return { stack, network, database, service };
}
