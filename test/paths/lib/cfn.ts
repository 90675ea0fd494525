/**
 * A synthesized CloudFormation template with its intrinsics resolved to the concrete values a
 * deployment in one fixed account and region would produce: Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
 * Fn::Select, Fn::Split, Fn::If (conditions evaluated), pseudo parameters. Physical names that
 * CloudFormation would generate are the logical id, which keeps ARNs unique and readable.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'ap-southeast-1';
export const PARTITION = 'aws';
export const AZS = [`${REGION}a`, `${REGION}b`, `${REGION}c`];

/** A resolved value: strings, numbers, booleans, arrays and objects, intrinsics gone. */
export type Json = any;

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
  readonly Metadata?: Record<string, Json>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, Json>;
  Conditions?: Record<string, Json>;
  Outputs?: Record<string, Json>;
  Mappings?: Record<string, Json>;
}

const NO_VALUE = Symbol('AWS::NoValue');

/** Services whose ARNs have no region or no account segment. */
const GLOBAL = new Set(['iam', 's3']);

export class ResolvedTemplate {
  /** The template as synthesized (kept for tests that mutate it and resolve again). */
  public readonly raw: CfnTemplate;
  private readonly cache = new Map<string, Json>();

  constructor(raw: CfnTemplate) {
    this.raw = raw;
  }

  /** Logical ids of resources of `type` (that the template would create). */
  public ofType(type: string): string[] {
    return Object.entries(this.raw.Resources)
      .filter(([, r]) => r.Type === type && this.created(r))
      .map(([id]) => id);
  }

  public resource(id: string): CfnResource {
    const r = this.raw.Resources[id];
    if (!r) throw new Error(`no resource ${id}`);
    return r;
  }

  /** A resource's properties with every intrinsic resolved. */
  public props(id: string): Record<string, Json> {
    if (!this.cache.has(id)) this.cache.set(id, this.resolve(this.resource(id).Properties ?? {}) ?? {});
    return this.cache.get(id);
  }

  /** Whether a resource's Condition (if any) holds. */
  public created(r: CfnResource): boolean {
    return r.Condition ? this.condition(r.Condition) : true;
  }

  public condition(name: string): boolean {
    return Boolean(this.resolve(this.raw.Conditions?.[name]));
  }

  /** Ref of a resource: what CloudFormation returns for it. */
  public ref(id: string): Json {
    const param = this.raw.Parameters?.[id];
    if (param) return this.parameter(id, param);
    const r = this.resource(id);
    const p = (r.Properties ?? {}) as Record<string, Json>;
    const name = (key: string) => (p[key] !== undefined ? this.resolve(p[key]) : id);
    switch (r.Type) {
      case 'AWS::SNS::Topic': return this.arn('sns', name('TopicName'));
      case 'AWS::SecretsManager::Secret': return this.arn('secretsmanager', `secret:${name('Name')}-AbCdEf`);
      case 'AWS::SecretsManager::SecretTargetAttachment': return this.ref(this.logicalIdOf(p.SecretId));
      case 'AWS::Logs::LogGroup': return name('LogGroupName');
      case 'AWS::SSM::Parameter': return name('Name');
      case 'AWS::IAM::Role': return name('RoleName');
      case 'AWS::IAM::Policy': return id;
      case 'AWS::ECS::Cluster': return name('ClusterName');
      case 'AWS::ECS::Service': return this.arn('ecs', `service/${this.resolve(p.Cluster)}/${name('ServiceName')}`);
      case 'AWS::ECS::TaskDefinition': return this.arn('ecs', `task-definition/${name('Family')}:1`);
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer': return this.arn('elasticloadbalancing', `loadbalancer/net/${id}/0123456789abcdef`);
      case 'AWS::ElasticLoadBalancingV2::TargetGroup': return this.arn('elasticloadbalancing', `targetgroup/${id}/0123456789abcdef`);
      case 'AWS::ElasticLoadBalancingV2::Listener': return this.arn('elasticloadbalancing', `listener/net/${id}/0123456789abcdef/0123456789abcdef`);
      case 'AWS::WAFv2::WebACL': return `${name('Name')}|${id}|REGIONAL`;
      case 'AWS::Lambda::Function': return name('FunctionName');
      case 'AWS::RDS::DBCluster': return name('DBClusterIdentifier').toLowerCase();
      case 'AWS::RDS::DBInstance': return name('DBInstanceIdentifier').toLowerCase();
      case 'AWS::KMS::Key': return `key-${id}`;
      case 'AWS::StepFunctions::StateMachine': return this.arn('states', `stateMachine:${name('StateMachineName')}`);
      case 'AWS::Events::Rule': return name('Name');
      default: return id;
    }
  }

