// The umbrella with the reference Flask app (examples/flask-app), in ap-southeast-1.
// Deployed by integ-runner, the assertions call the API as a client would.
import * as path from 'path';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FlaskServerlessPlatform } from '../src';
import { addGuardSuppressions, addNagSuppressions } from '../src/core';

export function buildPlatform(app: App): { stack: Stack; platform: FlaskServerlessPlatform } {
  const stack = new Stack(app, 'FlaskServerlessPlatformInteg', { env: { region: 'ap-southeast-1' } });
  const platform = new FlaskServerlessPlatform(stack, 'App', {
    // The platform's default cpuArchitecture is X86_64: build for it on any machine.
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', 'examples', 'flask-app'), { platform: ecrAssets.Platform.LINUX_AMD64 }),
    // An integ deploy must clean up after itself.
    database: { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY },
    // The reference image runs as user 10001 (its Dockerfile); saying so lets the task definition show it.
    service: { containerUser: '10001' },
    // The dump bucket and the import task, so that every gate also checks them; empty at teardown.
    dataImport: { removalPolicy: RemovalPolicy.DESTROY },
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
  // An explicit region lets the assertions reference the platform's resources; the name keeps
  // 'DeployAssert', which scripts/scan-templates.sh leaves out as test harness.
  const assertionStack = new Stack(app, 'FlaskServerlessPlatformIntegDeployAssert', { env: { region: 'ap-southeast-1' } });
  const integ = new IntegTest(app, 'PlatformInteg', {
    testCases: [stack],
    assertionStack,
    regions: ['ap-southeast-1'],
    // A task definition is immutable: a changed setting or image replaces it, and ECS rolls the
    // tasks onto the new one. The database, its secret and keys are not listed: replacing them
    // loses data, so such a change must fail the snapshot check.
    allowDestroy: ['AWS::ECS::TaskDefinition'],
    // No update workflow: it would first deploy the committed snapshot, whose asset folders are
    // build output and not in git (see README, "Integ tests against a real account").
    // Destructive changes are caught offline instead, by diffing the snapshots (allowDestroy).
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
  // The first request may wait for the task to start and for Aurora to resume.
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
