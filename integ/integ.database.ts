// AuroraServerlessV2Db with its defaults (auto-pause after 5 minutes, 0.5 to 1 ACU while running)
// in a VPC with isolated subnets, in ap-southeast-1. Deployed by integ-runner, the assertion reads the
// cluster back from the RDS API.
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { addGuardSuppressions, addNagSuppressions } from '../src/core/suppressions';
import { AuroraServerlessV2Db } from '../src/database';

export function buildDatabase(app: App): { stack: Stack; database: AuroraServerlessV2Db } {
  const stack = new Stack(app, 'FlaskServerlessDatabaseInteg', { env: { region: 'ap-southeast-1' } });
  // Isolated subnets only: the database needs no route out, and the test VPC carries nothing
  // but the assertion's API call (made outside the VPC).
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 26 }],
    restrictDefaultSecurityGroup: false,
  });
  addNagSuppressions(vpc, [{
    id: 'AwsSolutions-VPC7',
    reason: 'A throwaway test VPC without traffic of its own; FlaskServerlessVpc, which real deployments use, has flow logs.',
  }]);
  const database = new AuroraServerlessV2Db(stack, 'Database', {
    vpc,
    // An integ deploy must clean up after itself.
    deletionProtection: false,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // What a service does: its security group is let in on the database port.
  const client = new ec2.SecurityGroup(stack, 'Client', { vpc, description: 'A database client', allowAllOutbound: false });
  database.connections.allowDefaultPortFrom(client, 'PostgreSQL from the client');

  const teardown = 'The integ test stack is deleted after each run; deletion protection would block its teardown.';
  addNagSuppressions(database.cluster, [{ id: 'AwsSolutions-RDS10', reason: teardown }]);
  addGuardSuppressions(database.cluster, [{ id: 'rds_cluster_deletion_protection_enabled_check', reason: teardown }]);
  return { stack, database };
}

export function buildStacks(app: App): Stack[] {
  return [buildDatabase(app).stack];
}

if (require.main === module) {
  const app = new App();
  const { stack, database } = buildDatabase(app);
  // The assertions read the cluster's identifier, so they live in the same region. The name
  // keeps 'DeployAssert', which scripts/scan-templates.sh leaves out as test harness.
  const assertionStack = new Stack(app, 'DatabaseIntegDeployAssert', { env: { region: 'ap-southeast-1' } });
  const integ = new IntegTest(app, 'DatabaseInteg', {
    testCases: [stack],
    assertionStack,
    regions: ['ap-southeast-1'],
    // Nothing may be replaced or removed: every resource here is the database or what guards it.
    // No update workflow: it would first deploy the committed snapshot, whose asset folders are
    // build output and not in git (see README, "Integ tests against a real account").
    // Destructive changes are caught offline instead, by diffing the snapshots (allowDestroy).
    stackUpdateWorkflow: false,
  });
  integ.assertions
    .awsApiCall('RDS', 'describeDBClusters', { DBClusterIdentifier: database.cluster.clusterIdentifier })
    .expect(ExpectedResult.objectLike({
      DBClusters: [{
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 1, SecondsUntilAutoPause: 300 },
        StorageEncrypted: true,
        IAMDatabaseAuthenticationEnabled: true,
        DeletionProtection: false,
      }],
    }));
  app.synth();
}