  /** Fn::GetAtt of a resource attribute. */
  public getAtt(id: string, attr: string): Json {
    const r = this.resource(id);
    const p = (r.Properties ?? {}) as Record<string, Json>;
    const ref = () => this.ref(id);
    switch (`${r.Type}.${attr}`) {
      case 'AWS::KMS::Key.Arn': return this.arn('kms', `key/${ref()}`);
      case 'AWS::KMS::Key.KeyId': return ref();
      case 'AWS::Logs::LogGroup.Arn': return this.arn('logs', `log-group:${ref()}:*`);
      case 'AWS::IAM::Role.Arn': return `arn:${PARTITION}:iam::${ACCOUNT}:role/${ref()}`;
      case 'AWS::IAM::Role.RoleId': return `AROA${id.toUpperCase().slice(0, 16)}`;
      case 'AWS::SNS::Topic.TopicArn': return ref();
      case 'AWS::SNS::Topic.TopicName': return ref().split(':').pop();
      case 'AWS::ECS::Cluster.Arn': return this.arn('ecs', `cluster/${ref()}`);
      case 'AWS::ECS::Service.Name': return this.resolve(p.ServiceName) ?? id;
      case 'AWS::ECS::TaskDefinition.TaskDefinitionArn': return ref();
      case 'AWS::SSM::Parameter.Type': return this.resolve(p.Type);
      case 'AWS::SSM::Parameter.Value': return this.resolve(p.Value);
      case 'AWS::RDS::DBCluster.Endpoint.Address': return `${ref()}.cluster-c0abcdefghij.${REGION}.rds.amazonaws.com`;
      case 'AWS::RDS::DBCluster.ReadEndpoint.Address': return `${ref()}.cluster-ro-c0abcdefghij.${REGION}.rds.amazonaws.com`;
      case 'AWS::RDS::DBCluster.Endpoint.Port': return String(this.resolve(p.Port) ?? 5432);
      case 'AWS::RDS::DBCluster.DBClusterArn': return this.arn('rds', `cluster:${ref()}`);
      case 'AWS::RDS::DBCluster.DBClusterResourceId': return `cluster-${id.toUpperCase().slice(0, 20)}`;
      case 'AWS::Lambda::Function.Arn': return this.arn('lambda', `function:${ref()}`);
      case 'AWS::StepFunctions::StateMachine.Arn': return ref();
      case 'AWS::Events::Rule.Arn': return this.arn('events', `rule/${ref()}`);
      case 'AWS::WAFv2::WebACL.Arn': return this.arn('wafv2', `regional/webacl/${this.resolve(p.Name) ?? id}/${id}`);
      case 'AWS::ApiGateway::RestApi.RootResourceId': return `root-${id}`;
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer.LoadBalancerFullName': return `net/${id}/0123456789abcdef`;
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer.DNSName': return `${id}-0123456789abcdef.elb.${REGION}.amazonaws.com`;
      case 'AWS::ElasticLoadBalancingV2::TargetGroup.TargetGroupFullName': return `targetgroup/${id}/0123456789abcdef`;
      case 'AWS::EC2::SecurityGroup.GroupId': return `sg-${id}`;
      case 'AWS::EC2::VPC.CidrBlock': return this.resolve(p.CidrBlock);
      case 'AWS::EC2::VPC.DefaultSecurityGroup': return `sg-default-${id}`;
      case 'AWS::EC2::Subnet.AvailabilityZone': return this.resolve(p.AvailabilityZone);
      case 'AWS::CloudWatch::Alarm.Arn': return this.arn('cloudwatch', `alarm:${this.resolve(p.AlarmName) ?? id}`);
      case 'AWS::EC2::EIP.AllocationId': return `eipalloc-${id}`;
      case 'AWS::ApiGateway::ApiKey.APIKeyId': return ref();
      case 'AWS::S3::Bucket.Arn': return `arn:${PARTITION}:s3:::${ref()}`;
      default: {
        if (attr === 'Arn') {
          const service = r.Type.split('::')[1].toLowerCase();
          return this.arn(service, `${r.Type.split('::')[2].toLowerCase()}/${ref()}`);
        }
        return `${id}.${attr}`;
      }
    }
  }

