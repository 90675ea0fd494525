// Prices a synthesized CloudFormation template at idle. Internal: the public, jsii-friendly
// surface is CostEstimator in estimator.ts.
import { Price, PriceTable } from './prices';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export const HOURS_PER_MONTH = 730;

/** Container Insights (ECS) publishes about this many metrics for a cluster with one service. */
export const INSIGHTS_METRICS_PER_SERVICE = 31;

export interface Line {
  item: string;
  quantity: number;
  unit: string;
  unitPriceUsd: number;
  monthlyUsd: number;
  price: Price[];
  resources: string[];
  /** Whether unitPriceUsd is per hour (times HOURS_PER_MONTH) rather than per month. */
  hourly: boolean;
  note?: string;
}

export interface Unpriced {
  logicalId: string;
  type: string;
  reason: string;
}

export interface Estimate {
  region: string;
  lines: Line[];
  perMillion: Line[];
  monthlyUsd: number;
  monthlyUsdAfterKeyRotations: number;
  retainedAfterDeleteMonthlyUsd: number;
  notPriced: Unpriced[];
  unverified: Price[];
  assumptions: string[];
  atRate?: RateEstimate;
}

/** The cost of traffic at a steady request rate, on top of the idle lines. */
export interface RateEstimate {
  requestsPerMinute: number;
  requestsPerMonth: number;
  lines: Line[];
  /** Idle total plus the lines. */
  monthlyUsd: number;
  assumptions: string[];
}

export interface EstimateOptions {
  requestsPerTaskSecond: number;
  auroraStorageGb: number;
  /** Average billed duration of one request in a function that serves the API, ms. */
  lambdaDurationMs: number;
  /** Steady request rate to price, if any. */
  requestsPerMinute?: number;
}

/** A function that serves API requests, as the rate estimate prices it. */
interface ServingFunction {
  id: string;
  gb: number;
  arm: boolean;
}

/** A Fargate service, as the rate estimate scales it. */
interface FargateService {
  id: string;
  label: string;
  idleTasks: number;
  taskHourUsd: number;
  price: Price[];
}

/** An Aurora Serverless v2 cluster that pauses when idle. */
interface PausingCluster {
  id: string;
  instances: number;
  pauseAfterSeconds: number;
}

// Types with no charge of their own while idle: configuration, IAM, networking plumbing, or
// billed by use only (logs ingested, Lambda invocations, API calls, notifications).
const FREE_OR_USAGE_ONLY = new Set([
  'AWS::CDK::Metadata', 'AWS::CloudFormation::CustomResource', 'AWS::CloudFormation::WaitConditionHandle',
  'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::InstanceProfile',
  'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::Route', 'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::EgressOnlyInternetGateway',
  'AWS::EC2::VPCCidrBlock', 'AWS::EC2::SubnetCidrBlock', 'AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::FlowLog', 'AWS::EC2::LaunchTemplate', 'AWS::EC2::EIP',
  'AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry', 'AWS::EC2::SubnetNetworkAclAssociation',
  'AWS::Logs::LogGroup', 'AWS::Logs::SubscriptionFilter', 'AWS::Logs::ResourcePolicy', 'AWS::Logs::MetricFilter',
  'AWS::KMS::Alias',
  'AWS::RDS::DBClusterParameterGroup', 'AWS::RDS::DBParameterGroup', 'AWS::RDS::DBSubnetGroup',
  'AWS::SecretsManager::SecretTargetAttachment', 'AWS::SecretsManager::RotationSchedule', 'AWS::SecretsManager::ResourcePolicy',
  'AWS::ECS::Cluster', 'AWS::ECS::TaskDefinition', 'AWS::ECS::ClusterCapacityProviderAssociations',
  'AWS::ElasticLoadBalancingV2::Listener', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Account', 'AWS::ApiGateway::Deployment', 'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Resource', 'AWS::ApiGateway::UsagePlan', 'AWS::ApiGateway::UsagePlanKey', 'AWS::ApiGateway::VpcLink',
  'AWS::ApiGateway::ApiKey', 'AWS::ApiGateway::DomainName', 'AWS::ApiGateway::BasePathMapping', 'AWS::ApiGateway::GatewayResponse',
  'AWS::ApiGateway::Model', 'AWS::ApiGateway::RequestValidator', 'AWS::ApiGateway::Authorizer',
  'AWS::Lambda::Permission', 'AWS::Lambda::LayerVersion', 'AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::Url',
  'AWS::SNS::Topic', 'AWS::SNS::TopicPolicy', 'AWS::SNS::Subscription',
  'AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ApplicationAutoScaling::ScalingPolicy',
  'AWS::WAFv2::WebACLAssociation', 'AWS::WAFv2::LoggingConfiguration', 'AWS::Events::Rule', 'AWS::CertificateManager::Certificate',
]);

