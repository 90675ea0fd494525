// The umbrella on Lambda (ComputeType.LAMBDA) with the reference Flask app (examples/flask-app),
// in ap-southeast-1. Deployed by integ-runner, the assertions call the API as a client would.
import * as path from 'path';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ComputeType, FlaskServerlessPlatform } from '../src';
import { addGuardSuppressions, addNagSuppressions } from '../src/core';

export function buildPlatform(app: App): { stack: Stack; platform: FlaskServerlessPlatform } {
  const stack = new Stack(app, 'FlaskServerlessLambdaInteg', { env: { region: 'ap-southeast-1' } });
  const platform = new FlaskServerlessPlatform(stack, 'App', {
    compute: ComputeType.LAMBDA,
    // The same Dockerfile as the Fargate platform; the functions are x86_64 by default.
    functionCode: lambda.DockerImageCode.fromImageAsset(path.join(__dirname, '..', 'examples', 'flask-app'), { platform: ecrAssets.Platform.LINUX_AMD64 }),
    // An integ deploy must clean up after itself.
    database: { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY },
  });
  const teardown = 'The integ test stack is deleted after each run; deletion protection would block its teardown.';
  addNagSuppressions(platform.database.cluster, [{ id: 'AwsSolutions-RDS10', reason: teardown }]);
  addGuardSuppressions(platform.database.cluster, [{ id: 'rds_cluster_deletion_protection_enabled_check', reason: teardown }]);
  return { stack, platform };
}

export function buildStacks(app: App): Stack[] {
  return [buildPlatform(app).stack];
}

if (require.main === module) {
  const app = new App();
  const { stack, platform } = buildPlatform(app);
  // The name keeps 'DeployAssert', which scripts/scan-templates.sh leaves out as test harness.
  const assertionStack = new Stack(app, 'FlaskServerlessLambdaIntegDeployAssert', { env: { region: 'ap-southeast-1' } });
  const integ = new IntegTest(app, 'PlatformLambdaInteg', {
    testCases: [stack],
    assertionStack,
    regions: ['ap-southeast-1'],
    // A new image or setting publishes a new version of the migration function, which the
    // trigger invokes; the database, its secret and keys are not listed.
    allowDestroy: ['AWS::Lambda::Version'],
    stackUpdateWorkflow: false,
  });
  const url = platform.api.url;

  integ.assertions
    .httpApiCall(`${url}health`)
    .expect(ExpectedResult.objectLike({ status: 403 }));

  // The generated key value, read at deploy time; it never appears in a template.
  const keyId = platform.api.apiKeys[0].keyId;
  const key = integ.assertions.awsApiCall('APIGateway', 'getApiKey', { apiKey: keyId, includeValue: true }, ['value']);
  key.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['apigateway:GET'],
    Resource: [`arn:aws:apigateway:${stack.region}::/apikeys/${keyId}`],
  });
  // The first request pays a cold start and may wait for Aurora to resume (or get a 503 to retry).
  integ.assertions
    .httpApiCall(`${url}health`, { headers: { 'x-api-key': key.getAttString('value') } })
    .expect(ExpectedResult.objectLike({ status: 200, body: { status: 'ok' } }))
    .waitForAssertions();
  integ.assertions
    .httpApiCall(`${url}todos`, { headers: { 'x-api-key': key.getAttString('value') } })
    .expect(ExpectedResult.objectLike({ status: 401 }))
    .waitForAssertions();
  app.synth();
}