  /** An ARN in the fixed account and region. */
  public arn(service: string, resource: string): string {
    return GLOBAL.has(service)
      ? `arn:${PARTITION}:${service}::${service === 's3' ? '' : ACCOUNT}:${resource}`
      : `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resource}`;
  }

  /** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at, or undefined. */
  public logicalIdOf(value: Json): string {
    if (value && typeof value === 'object') {
      if (typeof value.Ref === 'string') return value.Ref;
      if (Array.isArray(value['Fn::GetAtt'])) return value['Fn::GetAtt'][0];
    }
    return undefined as unknown as string;
  }

  /** Every logical id a raw value points at with Ref or Fn::GetAtt (deep). */
  public refsIn(value: Json): string[] {
    const out: string[] = [];
    const walk = (v: Json) => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (v && typeof v === 'object') {
        const id = this.logicalIdOf(v);
        if (id && this.raw.Resources[id]) out.push(id);
        Object.values(v).forEach(walk);
      }
    };
    walk(value);
    return out;
  }

  public resolve(value: Json): Json {
    const v = this.resolveInner(value);
    return v === NO_VALUE ? undefined : v;
  }

  private parameter(id: string, param: Json): Json {
    if (id.startsWith('BootstrapVersion')) return '20';
    if (param.Type?.startsWith('AWS::SSM::Parameter::Value')) return `resolved:${param.Default ?? id}`;
    return param.Default ?? `param-${id}`;
  }

  private resolveInner(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolveInner(v)).filter((v) => v !== NO_VALUE);
    if (!value || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = value[k];
      switch (k) {
        case 'Ref': return this.pseudo(arg) ?? this.ref(arg);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
          return this.getAtt(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg;
          return (this.resolveInner(parts) as Json[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg;
          return (this.resolveInner(list) as Json[])[Number(this.resolveInner(index))];
        }
        case 'Fn::Split': {
          const [sep, str] = arg;
          return String(this.resolveInner(str)).split(sep);
        }
        case 'Fn::Sub': {
          const [template, vars] = Array.isArray(arg) ? arg : [arg, {}];
          const resolvedVars = this.resolveInner(vars ?? {});
          return String(template).replace(/\$\{([^}!]+)\}/g, (_m: string, name: string) => {
            if (resolvedVars[name] !== undefined) return String(resolvedVars[name]);
            const pseudo = this.pseudo(name);
            if (pseudo !== undefined) return pseudo;
            const [id, attr] = name.split(/\.(.+)/);
            return String(attr ? this.getAtt(id, attr) : this.ref(id));
          });
        }
        case 'Fn::If': {
          const [cond, a, b] = arg;
          return this.resolveInner(this.condition(cond) ? a : b);
        }
        case 'Fn::Equals': {
          const [a, b] = this.resolveInner(arg);
          return a === b;
        }
        case 'Fn::Not': return !this.resolveInner(arg)[0];
        case 'Fn::And': return (this.resolveInner(arg) as Json[]).every(Boolean);
        case 'Fn::Or': return (this.resolveInner(arg) as Json[]).some(Boolean);
        case 'Condition': return this.condition(arg);
        case 'Fn::GetAZs': return AZS.slice(0, 3);
        case 'Fn::FindInMap': {
          const [map, top, second] = this.resolveInner(arg);
          return this.raw.Mappings?.[map]?.[top]?.[second];
        }
        case 'Fn::Base64': return this.resolveInner(arg);
        case 'Fn::ImportValue': return `import:${this.resolveInner(arg)}`;
        default: break;
      }
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = this.resolveInner(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private pseudo(name: string): Json {
    switch (name) {
      case 'AWS::AccountId': return ACCOUNT;
      case 'AWS::Region': return REGION;
      case 'AWS::Partition': return PARTITION;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return 'Paths';
      case 'AWS::StackId': return this.arn('cloudformation', 'stack/Paths/00000000-0000-0000-0000-000000000000');
      case 'AWS::NoValue': return NO_VALUE;
      default: return undefined;
    }
  }
}