class Pricer {
  readonly lines: Line[] = [];
  readonly perMillion: Line[] = [];
  readonly notPriced: Unpriced[] = [];
  readonly assumptions: string[] = [];
  readonly retained: string[] = [];
  readonly servingFunctions: ServingFunction[] = [];
  readonly fargateServices: FargateService[] = [];
  readonly pausingClusters: PausingCluster[] = [];
  wafAcls = 0;
  private readonly priced = new Set<string>();

  constructor(private readonly t: Json, private readonly prices: PriceTable, private readonly options: EstimateOptions) {}

  get resources(): Record<string, Json> {
    return this.t.Resources ?? {};
  }

  ofType(type: string): [string, Json][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  mark(ids: string[]): void {
    for (const id of ids) this.priced.add(id);
  }

  add(item: string, quantity: number, unit: string, prices: Price[], unitPriceUsd: number, resources: string[], note?: string, hourly = true): void {
    if (quantity === 0) return;
    const monthlyUsd = quantity * unitPriceUsd * (hourly ? HOURS_PER_MONTH : 1);
    this.lines.push({ item, quantity, unit, unitPriceUsd, monthlyUsd, price: prices, resources, hourly, note });
    this.mark(resources);
  }

  addPerMillion(item: string, usd: number, prices: Price[], note?: string): void {
    this.perMillion.push({ item, quantity: 1, unit: 'million requests', unitPriceUsd: usd, monthlyUsd: usd, price: prices, resources: [], hourly: false, note });
  }

  /** The logical id a `Ref` or `Fn::GetAtt` points to, if any. */
  target(value: Json): string | undefined {
    if (value && typeof value === 'object') {
      if (typeof value.Ref === 'string') return value.Ref;
      const getAtt = value['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return getAtt[0];
    }
    return undefined;
  }

  run(): void {
    this.natGateways();
    this.publicIpv4();
    this.instances();
    this.endpoints();
    this.loadBalancers();
    this.fargate();
    this.lambdas();
    this.kms();
    this.secrets();
    this.waf();
    this.alarms();
    this.dashboards();
    this.containerInsights();
    this.aurora();
    this.parameters();
    this.restApis();
    for (const [id, r] of Object.entries(this.resources)) {
      if (this.priced.has(id) || FREE_OR_USAGE_ONLY.has(r.Type) || r.Type.startsWith('Custom::')) continue;
      if (r.Type === 'AWS::EC2::VPCEndpoint' || r.Type === 'AWS::SSM::Parameter' || r.Type === 'AWS::ECS::Service') continue;
      if (r.Type === 'AWS::Lambda::Version' || r.Type === 'AWS::Lambda::Alias') continue;
      this.notPriced.push({ logicalId: id, type: r.Type, reason: 'not in the price table' });
    }
  }

  natGateways(): void {
    const ids = this.ofType('AWS::EC2::NatGateway').map(([id]) => id);
    const pr = this.prices.natGatewayHour;
    this.add('NAT gateways', ids.length, 'gateway', [pr], pr.usd, ids, 'plus per GB processed');
  }

  publicIpv4(): void {
    const pr = this.prices.publicIpv4Hour;
    const ids: string[] = [];
    let count = 0;
    for (const [id] of this.ofType('AWS::EC2::EIP')) {
      ids.push(id); count++;
    }
    for (const [id, r] of this.ofType('AWS::EC2::Instance')) {
      if (this.instanceHasPublicIp(r.Properties ?? {})) {
        count++; ids.push(id);
      }
    }
    for (const [id, r] of this.ofType('AWS::ECS::Service')) {
      const assign = r.Properties?.NetworkConfiguration?.AwsvpcConfiguration?.AssignPublicIp;
      if (assign === 'ENABLED') {
        count += this.desiredCount(r); ids.push(id);
      }
    }
    for (const [id, r] of this.ofType('AWS::ElasticLoadBalancingV2::LoadBalancer')) {
      const props = r.Properties ?? {};
      if ((props.Scheme ?? 'internet-facing') === 'internet-facing') {
        const azs = (props.Subnets ?? props.SubnetMappings ?? []).length;
        count += azs; ids.push(id);
      }
    }
    if (count === 0) return;
    this.lines.push({
      item: 'Public IPv4 addresses',
      quantity: count,
      unit: 'address',
      unitPriceUsd: pr.usd,
      monthlyUsd: count * pr.usd * HOURS_PER_MONTH,
      price: [pr],
      resources: ids,
      hourly: true,
    });
    // Elastic IPs are fully priced here; instances, services and balancers also get their own line.
    this.mark(this.ofType('AWS::EC2::EIP').map(([id]) => id));
  }

  instanceHasPublicIp(props: Json): boolean {
    const nics: Json[] = props.NetworkInterfaces ?? [];
    if (nics.some((n) => n.AssociatePublicIpAddress === true || n.AssociatePublicIpAddress === 'true')) return true;
    if (nics.length > 0) return false;
    const subnet = this.target(props.SubnetId);
    const map = subnet ? this.resources[subnet]?.Properties?.MapPublicIpOnLaunch : undefined;
    return map === true || map === 'true';
  }

  instances(): void {
    for (const [id, r] of this.ofType('AWS::EC2::Instance')) {
      const props = r.Properties ?? {};
      const type = props.InstanceType;
      const pr = typeof type === 'string' ? this.prices.ec2InstanceHour[type] : undefined;
      if (!pr) {
        this.notPriced.push({ logicalId: id, type: r.Type, reason: `instance type ${JSON.stringify(type)} not in the price table` });
        this.priced.add(id);
        continue;
      }
      this.add(`EC2 instance ${type}`, 1, 'instance', [pr], pr.usd, [id]);
      const mappings: Json[] = props.BlockDeviceMappings ?? [];
      let gb = 0;
      let gp2 = false;
      for (const m of mappings) {
        if (!m.Ebs) continue;
        gb += Number(m.Ebs.VolumeSize ?? 8);
        gp2 = gp2 || m.Ebs.VolumeType === 'gp2' || m.Ebs.VolumeType === undefined;
      }
      if (mappings.length === 0) {
        gb = 8;
        this.assumptions.push(`${id}: root volume size taken as the AMI's usual 8 GB.`);
      } else if (mappings.some((m) => m.Ebs && m.Ebs.VolumeSize === undefined)) {
        this.assumptions.push(`${id}: root volume size taken as the AMI's usual 8 GB.`);
      }
      const ebs = gp2 ? this.prices.ebsGp2GbMonth : this.prices.ebsGp3GbMonth;
      this.add(`EBS volumes (${gp2 ? 'gp2' : 'gp3'})`, gb, 'GB', [ebs], ebs.usd, [id], undefined, false);
    }
  }

  endpoints(): void {
    const pr = this.prices.interfaceEndpointAzHour;
    const ids: string[] = [];
    let azHours = 0;
    const names: string[] = [];
    for (const [id, r] of this.ofType('AWS::EC2::VPCEndpoint')) {
      const props = r.Properties ?? {};
      if ((props.VpcEndpointType ?? 'Gateway') !== 'Interface') continue;
      const subnets = Array.isArray(props.SubnetIds) ? props.SubnetIds.length : 1;
      azHours += subnets;
      ids.push(id);
      names.push(`${serviceShortName(props.ServiceName) ?? id} x${subnets}`);
    }
    this.add('Interface VPC endpoints (per AZ)', azHours, 'endpoint-AZ', [pr], pr.usd, ids,
      names.length ? names.join(', ') : undefined);
  }

  loadBalancers(): void {
    const pr = this.prices.loadBalancerHour;
    const byType: Record<string, string[]> = {};
    for (const [id, r] of this.ofType('AWS::ElasticLoadBalancingV2::LoadBalancer')) {
      const type = r.Properties?.Type ?? 'application';
      (byType[type] ??= []).push(id);
    }
    for (const [type, ids] of Object.entries(byType)) {
      if (type === 'gateway') {
        for (const id of ids) this.notPriced.push({ logicalId: id, type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', reason: 'gateway load balancers are not in the price table' });
        this.mark(ids);
        continue;
      }
      this.add(`${type === 'network' ? 'Network' : 'Application'} Load Balancers`, ids.length, 'load balancer', [pr], pr.usd, ids, 'plus LCU-hours by traffic');
    }
  }

  desiredCount(service: Json): number {
    const n = service.Properties?.DesiredCount;
    return typeof n === 'number' ? n : 1;
  }

  fargate(): void {
    const scaling = this.ofType('AWS::ApplicationAutoScaling::ScalableTarget');
    for (const [id, r] of this.ofType('AWS::ECS::Service')) {
      const props = r.Properties ?? {};
      const tdId = this.target(props.TaskDefinition);
      const td = tdId ? this.resources[tdId] : undefined;
      const strategy: Json[] = props.CapacityProviderStrategy ?? [];
      const fargate = props.LaunchType === 'FARGATE' || strategy.some((s) => String(s.CapacityProvider).startsWith('FARGATE'));
      if (!fargate || !td) {
        this.notPriced.push({ logicalId: id, type: r.Type, reason: 'only Fargate services with a task definition in the template are priced' });
        continue;
      }
      const cpu = Number(td.Properties?.Cpu);
      const memory = Number(td.Properties?.Memory);
      if (!Number.isFinite(cpu) || !Number.isFinite(memory)) {
        this.notPriced.push({ logicalId: id, type: r.Type, reason: 'task definition has no literal Cpu and Memory' });
        continue;
      }
      const arm = td.Properties?.RuntimePlatform?.CpuArchitecture === 'ARM64';
      let count = this.desiredCount(r);
      const target = scaling.find(([, s]) => JSON.stringify(s.Properties?.ResourceId ?? '').includes(id));
      if (target && typeof target[1].Properties?.MinCapacity === 'number') {
        count = target[1].Properties.MinCapacity;
        this.assumptions.push(`${id}: idle task count taken as the auto scaling minimum (${count}).`);
      }
      const vcpu = cpu / 1024;
      const gb = memory / 1024;
      const vPrice = arm ? this.prices.fargateVcpuHourArm : this.prices.fargateVcpuHourX86;
      const gPrice = arm ? this.prices.fargateGbHourArm : this.prices.fargateGbHourX86;
      const taskHour = vcpu * vPrice.usd + gb * gPrice.usd;
      const { onDemand, spot } = splitByStrategy(count, strategy);
      const label = `${vcpu} vCPU + ${gb} GB, ${arm ? 'ARM64' : 'x86_64'}`;
      if (onDemand > 0) this.add(`Fargate tasks (${label})`, onDemand, 'task', [vPrice, gPrice], taskHour, [id, tdId!]);
      if (spot > 0) {
        const d = this.prices.fargateSpotDiscount;
        this.add(`Fargate Spot tasks (${label})`, spot, 'task', [vPrice, gPrice, d], taskHour * (1 - d.usd), [id, tdId!], 'Spot price floats');
      }
      this.fargateServices.push({ id, label, idleTasks: count, taskHourUsd: taskHour, price: [vPrice, gPrice] });
      const perMillionHours = 1e6 / this.options.requestsPerTaskSecond / 3600;
      this.addPerMillion(`Fargate when scaled out (${label})`, perMillionHours * taskHour, [vPrice, gPrice],
        `task-hours at ${this.options.requestsPerTaskSecond} requests per second per task (assumed)`);
    }
  }

  /**
   * Lambda bills requests and GB-seconds, so a function costs nothing at idle; provisioned
   * concurrency is billed for as long as it is configured. Functions the REST API invokes get
   * per-request lines; functions behind custom resources and triggers run at deploy time only.
   */
  lambdas(): void {
    const functions = this.ofType('AWS::Lambda::Function');
    if (functions.length === 0) return;
    const ids = new Set(functions.map(([id]) => id));
    // Versions and aliases stand for their function wherever they are referenced.
    const owner = new Map<string, string>();
    for (const [id, r] of [...this.ofType('AWS::Lambda::Version'), ...this.ofType('AWS::Lambda::Alias')]) {
      const fn = this.target(r.Properties?.FunctionName) ?? refsIn(r.Properties?.FunctionName).find((x) => ids.has(x));
      if (fn && ids.has(fn)) owner.set(id, fn);
    }
    for (const [id, r] of this.ofType('AWS::Lambda::Alias')) {
      const version = this.target(r.Properties?.FunctionVersion);
      if (!owner.has(id) && version && owner.has(version)) owner.set(id, owner.get(version)!);
    }
    const functionsIn = (value: Json): string[] =>
      [...new Set(refsIn(value).map((x) => (ids.has(x) ? x : owner.get(x))).filter((x): x is string => x !== undefined))];

    const serving = new Set<string>();
    for (const [, r] of this.ofType('AWS::ApiGateway::Method')) {
      for (const fn of functionsIn(r.Properties?.Integration)) serving.add(fn);
    }
    for (const [, r] of this.ofType('AWS::Lambda::Permission')) {
      if (JSON.stringify(r.Properties?.Principal ?? '').includes('apigateway.amazonaws.com')) {
        for (const fn of functionsIn(r.Properties?.FunctionName)) serving.add(fn);
      }
    }
    const deployTime = new Set<string>();
    for (const [, r] of Object.entries(this.resources)) {
      if (r.Type === 'AWS::CloudFormation::CustomResource' || r.Type.startsWith('Custom::')) {
        for (const fn of functionsIn(r.Properties)) deployTime.add(fn);
      }
    }
    // A provider framework's function invokes the user's handler, named in its environment.
    for (let grew = true; grew;) {
      grew = false;
      for (const id of [...deployTime]) {
        for (const fn of functionsIn(this.resources[id].Properties?.Environment)) {
          if (!deployTime.has(fn)) {
            deployTime.add(fn); grew = true;
          }
        }
      }
    }
    const other = [...ids].filter((id) => !serving.has(id) && !deployTime.has(id));
    const deployOnly = [...deployTime].filter((id) => !serving.has(id)).length;
    const parts = [
      serving.size ? `${serving.size} serving the API` : '',
      deployOnly ? `${deployOnly} running only at deploy time for custom resources and triggers` : '',
      other.length ? `${other.length} invoked by other events` : '',
    ].filter(Boolean);
    const requestPrice = this.prices.lambdaMillionRequests;
    this.lines.push({
      item: 'Lambda functions (billed per request and GB-second only)',
      quantity: ids.size,
      unit: 'function',
      unitPriceUsd: 0,
      monthlyUsd: 0,
      price: [],
      resources: [...ids],
      hourly: false,
      note: `nothing at idle; ${parts.join(', ')}`,
    });
    this.mark([...ids]);

    for (const id of [...serving].sort()) {
      const props = this.resources[id].Properties ?? {};
      const gb = Number(props.MemorySize ?? 128) / 1024;
      const arm = Array.isArray(props.Architectures) && props.Architectures.includes('arm64');
      this.servingFunctions.push({ id, gb, arm });
      const gbPrice = arm ? this.prices.lambdaGbSecondArm : this.prices.lambdaGbSecondX86;
      const ms = this.options.lambdaDurationMs;
      this.addPerMillion(`Lambda requests (${id})`, requestPrice.usd, [requestPrice]);
      this.addPerMillion(`Lambda duration (${id}, ${fmtGb(gb)} GB, ${arm ? 'arm64' : 'x86_64'})`, 1e6 * (ms / 1000) * gb * gbPrice.usd, [gbPrice],
        `${ms} ms billed per request on average (assumed, cold starts included)`);
      const ephemeral = Number(props.EphemeralStorage?.Size ?? 512);
      if (ephemeral > 512) this.assumptions.push(`${id}: ephemeral storage above 512 MB is billed per GB-second and not priced here.`);
    }

    for (const [id, r] of [...this.ofType('AWS::Lambda::Version'), ...this.ofType('AWS::Lambda::Alias')]) {
      const n = Number(r.Properties?.ProvisionedConcurrencyConfig?.ProvisionedConcurrentExecutions ?? 0);
      const fn = owner.get(id);
      if (!(n > 0)) continue;
      if (!fn) {
        this.notPriced.push({ logicalId: id, type: r.Type, reason: 'provisioned concurrency of a function outside the template' });
        continue;
      }
      const props = this.resources[fn].Properties ?? {};
      const gb = Number(props.MemorySize ?? 128) / 1024;
      const arm = Array.isArray(props.Architectures) && props.Architectures.includes('arm64');
      const pr = arm ? this.prices.lambdaProvisionedGbSecondArm : this.prices.lambdaProvisionedGbSecondX86;
      this.add(`Lambda provisioned concurrency (${fn}, ${fmtGb(gb)} GB, ${arm ? 'arm64' : 'x86_64'})`, n, 'environment', [pr], gb * 3600 * pr.usd, [id],
        'billed while configured, used or not; requests and duration on top');
    }
  }

  kms(): void {
    const keys = this.ofType('AWS::KMS::Key');
    if (keys.length === 0) return;
    const pr = this.prices.kmsKeyMonth;
    const ids = keys.map(([id]) => id);
    const rotating = keys.filter(([, r]) => r.Properties?.EnableKeyRotation === true || r.Properties?.EnableKeyRotation === 'true').length;
    this.add('KMS customer-managed keys', keys.length, 'key', [pr], pr.usd, ids,
      rotating ? `${rotating} rotating: +1 USD/month per key after each of the first two rotations` : undefined, false);
    for (const [id, r] of keys) if (isRetained(r)) this.retained.push(id);
  }

  rotationIncrement(): number {
    const rot = this.prices.kmsRotationMonth;
    const rotating = this.ofType('AWS::KMS::Key').filter(([, r]) => r.Properties?.EnableKeyRotation === true || r.Properties?.EnableKeyRotation === 'true').length;
    return rotating * 2 * rot.usd;
  }

  secrets(): void {
    const pr = this.prices.secretMonth;
    const ids = this.ofType('AWS::SecretsManager::Secret').map(([id]) => id);
    this.add('Secrets Manager secrets', ids.length, 'secret', [pr], pr.usd, ids, undefined, false);
  }

  waf(): void {
    const acls = this.ofType('AWS::WAFv2::WebACL');
    if (acls.length === 0) return;
    this.wafAcls = acls.length;
    const rules = acls.reduce((n, [, r]) => n + (r.Properties?.Rules ?? []).length, 0);
    this.add('WAF web ACLs', acls.length, 'web ACL', [this.prices.wafAclMonth], this.prices.wafAclMonth.usd, acls.map(([id]) => id), undefined, false);
    this.add('WAF rules', rules, 'rule', [this.prices.wafRuleMonth], this.prices.wafRuleMonth.usd, acls.map(([id]) => id), undefined, false);
    this.addPerMillion('WAF requests', this.prices.wafMillionRequests.usd, [this.prices.wafMillionRequests]);
  }

  alarms(): void {
    let standard = 0;
    let high = 0;
    const ids: string[] = [];
    for (const [id, r] of this.ofType('AWS::CloudWatch::Alarm')) {
      const props = r.Properties ?? {};
      ids.push(id);
      const stats: Json[] = props.Metrics ? props.Metrics.filter((m: Json) => m.MetricStat) : [props];
      for (const s of stats) {
        const period = s.MetricStat ? s.MetricStat.Period : s.Period;
        if (typeof period === 'number' && period < 60) high++; else standard++;
      }
    }
    this.add('CloudWatch alarm metrics (standard resolution)', standard, 'metric', [this.prices.alarmMetricMonth], this.prices.alarmMetricMonth.usd, ids,
      `${ids.length} alarms`, false);
    this.add('CloudWatch alarm metrics (high resolution)', high, 'metric', [this.prices.alarmHighResMetricMonth], this.prices.alarmHighResMetricMonth.usd, ids, undefined, false);
    const composite = this.ofType('AWS::CloudWatch::CompositeAlarm').map(([id]) => id);
    this.add('CloudWatch composite alarms', composite.length, 'alarm', [this.prices.compositeAlarmMonth], this.prices.compositeAlarmMonth.usd, composite, undefined, false);
  }

  dashboards(): void {
    const ids = this.ofType('AWS::CloudWatch::Dashboard').map(([id]) => id);
    this.add('CloudWatch dashboards', ids.length, 'dashboard', [this.prices.dashboardMonth], this.prices.dashboardMonth.usd, ids,
      'free if the account has no more than 3', false);
  }

  containerInsights(): void {
    const services = this.ofType('AWS::ECS::Service');
    let metrics = 0;
    const ids: string[] = [];
    for (const [id, r] of this.ofType('AWS::ECS::Cluster')) {
      const settings: Json[] = r.Properties?.ClusterSettings ?? [];
      const on = settings.some((s) => s.Name === 'containerInsights' && (s.Value === 'enabled' || s.Value === 'enhanced'));
      if (!on) continue;
      const inCluster = services.filter(([, s]) => this.target(s.Properties?.Cluster) === id).length;
      metrics += INSIGHTS_METRICS_PER_SERVICE * Math.max(1, inCluster);
      ids.push(id);
    }
    if (metrics === 0) return;
    const pr = this.prices.customMetricMonth;
    this.add('Container Insights metrics', metrics, 'metric', [pr], pr.usd, ids,
      `about ${INSIGHTS_METRICS_PER_SERVICE} metrics per service (estimate), plus performance log ingestion`, false);
  }

  aurora(): void {
    const instances = this.ofType('AWS::RDS::DBInstance');
    for (const [id, r] of this.ofType('AWS::RDS::DBCluster')) {
      const props = r.Properties ?? {};
      const members = instances.filter(([, i]) => this.target(i.Properties?.DBClusterIdentifier) === id);
      const serverless = members.filter(([, i]) => i.Properties?.DBInstanceClass === 'db.serverless');
      const provisioned = members.filter(([, i]) => i.Properties?.DBInstanceClass !== 'db.serverless');
      for (const [pid, pi] of provisioned) {
        this.notPriced.push({ logicalId: pid, type: pi.Type, reason: `instance class ${JSON.stringify(pi.Properties?.DBInstanceClass)} not in the price table` });
      }
      this.mark([id, ...members.map(([mid]) => mid)]);
      if (props.StorageType === 'aurora-iopt1') {
        this.notPriced.push({ logicalId: id, type: r.Type, reason: 'Aurora I/O-Optimized prices are not in the price table' });
        continue;
      }
      const storage = this.prices.auroraStorageGbMonth;
      this.add(`Aurora storage (assumed ${this.options.auroraStorageGb} GB per cluster)`, this.options.auroraStorageGb, 'GB', [storage], storage.usd, [id],
        'plus I/O requests', false);
      const min = props.ServerlessV2ScalingConfiguration?.MinCapacity;
      const acu = this.prices.auroraAcuHour;
      if (serverless.length > 0 && typeof min === 'number' && min > 0) {
        this.add(`Aurora Serverless v2 floor (${min} ACU x ${serverless.length} instance(s), no auto-pause)`, min * serverless.length, 'ACU', [acu], acu.usd,
          serverless.map(([sid]) => sid));
      } else if (serverless.length > 0) {
        this.assumptions.push(`${id}: paused while idle (MinCapacity 0), so no compute charge.`);
        const pause = props.ServerlessV2ScalingConfiguration?.SecondsUntilAutoPause;
        this.pausingClusters.push({ id, instances: serverless.length, pauseAfterSeconds: typeof pause === 'number' ? pause : 300 });
        const perMillionHours = 1e6 / this.options.requestsPerTaskSecond / 3600 + 5 / 60;
        this.addPerMillion('Aurora awake (0.5 ACU)', perMillionHours * 0.5 * acu.usd * serverless.length, [acu],
          `hours awake at ${this.options.requestsPerTaskSecond} requests per second, plus the 5 idle minutes before it pauses`);
      }
      if (isRetained(r)) this.retained.push(id);
    }
  }

  parameters(): void {
    const advanced = this.ofType('AWS::SSM::Parameter').filter(([, r]) => r.Properties?.Tier === 'Advanced').map(([id]) => id);
    const pr = this.prices.advancedParameterMonth;
    this.add('SSM advanced parameters', advanced.length, 'parameter', [pr], pr.usd, advanced, undefined, false);
  }

  restApis(): void {
    const apis = this.ofType('AWS::ApiGateway::RestApi');
    if (apis.length === 0) return;
    const pr = this.prices.restApiMillionRequests;
    this.addPerMillion('API Gateway REST API requests', pr.usd, [pr]);
    for (const [id, r] of this.ofType('AWS::ApiGateway::Stage')) {
      if (r.Properties?.CacheClusterEnabled === true) {
        this.notPriced.push({ logicalId: id, type: r.Type, reason: 'the API cache is not in the price table' });
      }
      this.priced.add(id);
    }
  }
}

/** Every logical id a `Ref` or `Fn::GetAtt` inside `value` points to. */
function refsIn(value: Json): string[] {
  const out: string[] = [];
  const walk = (v: Json): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      if (typeof v.Ref === 'string') out.push(v.Ref);
      const getAtt = v['Fn::GetAtt'];
      if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') out.push(getAtt[0]);
      else if (typeof getAtt === 'string') out.push(getAtt.split('.')[0]);
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return out;
}

function fmtGb(gb: number): string {
  return String(Math.round(gb * 1000) / 1000);
}

/**
 * What a steady `rpm` requests per minute add to the idle total: API Gateway and WAF requests,
 * the serving functions' requests and GB-seconds, Fargate tasks beyond the idle count, and the
 * hours Aurora stays awake (with requests arriving at random, it pauses only when no request
 * comes for its whole auto-pause delay: awake for a fraction 1 - e^(-rate x delay) of the month).
 */
function rateEstimate(pricer: Pricer, prices: PriceTable, options: EstimateOptions, idleUsd: number, rpm: number): RateEstimate {
  const requests = rpm * 60 * HOURS_PER_MONTH;
  const millions = requests / 1e6;
  const lines: Line[] = [];
  const assumptions: string[] = [];
  const line = (item: string, quantity: number, unit: string, price: Price[], unitPriceUsd: number, resources: string[], note?: string) => {
    if (quantity === 0) return;
    lines.push({ item, quantity, unit, unitPriceUsd, monthlyUsd: quantity * unitPriceUsd, price, resources, hourly: false, note });
  };
  if (pricer.ofType('AWS::ApiGateway::RestApi').length > 0) {
    const pr = prices.restApiMillionRequests;
    line('API Gateway REST API requests', millions, 'million requests', [pr], pr.usd, pricer.ofType('AWS::ApiGateway::RestApi').map(([id]) => id));
  }
  if (pricer.wafAcls > 0) {
    const pr = prices.wafMillionRequests;
    line('WAF requests', millions * pricer.wafAcls, 'million requests', [pr], pr.usd, pricer.ofType('AWS::WAFv2::WebACL').map(([id]) => id));
  }
  for (const fn of pricer.servingFunctions) {
    const req = prices.lambdaMillionRequests;
    line(`Lambda requests (${fn.id})`, millions, 'million requests', [req], req.usd, [fn.id]);
    const gbPrice = fn.arm ? prices.lambdaGbSecondArm : prices.lambdaGbSecondX86;
    const gbSeconds = requests * (options.lambdaDurationMs / 1000) * fn.gb;
    line(`Lambda duration (${fn.id}, ${fmtGb(fn.gb)} GB, ${fn.arm ? 'arm64' : 'x86_64'})`, gbSeconds, 'GB-second', [gbPrice], gbPrice.usd, [fn.id],
      `${options.lambdaDurationMs} ms per request (assumed)`);
  }
  if (pricer.servingFunctions.length) {
    assumptions.push(`Each request runs the serving function for ${options.lambdaDurationMs} ms on average, cold starts included (set --lambda-duration-ms from your own measurements); no free tier.`);
  }
  const rps = rpm / 60;
  for (const svc of pricer.fargateServices) {
    const needed = Math.ceil(rps / options.requestsPerTaskSecond);
    const extra = Math.max(0, needed - svc.idleTasks);
    line(`Fargate tasks beyond the idle count (${svc.label})`, extra * HOURS_PER_MONTH, 'task-hour', svc.price, svc.taskHourUsd, [svc.id],
      `${needed} task(s) at ${options.requestsPerTaskSecond} requests per second each (assumed)`);
    if (extra === 0) assumptions.push(`${svc.id}: ${svc.idleTasks} task(s) serve ${round2(rps)} requests per second at ${options.requestsPerTaskSecond} per task (assumed): no extra tasks.`);
  }
  for (const c of pricer.pausingClusters) {
    const awake = 1 - Math.exp(-(rpm / 60) * c.pauseAfterSeconds);
    const acu = prices.auroraAcuHour;
    line(`Aurora awake (0.5 ACU x ${c.instances} instance(s), ${(awake * 100).toFixed(awake > 0.999 ? 0 : 1)}% of the month)`, 0.5 * c.instances * awake * HOURS_PER_MONTH, 'ACU-hour', [acu], acu.usd, [c.id],
      `pauses only after ${c.pauseAfterSeconds} s without a request`);
    assumptions.push(`${c.id}: at 0.5 ACU while awake (light load); with requests arriving at random it pauses only after ${c.pauseAfterSeconds} s without one, for e^(-${round2(rps)}/s x ${c.pauseAfterSeconds} s) = ${((1 - awake) * 100).toFixed(1)}% of the month.`);
  }
  assumptions.push('Not included: charges by bytes rather than requests (log ingestion, data transfer out, NAT gateway and interface endpoint GB processed, load balancer LCUs).');
  const rounded = lines.map((l) => ({ ...l, monthlyUsd: round2(l.monthlyUsd) }));
  return {
    requestsPerMinute: rpm,
    requestsPerMonth: requests,
    lines: rounded,
    monthlyUsd: round2(idleUsd + rounded.reduce((n, l) => n + l.monthlyUsd, 0)),
    assumptions,
  };
}

function isRetained(r: Json): boolean {
  return r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate' || r.DeletionPolicy === 'Snapshot';
}

function serviceShortName(name: Json): string | undefined {
  // 'com.amazonaws.<region>.ecr.api', or a Join ending in '.ecr.api'.
  if (typeof name === 'string') return name.replace(/^com\.amazonaws\.[a-z0-9-]+\./, '');
  const join = name?.['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const last = join[1][join[1].length - 1];
    if (typeof last === 'string') return last.replace(/^\./, '');
  }
  return undefined;
}

/** Tasks on FARGATE and FARGATE_SPOT for `count` tasks under a capacity provider strategy. */
export function splitByStrategy(count: number, strategy: Json[]): { onDemand: number; spot: number } {
  if (strategy.length === 0) return { onDemand: count, spot: 0 };
  let remaining = count;
  let onDemand = 0;
  let spot = 0;
  for (const s of strategy) {
    const base = Math.min(Number(s.Base ?? 0), remaining);
    if (s.CapacityProvider === 'FARGATE_SPOT') spot += base; else onDemand += base;
    remaining -= base;
  }
  const total = strategy.reduce((n, s) => n + Number(s.Weight ?? 0), 0);
  if (remaining > 0 && total > 0) {
    for (const s of strategy) {
      const share = remaining * Number(s.Weight ?? 0) / total;
      if (s.CapacityProvider === 'FARGATE_SPOT') spot += share; else onDemand += share;
    }
  }
  return { onDemand, spot };
}

/** Prices a template at idle. */
export function estimateTemplate(template: Json, prices: PriceTable, options: EstimateOptions): Estimate {
  const pricer = new Pricer(template, prices, options);
  pricer.run();
  // The total is the sum of the rounded lines, so a printed table adds up.
  const monthlyUsd = round2(pricer.lines.reduce((n, l) => n + round2(l.monthlyUsd), 0));
  const keyLine = pricer.lines.find((l) => l.item === 'KMS customer-managed keys');
  const retainedKeys = pricer.retained.filter((id) => template.Resources[id]?.Type === 'AWS::KMS::Key').length;
  const retainedAfterDeleteMonthlyUsd = round2(retainedKeys * (prices.kmsKeyMonth.usd + 2 * prices.kmsRotationMonth.usd)
    + pricer.retained.filter((id) => template.Resources[id]?.Type === 'AWS::RDS::DBCluster').length * options.auroraStorageGb * prices.auroraStorageGbMonth.usd);
  const atRate = options.requestsPerMinute !== undefined
    ? rateEstimate(pricer, prices, options, monthlyUsd, options.requestsPerMinute)
    : undefined;
  const all = [...pricer.lines, ...pricer.perMillion, ...(atRate?.lines ?? [])].flatMap((l) => l.price);
  const unverified = [...new Set(all.filter((x) => !x.verified))];
  return {
    region: prices.region,
    lines: pricer.lines.map((l) => ({ ...l, monthlyUsd: round2(l.monthlyUsd) })),
    perMillion: pricer.perMillion.map((l) => ({ ...l, monthlyUsd: round2(l.monthlyUsd) })),
    monthlyUsd,
    monthlyUsdAfterKeyRotations: round2(monthlyUsd + (keyLine ? pricer.rotationIncrement() : 0)),
    retainedAfterDeleteMonthlyUsd,
    notPriced: pricer.notPriced,
    unverified,
    assumptions: [...new Set(pricer.assumptions)],
    atRate,
  };
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
