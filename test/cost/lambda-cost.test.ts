import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import * as triggers from 'aws-cdk-lib/triggers';
import { CostEstimate, CostEstimateOptions, CostEstimator } from '../../src';
import { main } from '../../src/cost/cli';
import { AP_SOUTHEAST_1 } from '../../src/cost/prices';

const P = AP_SOUTHEAST_1;

interface Fixture {
  readonly architecture?: lambda.Architecture;
  readonly memorySize?: number;
  readonly provisioned?: number;
}

/** A REST API in front of an image function, plus a trigger and a provider-framework custom resource. */
function lambdaStack(fixture: Fixture = {}): Stack {
  const stack = new Stack(new App(), 'LambdaCost', { env: { account: '111111111111', region: 'ap-southeast-1' } });
  const repo = ecr.Repository.fromRepositoryName(stack, 'Repo', 'flask-app');
  const fn = new lambda.DockerImageFunction(stack, 'Serve', {
    code: lambda.DockerImageCode.fromEcr(repo, { tagOrDigest: 'latest' }),
    architecture: fixture.architecture ?? lambda.Architecture.X86_64,
    memorySize: fixture.memorySize ?? 512,
    timeout: Duration.seconds(29),
  });
  let target: lambda.IFunction = fn;
  if (fixture.provisioned) {
    target = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion, provisionedConcurrentExecutions: fixture.provisioned });
  }
  new apigateway.LambdaRestApi(stack, 'Api', { handler: target });
  const inline = (id: string) => new lambda.Function(stack, id, {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(event, context):\n    return {}\n'),
  });
  new triggers.Trigger(stack, 'Migrate', { handler: inline('MigrateFn') });
  const provider = new cr.Provider(stack, 'Provider', { onEventHandler: inline('OnEvent') });
  new CustomResource(stack, 'Resource', { serviceToken: provider.serviceToken });
  return stack;
}

function estimate(stack: Stack, options: CostEstimateOptions = {}): CostEstimate {
  return CostEstimator.fromTemplateJson(JSON.stringify(Template.fromStack(stack).toJSON()), options);
}

function count(stack: Stack, type: string): number {
  return Object.keys(Template.fromStack(stack).findResources(type)).length;
}

test('every function is known: nothing at idle, said in a line, none "not priced"', () => {
  const stack = lambdaStack();
  const e = estimate(stack);
  expect(e.notPriced).toEqual([]);
  const line = e.lines.find((l) => l.item.startsWith('Lambda functions'))!;
  expect(line.quantity).toBe(count(stack, 'AWS::Lambda::Function'));
  expect(line.usd).toBe(0);
  expect(line.note).toMatch(/^nothing at idle; 1 serving the API, \d+ running only at deploy time for custom resources and triggers$/);
  expect(CostEstimator.format(e)).toMatch(/0\.00\s+Lambda functions \(billed per request and GB-second only\)/);
});

