import * as path from 'path';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, CfnResource, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { KeyedRestApi } from '../src/api';
import { denyGrantsExceptForAwsServices } from '../src/core/kms';
import { allowLogsToUseKey } from '../src/core/logs-key';
import { addCheckovSuppressions, addGuardSuppressions, addNagSuppressions } from '../src/core/suppressions';
import { FlaskServerlessVpc } from '../src/network';

/** Requests the burst assertion sends at once: well above the per-key bucket of 10. */
const BURST_REQUESTS = 40;

/**
 * The stack under test: the API in front of a minimal backend of its own (an internal Network
 * Load Balancer and one Fargate task running the echo app), with the WAF option on.
 */
export function buildStacks(app: App): Stack[] {
  const stack = new Stack(app, 'KeyedRestApiInteg', { env: { region: 'ap-southeast-1' } });
  const network = new FlaskServerlessVpc(stack, 'Network');
  const vpc = network.vpc;

  const logKey = new kms.Key(stack, 'BackendLogKey', { description: 'Encrypts the echo backend logs', enableKeyRotation: true });
  allowLogsToUseKey(logKey);
  denyGrantsExceptForAwsServices(logKey);
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'EchoTask', { cpu: 256, memoryLimitMiB: 512 });
  const echoLogs = new logs.LogGroup(stack, 'EchoLogs', { retention: logs.RetentionDays.ONE_WEEK, encryptionKey: logKey });
  addGuardSuppressions(echoLogs, [{ id: 'cloudwatch_log_group_retention_period_check', reason: 'Logs of a short-lived integ-test backend; a week covers the test run.' }]);
  taskDefinition.addContainer('echo', {
    // The task runs x86-64 (the task definition's default): build for it on any machine.
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, 'assets', 'echo-app'), { platform: ecrAssets.Platform.LINUX_AMD64 }),
    portMappings: [{ containerPort: 8000 }],
    // The image's unprivileged user.
    user: '10001',
    memoryLimitMiB: 512,
    readonlyRootFilesystem: true,
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'echo', logGroup: echoLogs }),
  });
  addNagSuppressions(taskDefinition.obtainExecutionRole().node.findChild('DefaultPolicy'), [{
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecr:GetAuthorizationToken, which the task needs to pull its image, has no resource-level permissions.',
  }]);
  const serviceSecurityGroup = new ec2.SecurityGroup(stack, 'EchoSecurityGroup', {
    vpc,
    description: 'Echo backend: HTTP from the load balancer',
    allowAllOutbound: true,
  });
  // The load balancer has no security group; its nodes (and the VPC link's traffic through them)
  // come from the app subnets.
  for (const subnet of vpc.selectSubnets(network.appSubnets).subnets) {
    serviceSecurityGroup.addIngressRule(ec2.Peer.ipv4(subnet.ipv4CidrBlock), ec2.Port.tcp(8000), 'HTTP from the load balancer');
  }
  const service = new ecs.FargateService(stack, 'EchoService', {
    cluster,
    taskDefinition,
    desiredCount: 1,
    vpcSubnets: network.appSubnets,
    securityGroups: [serviceSecurityGroup],
    assignPublicIp: false,
    circuitBreaker: { rollback: true },
  });

  const loadBalancer = new elbv2.NetworkLoadBalancer(stack, 'Nlb', {
    vpc,
    internetFacing: false,
    vpcSubnets: network.appSubnets,
    crossZoneEnabled: true,
  });
  const listener = loadBalancer.addListener('Http', { port: 80 });
  listener.addTargets('Echo', {
    port: 8000,
    targets: [service],
    healthCheck: { protocol: elbv2.Protocol.HTTP, path: '/health', interval: Duration.seconds(10) },
    deregistrationDelay: Duration.seconds(10),
  });
  // The service references the target group and task role already; it must also wait for the
  // listener (ECS needs the target group attached). Keeping only that avoids cfn-lint W3005.
  const cfnService = service.node.defaultChild as CfnResource;
  cfnService.addOverride('DependsOn', [stack.getLogicalId(listener.node.defaultChild as CfnResource)]);
  const lbReason = 'Integ-test backend: API Gateway access logs record every request, and the stack must be deletable after the test.';
  addNagSuppressions(loadBalancer, [{ id: 'AwsSolutions-ELB2', reason: lbReason }]);
  addCheckovSuppressions(loadBalancer, [{ id: 'CKV_AWS_91', reason: lbReason }]);
  addGuardSuppressions(loadBalancer, [
    { id: 'elbv2_logging_enabled_check', reason: lbReason },
    { id: 'elbv2_deletion_protection_enabled_check', reason: lbReason },
  ]);

  new KeyedRestApi(stack, 'Api', { loadBalancer, listenerPort: 80, wafRateLimit: true });
  return [stack];
}

