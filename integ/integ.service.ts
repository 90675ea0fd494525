import * as path from 'path';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { denyGrantsExceptForAwsServices } from '../src/core/kms';
import { addNagSuppressions } from '../src/core/suppressions';
import { IFlaskDatabase } from '../src/database/flask-database';
import { FlaskServerlessVpc } from '../src/network';
import { FlaskFargateService } from '../src/service';

/** The stacks under test: a VPC and the service, with a stand-in for an external database. */
export function buildStacks(app: App): Stack[] {
  const stack = new Stack(app, 'FlaskServiceInteg', { env: { region: 'ap-southeast-1' } });
  const network = new FlaskServerlessVpc(stack, 'Network');

  // A database the library did not create: its security group and credentials secret are real,
  // so the deployment proves the tasks can read the password and the port rule is in place.
  const dbSecurityGroup = new ec2.SecurityGroup(stack, 'ExternalDbSecurityGroup', {
    vpc: network.vpc,
    description: 'Stands in for an external PostgreSQL database',
    allowAllOutbound: false,
  });
  // A customer-managed key, as a real database secret would have: the task must be granted it.
  const dbSecretKey = new kms.Key(stack, 'ExternalDbSecretKey', { enableKeyRotation: true });
  denyGrantsExceptForAwsServices(dbSecretKey);
  const dbSecret = new secretsmanager.Secret(stack, 'ExternalDbSecret', {
    description: 'Credentials of the stand-in external database',
    encryptionKey: dbSecretKey,
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ username: 'app' }),
      generateStringKey: 'password',
      excludePunctuation: true,
    },
  });
  addNagSuppressions(dbSecret, [
    { id: 'AwsSolutions-SMG4', reason: 'Stand-in credentials of an integ test with no database behind them; there is nothing to rotate.' },
  ]);
  const database: IFlaskDatabase = {
    endpointAddress: 'db.integ.internal',
    port: 5432,
    databaseName: 'app',
    username: 'app',
    secret: dbSecret,
    connections: new ec2.Connections({ securityGroups: [dbSecurityGroup], defaultPort: ec2.Port.tcp(5432) }),
  };

  new FlaskFargateService(stack, 'Service', {
    vpc: network.vpc,
    vpcSubnets: network.appSubnets,
    // The service's default cpuArchitecture is X86_64: build for it on any machine.
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, 'assets', 'echo-app'), { platform: ecrAssets.Platform.LINUX_AMD64 }),
    database,
    settings: { GREETING: 'hello' },
    generatedSecrets: ['SECRET_KEY'],
    // The echo app runs as UID 10001 and writes nothing: deploy it locked down, which also
    // proves the writable /tmp volume does not stop the task from starting.
    containerUser: '10001',
    readonlyRootFilesystem: true,
  });
  return [stack];
}

if (require.main === module) {
  const app = new App();
  const [stack] = buildStacks(app);
  const service = stack.node.findChild('Service') as FlaskFargateService;
  // The assertions read the cluster, service and target group, so they live in the same region.
  // The name keeps 'DeployAssert', which scripts/scan-templates.sh leaves out as test harness.
  const assertionStack = new Stack(app, 'FlaskServiceIntegDeployAssert', { env: { region: 'ap-southeast-1' } });
  const integ = new IntegTest(app, 'FlaskServiceIntegTest', {
    testCases: [stack],
    assertionStack,
    regions: ['ap-southeast-1'],
    // A task definition is immutable: a changed setting or image replaces it, and ECS rolls the
    // tasks onto the new one. Nothing stateful is allowed here.
    allowDestroy: ['AWS::ECS::TaskDefinition'],
    // No update workflow: it would first deploy the committed snapshot, whose asset folders are
    // build output and not in git (see README, "Integ tests against a real account").
    // Destructive changes are caught offline instead, by diffing the snapshots (allowDestroy).
    stackUpdateWorkflow: false,
  });

  // The task started (so it read every parameter and the database password) and stays running.
  integ.assertions.awsApiCall('ECS', 'describeServices', {
    cluster: service.cluster.clusterArn,
    services: [service.service.serviceArn],
  }).expect(ExpectedResult.objectLike({
    services: [{ runningCount: 1, desiredCount: 1 }],
  })).waitForAssertions({ totalTimeout: Duration.minutes(15), interval: Duration.seconds(30) });

  // The load balancer sees it healthy on /health. 'ELBv2' is the name the assertion handler maps
  // to @aws-sdk/client-elastic-load-balancing-v2 and the grant to the IAM prefix
  // 'elasticloadbalancing'; 'ElasticLoadBalancingV2' names neither a package nor an IAM service.
  integ.assertions.awsApiCall('ELBv2', 'describeTargetHealth', {
    TargetGroupArn: service.targetGroup.targetGroupArn,
  }).expect(ExpectedResult.objectLike({
    TargetHealthDescriptions: [{ TargetHealth: { State: 'healthy' } }],
  })).waitForAssertions({ totalTimeout: Duration.minutes(15), interval: Duration.seconds(30) });

  // The generated secret is a SecureString under the service's path (DescribeParameters returns
  // metadata only, never the value).
  integ.assertions.awsApiCall('SSM', 'describeParameters', {
    ParameterFilters: [{ Key: 'Name', Values: [`${service.parameterPath}SECRET_KEY`] }],
  }).expect(ExpectedResult.objectLike({
    Parameters: [{ Type: 'SecureString' }],
  }));

  app.synth();
}