test('the trigger\'s and the provider framework\'s functions count as deploy-time, not as serving the API', () => {
  const e = estimate(lambdaStack());
  const deployTime = Number(/(\d+) running only at deploy time/.exec(e.lines.find((l) => l.item.startsWith('Lambda functions'))!.note!)![1]);
  // MigrateFn, the trigger provider, OnEvent and the provider framework's own function.
  expect(deployTime).toBeGreaterThanOrEqual(4);
  expect(e.perMillionRequests.filter((l) => l.item.startsWith('Lambda requests')).map((l) => l.item)).toEqual([expect.stringMatching(/^Lambda requests \(Serve/)]);
});

test('per million requests: Lambda requests and GB-seconds at the assumed duration, x86_64 price', () => {
  const e = estimate(lambdaStack({ memorySize: 512 }));
  expect(e.perMillionRequests.find((l) => l.item.startsWith('Lambda requests'))!.usd).toBeCloseTo(P.lambdaMillionRequests.usd, 6);
  const duration = e.perMillionRequests.find((l) => l.item.startsWith('Lambda duration'))!;
  expect(duration.item).toMatch(/0\.5 GB, x86_64/);
  expect(duration.usd).toBeCloseTo(1e6 * 0.1 * 0.5 * P.lambdaGbSecondX86.usd, 2);
  expect(duration.note).toContain('100 ms');
  expect(e.perMillionRequests.find((l) => l.item === 'API Gateway REST API requests')!.usd).toBe(P.restApiMillionRequests.usd);
});

test('an arm64 function is priced at the arm64 GB-second price, at the duration given', () => {
  const e = estimate(lambdaStack({ architecture: lambda.Architecture.ARM_64, memorySize: 1024 }), { lambdaDurationMs: 250 });
  const duration = e.perMillionRequests.find((l) => l.item.startsWith('Lambda duration'))!;
  expect(duration.item).toMatch(/1 GB, arm64/);
  expect(duration.usd).toBeCloseTo(1e6 * 0.25 * 1 * P.lambdaGbSecondArm.usd, 2);
  expect(P.lambdaGbSecondArm.usd).toBeLessThan(P.lambdaGbSecondX86.usd);
});

test('provisioned concurrency is billed at idle, per environment and GB, for the whole month', () => {
  const e = estimate(lambdaStack({ provisioned: 2, memorySize: 1024 }));
  const line = e.lines.find((l) => l.item.startsWith('Lambda provisioned concurrency'))!;
  expect(line.quantity).toBe(2);
  expect(line.usd).toBeCloseTo(2 * 1 * 3600 * 730 * P.lambdaProvisionedGbSecondX86.usd, 2);
  expect(e.monthlyUsd).toBeCloseTo(e.lines.reduce((n, l) => n + l.usd, 0), 2);
  // Through the alias the API still invokes the serving function.
  expect(e.perMillionRequests.some((l) => l.item.startsWith('Lambda requests (Serve'))).toBe(true);
});

function cfn(resources: Record<string, any>): string {
  return JSON.stringify({ Resources: resources });
}

const pausingAurora = {
  Cluster: { Type: 'AWS::RDS::DBCluster', Properties: { ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 1, SecondsUntilAutoPause: 300 } } },
  Writer: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'Cluster' }, DBInstanceClass: 'db.serverless' } },
};
const lambdaBehindApi = {
  Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 512, Architectures: ['arm64'] } },
  Api: { Type: 'AWS::ApiGateway::RestApi', Properties: {} },
  Method: {
    Type: 'AWS::ApiGateway::Method',
    Properties: { Integration: { Type: 'AWS_PROXY', Uri: { 'Fn::Join': ['', ['arn:aws:apigateway:ap-southeast-1:lambda:path/2015-03-31/functions/', { 'Fn::GetAtt': ['Fn', 'Arn'] }, '/invocations']] } } },
  },
};

test('at 100 requests per minute: API Gateway, Lambda and an Aurora that never pauses, on top of the idle total', () => {
  const e = CostEstimator.fromTemplateJson(cfn({ ...lambdaBehindApi, ...pausingAurora }), { requestsPerMinute: 100 });
  const rate = e.atRequestRate!;
  expect(rate.requestsPerMonth).toBe(100 * 60 * 730);
  const usd = (prefix: string) => rate.lines.find((l) => l.item.startsWith(prefix))!.usd;
  expect(usd('API Gateway REST API requests')).toBeCloseTo(4.38 * P.restApiMillionRequests.usd, 2);
  expect(usd('Lambda requests')).toBeCloseTo(4.38 * P.lambdaMillionRequests.usd, 2);
  expect(usd('Lambda duration')).toBeCloseTo(4.38e6 * 0.1 * 0.5 * P.lambdaGbSecondArm.usd, 2);
  expect(rate.lines.find((l) => l.item.startsWith('Lambda duration'))!.unitPriceUsd).toBe(P.lambdaGbSecondArm.usd);
  // A request every 0.6 s on average: Aurora is awake the whole month at 0.5 ACU.
  const aurora = rate.lines.find((l) => l.item.startsWith('Aurora awake'))!;
  expect(aurora.item).toContain('100% of the month');
  expect(aurora.usd).toBeCloseTo(0.5 * 730 * P.auroraAcuHour.usd, 2);
  expect(rate.monthlyUsd).toBeCloseTo(e.monthlyUsd + rate.lines.reduce((n, l) => n + l.usd, 0), 2);
  expect(rate.assumptions.join(' ')).toContain('Not included: charges by bytes rather than requests');
});

