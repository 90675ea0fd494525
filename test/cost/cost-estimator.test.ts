import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CostEstimate, CostEstimator } from '../../src';
import { main } from '../../src/cost/cli';
import { AP_SOUTHEAST_1 } from '../../src/cost/prices';
import { REFERENCE_MODES, REFERENCE_REQUESTS_PER_MINUTE, referenceStack, renderCostTable } from '../../src/cost/reference';

interface Synthesized {
  readonly title: string;
  readonly template: Record<string, any>;
  readonly estimate: CostEstimate;
}

let modes: Synthesized[];

beforeAll(() => {
  modes = REFERENCE_MODES.map((mode) => {
    const stack = referenceStack(mode);
    const template = Template.fromStack(stack).toJSON();
    const estimate = CostEstimator.fromTemplateJson(JSON.stringify(template), { requestsPerMinute: REFERENCE_REQUESTS_PER_MINUTE });
    return { title: mode.title, template, estimate };
  });
});

function count(template: Record<string, any>, type: string): number {
  return Object.values(template.Resources).filter((r: any) => r.Type === type).length;
}

function line(estimate: CostEstimate, prefix: string) {
  return estimate.lines.find((l) => l.item.startsWith(prefix));
}

describe.each(REFERENCE_MODES.map((m) => m.title))('the platform in mode %s', (title) => {
  const mode = () => modes.find((m) => m.title === title)!;

  test('every resource is priced or known to be free at idle', () => {
    expect(mode().estimate.notPriced).toEqual([]);
  });

  test('NAT gateways, instances and Elastic IPs are counted from the template', () => {
    const { template, estimate } = mode();
    expect(line(estimate, 'NAT gateways')?.quantity ?? 0).toBe(count(template, 'AWS::EC2::NatGateway'));
    expect(line(estimate, 'EC2 instance')?.quantity ?? 0).toBe(count(template, 'AWS::EC2::Instance'));
    const eips = count(template, 'AWS::EC2::EIP');
    expect(line(estimate, 'Public IPv4')?.quantity ?? 0).toBeGreaterThanOrEqual(eips);
  });

  test('interface endpoints are counted once per subnet they sit in', () => {
    const { template, estimate } = mode();
    const azs = Object.values(template.Resources)
      .filter((r: any) => r.Type === 'AWS::EC2::VPCEndpoint' && r.Properties.VpcEndpointType === 'Interface')
      .reduce((n: number, r: any) => n + r.Properties.SubnetIds.length, 0);
    expect(line(estimate, 'Interface VPC endpoints')?.quantity ?? 0).toBe(azs);
  });

  test('keys, secrets, alarms, dashboards and load balancers match the template', () => {
    const { template, estimate } = mode();
    expect(line(estimate, 'KMS')?.quantity ?? 0).toBe(count(template, 'AWS::KMS::Key'));
    expect(line(estimate, 'Secrets Manager')?.quantity ?? 0).toBe(count(template, 'AWS::SecretsManager::Secret'));
    // A metric-math alarm bills each metric it reads; any other alarm one.
    const alarmMetrics = Object.values(template.Resources)
      .filter((r: any) => r.Type === 'AWS::CloudWatch::Alarm')
      .reduce((n: number, r: any) => n + (r.Properties.Metrics ? r.Properties.Metrics.filter((m: any) => m.MetricStat).length : 1), 0);
    expect(line(estimate, 'CloudWatch alarm metrics')?.quantity ?? 0).toBe(alarmMetrics);
    expect(line(estimate, 'CloudWatch dashboards')?.quantity ?? 0).toBe(count(template, 'AWS::CloudWatch::Dashboard'));
    expect(line(estimate, 'Network Load Balancers')?.quantity ?? 0).toBe(count(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
  });

  test('Fargate tasks are the desired count at the task definition size', () => {
    const { template, estimate } = mode();
    const service: any = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::ECS::Service');
    if (!service) {
      // Lambda compute: no service, no task billed at idle.
      expect(line(estimate, 'Fargate tasks')).toBeUndefined();
      return;
    }
    const td: any = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::ECS::TaskDefinition');
    const fargate = line(estimate, 'Fargate tasks')!;
    expect(fargate.quantity).toBe(service.Properties.DesiredCount);
    const vcpu = Number(td.Properties.Cpu) / 1024;
    const gb = Number(td.Properties.Memory) / 1024;
    expect(fargate.unitPriceUsd).toBeCloseTo(vcpu * AP_SOUTHEAST_1.fargateVcpuHourX86.usd + gb * AP_SOUTHEAST_1.fargateGbHourX86.usd, 6);
  });

  test('the total is the sum of the lines', () => {
    const { estimate } = mode();
    expect(estimate.monthlyUsd).toBeCloseTo(estimate.lines.reduce((n, l) => n + l.usd, 0), 2);
  });

  test('WAF is priced exactly when the template has a web ACL', () => {
    const { template, estimate } = mode();
    const acls = count(template, 'AWS::WAFv2::WebACL');
    expect(line(estimate, 'WAF web ACLs')?.quantity ?? 0).toBe(acls);
    expect(estimate.perMillionRequests.some((l) => l.item === 'WAF requests')).toBe(acls > 0);
  });
});

test('README cost table is what the estimator computes now', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf-8');
  const block = readme.slice(readme.indexOf('<!-- cost:start -->'), readme.indexOf('<!-- cost:end -->') + '<!-- cost:end -->'.length);
  // Run `npx projen post-compile` (scripts/cost-table.js) to regenerate it.
  expect(block).toBe(renderCostTable(modes.map((m) => ({ title: m.title, estimate: m.estimate }))));
});

function cfn(resources: Record<string, any>): string {
  return JSON.stringify({ Resources: resources });
}

test('a resource the estimator does not know is listed as not priced, not dropped', () => {
  const estimate = CostEstimator.fromTemplateJson(cfn({ Table: { Type: 'AWS::DynamoDB::Table', Properties: {} } }));
  expect(estimate.notPriced).toEqual([{ logicalId: 'Table', type: 'AWS::DynamoDB::Table', reason: 'not in the price table' }]);
  expect(CostEstimator.format(estimate)).toContain('Table (AWS::DynamoDB::Table)');
});

test('Aurora without auto-pause is priced at its ACU floor', () => {
  const estimate = CostEstimator.fromTemplateJson(cfn({
    Cluster: { Type: 'AWS::RDS::DBCluster', Properties: { ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 1 } } },
    Writer: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'Cluster' }, DBInstanceClass: 'db.serverless' } },
  }));
  const floor = line(estimate, 'Aurora Serverless v2 floor')!;
  expect(floor.quantity).toBe(0.5);
  expect(floor.usd).toBeCloseTo(0.5 * AP_SOUTHEAST_1.auroraAcuHour.usd * 730, 2);
});