/**
 * CDK's provider behind FlaskServerlessVpc's restrictDefaultSecurityGroup (one per stack): a
 * redundant DependsOn (cfn-lint W3005) and checkov's Lambda checks, which do not fit a handler that
 * runs only while CloudFormation deploys.
 */
if (require.main === module) {
  const app = new App();
  const [stack] = buildStacks(app);
  const api = stack.node.findChild('Api') as KeyedRestApi;
  // The name keeps 'DeployAssert', which scripts/scan-templates.sh leaves out as test harness.
  const assertionStack = new Stack(app, 'KeyedRestApiIntegDeployAssert', { env: { region: 'ap-southeast-1' } });
  const integ = new IntegTest(app, 'KeyedRestApiIntegTest', {
    testCases: [stack],
    assertionStack,
    regions: ['ap-southeast-1'],
    // A task definition is immutable: every change to the echo container replaces it, and ECS
    // rolls the task onto the new one. Nothing stateful is allowed here.
    allowDestroy: ['AWS::ECS::TaskDefinition'],
    // No update workflow: it would first deploy the committed snapshot, whose asset folders are
    // build output and not in git (see README, "Integ tests against a real account").
    // Destructive changes are caught offline instead, by diffing the snapshots (allowDestroy).
    stackUpdateWorkflow: false,
  });
  const healthUrl = `${api.url}health`;

  // No key: API Gateway answers 403 itself.
  const withoutKey = integ.assertions.httpApiCall(healthUrl).expect(ExpectedResult.objectLike({ status: 403 }));

  // The generated key value, read at deploy time; it never appears in a template.
  const keyId = api.createdApiKeys[0].keyId;
  const getKey = integ.assertions.awsApiCall('APIGateway', 'getApiKey', { apiKey: keyId, includeValue: true }, ['value']);
  getKey.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['apigateway:GET'],
    Resource: [`arn:aws:apigateway:${stack.region}::/apikeys/${keyId}`],
  });
  const keyValue = getKey.getAttString('value');

  // With the key: the request reaches the echo app through the VPC link and the load balancer.
  // Retried, as the usage plan key and the first healthy target can take a minute.
  const withKey = integ.assertions.httpApiCall(healthUrl, { headers: { 'x-api-key': keyValue } })
    .expect(ExpectedResult.objectLike({ status: 200, body: { status: 'ok' } }))
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) });

  // A burst above the per-key bucket (10): a function sends BURST_REQUESTS requests at once with
  // the key and reports whether at least one got 429 and at least one got through.
  const burst = new lambda.Function(assertionStack, 'BurstFunction', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    timeout: Duration.minutes(1),
    code: lambda.Code.fromInline([
      'exports.handler = async (event) => {',
      '  const statuses = await Promise.all(Array.from({ length: event.requests }, () =>',
      "    fetch(event.url, { headers: { 'x-api-key': event.apiKey } }).then((r) => r.status, () => 0)));",
      '  const counts = {};',
      '  for (const s of statuses) counts[s] = (counts[s] || 0) + 1;',
      '  console.log(JSON.stringify({ counts }));',
      '  return { throttled: (counts[429] || 0) > 0, succeeded: (counts[200] || 0) > 0 };',
      '};',
    ].join('\n')),
  });
  const throttled = integ.assertions.invokeFunction({
    functionName: burst.functionName,
    // JSON.stringify keeps the tokens as placeholders inside a real JSON text, which CDK turns
    // into Fn::Join; Stack.toJsonString would be quoted again by invokeFunction and not parse.
    payload: JSON.stringify({ url: healthUrl, apiKey: keyValue, requests: BURST_REQUESTS }),
  }).expect(ExpectedResult.objectLike({ Payload: Match.serializedJson({ throttled: true, succeeded: true }) }));

  withoutKey.next(getKey).next(withKey).next(throttled);
  app.synth();
}