test('at a trickle Aurora pauses between requests, for the share of the month the arrivals allow', () => {
  // One request an hour on average: awake 1 - e^(-300/3600) of the month.
  const e = CostEstimator.fromTemplateJson(cfn(pausingAurora), { requestsPerMinute: 1 / 60 });
  const aurora = e.atRequestRate!.lines.find((l) => l.item.startsWith('Aurora awake'))!;
  expect(aurora.quantity).toBeCloseTo(0.5 * 730 * (1 - Math.exp(-300 / 3600)), 4);
});

test('Fargate is billed for the tasks the rate needs beyond the idle count', () => {
  const fargate = {
    Td: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '256', Memory: '512' } },
    Svc: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'Td' }, DesiredCount: 1, LaunchType: 'FARGATE' } },
  };
  const at100 = CostEstimator.fromTemplateJson(cfn(fargate), { requestsPerMinute: 100 }).atRequestRate!;
  expect(at100.lines.filter((l) => l.item.startsWith('Fargate'))).toEqual([]);
  expect(at100.assumptions.join(' ')).toMatch(/1 task\(s\) serve 1\.67 requests per second/);
  // 3000 per minute = 50 per second = 3 tasks at 20 per second: 2 beyond the idle one.
  const at3000 = CostEstimator.fromTemplateJson(cfn(fargate), { requestsPerMinute: 3000 }).atRequestRate!;
  const extra = at3000.lines.find((l) => l.item.startsWith('Fargate tasks beyond'))!;
  expect(extra.quantity).toBe(2 * 730);
  expect(extra.usd).toBeCloseTo(2 * 730 * (0.25 * P.fargateVcpuHourX86.usd + 0.5 * P.fargateGbHourX86.usd), 2);
});

test('the command prints the total at the request rate given with --rpm', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-'));
  const file = path.join(dir, 'Stack.template.json');
  const template = cfn({ ...lambdaBehindApi, ...pausingAurora });
  fs.writeFileSync(file, template);
  const expected = CostEstimator.fromTemplateJson(template, { requestsPerMinute: 100 }).atRequestRate!.monthlyUsd;
  const out: string[] = [];
  expect(main(['cost', file, '--rpm', '100'], (t) => out.push(t))).toBe(0);
  expect(out.join('\n')).toContain(`${expected.toFixed(2)}   TOTAL at 100 requests per minute`);
  expect(out.join('\n')).toContain('At 100 requests per minute (4,380,000 requests a month)');
  const json: string[] = [];
  expect(main(['cost', file, '--rpm', '100', '--json'], (t) => json.push(t))).toBe(0);
  expect(JSON.parse(json[0]).atRequestRate.monthlyUsd).toBe(expected);
});

test('without a rate there is no rate estimate; a negative rate is rejected by name', () => {
  expect(CostEstimator.fromTemplateJson(cfn(pausingAurora)).atRequestRate).toBeUndefined();
  expect(() => CostEstimator.fromTemplateJson(cfn(pausingAurora), { requestsPerMinute: -1 })).toThrow(/requestsPerMinute must be 0 or more, got -1/);
  expect(() => CostEstimator.fromTemplateJson(cfn(pausingAurora), { lambdaDurationMs: 0 })).toThrow(/lambdaDurationMs must be above 0, got 0/);
});