test('an instance with a public address and Fargate Spot tasks are priced as such', () => {
  const estimate = CostEstimator.fromTemplateJson(cfn({
    Nat: { Type: 'AWS::EC2::Instance', Properties: { InstanceType: 't4g.nano', NetworkInterfaces: [{ AssociatePublicIpAddress: true, DeviceIndex: '0' }] } },
    Td: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '256', Memory: '512', RuntimePlatform: { CpuArchitecture: 'ARM64' } } },
    Svc: {
      Type: 'AWS::ECS::Service',
      Properties: {
        TaskDefinition: { Ref: 'Td' },
        DesiredCount: 2,
        CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Base: 1, Weight: 0 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      },
    },
  }));
  expect(line(estimate, 'Public IPv4')!.quantity).toBe(1);
  expect(line(estimate, 'Fargate tasks (0.25 vCPU + 0.5 GB, ARM64)')!.quantity).toBe(1);
  expect(line(estimate, 'Fargate Spot tasks')!.quantity).toBe(1);
});

test('unverified prices are marked in the printed report and listed under it', () => {
  const text = CostEstimator.format(modes[0].estimate);
  expect(text).toMatch(/\d\*\s+Network Load Balancers/);
  expect(text).toContain('* unverified prices');
  expect(text).toContain(AP_SOUTHEAST_1.loadBalancerHour.source);
});

test('rotating keys cost more from their third year, and retained keys keep billing after delete', () => {
  const estimate = CostEstimator.fromTemplateJson(cfn({
    Key: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' },
  }));
  expect(estimate.monthlyUsd).toBe(1);
  expect(estimate.monthlyUsdAfterKeyRotations).toBe(3);
  expect(estimate.retainedAfterDeleteMonthlyUsd).toBe(3);
});

test('the command prints the estimate of a template file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-'));
  const file = path.join(dir, 'Stack.template.json');
  fs.writeFileSync(file, JSON.stringify(modes[0].template));
  const out: string[] = [];
  expect(main(['cost', file], (t) => out.push(t))).toBe(0);
  expect(out.join('\n')).toContain(`${modes[0].estimate.monthlyUsd.toFixed(2)}   TOTAL at idle`);
  const json: string[] = [];
  expect(main(['cost', file, '--json'], (t) => json.push(t))).toBe(0);
  expect(JSON.parse(json[0]).monthlyUsd).toBe(modes[0].estimate.monthlyUsd);
  expect(main(['price', file], () => undefined)).toBe(2);
});

test('a region without a price table is rejected by name', () => {
  expect(() => CostEstimator.fromTemplateJson(cfn({}), { region: 'eu-west-1' })).toThrow(/No price table for region 'eu-west-1'/);
});

test('fromStack prices the stack of an app', () => {
  const app = new App();
  const stack = new Stack(app, 'Keys', { env: { region: 'ap-southeast-1' } });
  new kms.Key(stack, 'Key');
  expect(CostEstimator.fromStack(stack).monthlyUsd).toBe(1);
});

test('monitoring.dashboard: false takes exactly the dashboard line off the default total', () => {
  const withDashboard = CostEstimator.fromStack(referenceStack(REFERENCE_MODES[0]));
  const without = CostEstimator.fromStack(referenceStack({ title: 'no dashboard', props: { monitoring: { dashboard: false } } }));
  const dashboardLine = withDashboard.lines.find((l) => l.item === 'CloudWatch dashboards');
  expect(dashboardLine?.usd).toBeGreaterThan(0);
  expect(without.lines.find((l) => l.item === 'CloudWatch dashboards')).toBeUndefined();
  expect(without.monthlyUsd).toBeCloseTo(withDashboard.monthlyUsd - dashboardLine!.usd, 2);
});
