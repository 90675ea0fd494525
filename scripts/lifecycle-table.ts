// What changing one prop of FlaskServerlessPlatform does to a deployed stack, derived rather than
// remembered: the platform is synthesized with its defaults and again with the prop changed, and
// every changed resource property is looked up in CloudFormation's resource specification
// (@aws-cdk/aws-service-spec: which properties cause a replacement). A resource whose physical id
// changes (replaced) also replaces every resource that names it in a replacing property.
//
// `node -r ts-node/register scripts/lifecycle-table.ts` writes docs/lifecycle.md and the README
// section between <!-- lifecycle:start --> and <!-- lifecycle:end -->; test/lifecycle checks both.
import * as fs from 'fs';
import * as path from 'path';
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { EgressMode, FlaskServerlessPlatformProps, FlaskServerlessPlatform } from '../src';

/** What a change does, from harmless to harmful. */
export enum Effect {
  IN_PLACE = 'in place',
  ROLLS_TASKS = 'rolls the tasks',
  REPLACES_RESOURCE = 'replaces a resource',
  REPLACES_STATEFUL = 'replaces stateful data',
}

/** Resources that hold data or credentials: replacing one loses them or hands out new ones. */
export const STATEFUL_TYPES = [
  'AWS::RDS::DBCluster',
  'AWS::SecretsManager::Secret',
  'AWS::KMS::Key',
  'AWS::ApiGateway::ApiKey',
  'AWS::Logs::LogGroup',
  'Custom::FlaskSecureStringParameter',
];

type Variant = (stack: Stack) => Partial<FlaskServerlessPlatformProps>;

const CERT_ARN = 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7';

/** One valid change per prop; what it does is derived, never written here. */
export const VARIANTS: Record<string, Variant> = {
  'appName': () => ({ appName: 'todo' }),
  'jwtExpiry': () => ({ jwtExpiry: Duration.hours(2) }),
  'network.cidr': () => ({ network: { cidr: '10.1.0.0/16' } }),
  'network.egress': () => ({ network: { egress: EgressMode.VPC_ENDPOINTS } }),
  'network.flowLogRetention': () => ({ network: { flowLogRetention: logs.RetentionDays.THREE_MONTHS } }),
  'database.minCapacity': () => ({ database: { minCapacity: 0.5 } }),
  'database.maxCapacity': () => ({ database: { maxCapacity: 2 } }),
  'database.autoPauseAfter': () => ({ database: { autoPauseAfter: Duration.minutes(10) } }),
  'database.engineVersion': () => ({ database: { engineVersion: rds.AuroraPostgresEngineVersion.VER_16_10 } }),
  'database.databaseName': () => ({ database: { databaseName: 'todo' } }),
  'database.username': () => ({ database: { username: 'todo_admin' } }),
  'database.port': () => ({ database: { port: 5433 } }),
  'database.backupRetention': () => ({ database: { backupRetention: Duration.days(14) } }),
  'database.preferredMaintenanceWindow': () => ({ database: { preferredMaintenanceWindow: 'sun:18:00-sun:18:30' } }),
  'database.deletionProtection': () => ({ database: { deletionProtection: false } }),
  'database.removalPolicy': () => ({ database: { removalPolicy: RemovalPolicy.RETAIN } }),
  'database.encryptionKey': (stack) => ({ database: { encryptionKey: new kms.Key(stack, 'OwnKey', { enableKeyRotation: true }) } }),
  'database.iamAuthentication': () => ({ database: { iamAuthentication: false } }),
  'database.logRetention': () => ({ database: { logRetention: logs.RetentionDays.THREE_MONTHS } }),
  'database.enablePerformanceInsights': () => ({ database: { enablePerformanceInsights: false } }),
  'database.rotateSecretAfter': () => ({ database: { rotateSecretAfter: Duration.days(60) } }),
  'service.cpu': () => ({ service: { cpu: 512, memoryLimitMiB: 1024 } }),
  'service.desiredCount': () => ({ service: { desiredCount: 2 } }),
  'service.containerPort': () => ({ service: { containerPort: 8080 } }),
  'service.healthCheckPath': () => ({ service: { healthCheckPath: '/up' } }),
  'service.settings': () => ({ service: { settings: { LOG_LEVEL: 'debug' } } }),
  'service.generatedSecrets': () => ({ service: { generatedSecrets: ['SECRET_KEY'] } }),
  'service.environment': () => ({ service: { environment: { TZ: 'UTC' } } }),
  'service.cpuArchitecture': () => ({ service: { cpuArchitecture: ecs.CpuArchitecture.ARM64 } }),
  'service.spot': () => ({ service: { spot: true } }),
  'service.readonlyRootFilesystem': () => ({ service: { readonlyRootFilesystem: true } }),
  'service.stopTimeout': () => ({ service: { stopTimeout: Duration.seconds(60) } }),
  'service.logRetention': () => ({ service: { logRetention: logs.RetentionDays.THREE_MONTHS } }),
  'service.parameterPath': () => ({ service: { parameterPath: '/apps/todo/' } }),
  'service.tlsCertificate': (stack) => ({
    service: { tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Cert', CERT_ARN) },
    api: { integrationTlsHostname: 'backend.example.com' },
  }),
  'api.stageName': () => ({ api: { stageName: 'prod' } }),
  'api.apiName': () => ({ api: { apiName: 'todo-api' } }),
  'api.apiKeyNames': () => ({ api: { apiKeyNames: ['default', 'partner'] } }),
  'api.throttlingRateLimit': () => ({ api: { throttlingRateLimit: 500 } }),
  'api.requestsPerMinutePerKey': () => ({ api: { requestsPerMinutePerKey: 200 } }),
  'api.integrationTimeout': () => ({ api: { integrationTimeout: Duration.seconds(10) } }),
  'api.wafRateLimit': () => ({ api: { wafRateLimit: true } }),
  'api.accessLogRetention': () => ({ api: { accessLogRetention: logs.RetentionDays.THREE_MONTHS } }),
  'api.description': () => ({ api: { description: 'Todo API' } }),
  'monitoring.dashboardName': () => ({ monitoring: { dashboardName: 'todo' } }),
  'monitoring.dashboard': () => ({ monitoring: { dashboard: false } }),
  'monitoring.alarmEmail': () => ({ monitoring: { alarmEmail: 'ops@example.com' } }),
};

export interface LifecycleRow {
  readonly prop: string;
  readonly effect: Effect;
  /** `Type (logical id)` of each resource replaced, removed or maybe replaced. */
  readonly replaced: string[];
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function synthesize(variant?: Variant): Resources {
  const app = new App();
  const stack = new Stack(app, 'Lifecycle', { env: { account: '111111111111', region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(stack, 'App', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    ...variant?.(stack),
  });
  return Template.fromStack(stack).toJSON().Resources;
}

let spec: ReturnType<typeof loadAwsServiceSpecSync> | undefined;
const replacing = new Map<string, Map<string, string>>();
/** CloudFormation's answer: does changing this property replace the resource? 'yes', 'maybe' or 'no'. */
function causesReplacement(type: string, property: string): string {
  if (!replacing.has(type)) {
    spec ??= loadAwsServiceSpecSync();
    const found = spec.lookup('resource', 'cloudFormationType', 'equals', type);
    const props = new Map<string, string>();
    // Custom resources are not in the specification: their handlers update in place.
    if (found.length === 1) {
      for (const [name, p] of Object.entries(found.only().properties)) props.set(name, p.causesReplacement ?? 'no');
    }
    replacing.set(type, props);
  }
  return replacing.get(type)!.get(property) ?? 'no';
}

function references(value: unknown, logicalId: string): boolean {
  const text = JSON.stringify(value ?? null);
  return text.includes(`{"Ref":"${logicalId}"}`) || text.includes(`{"Fn::GetAtt":["${logicalId}",`);
}

/** The resources a change replaces (physical id changes) or removes, and what else it touches. */
export function classify(before: Resources, after: Resources): { effect: Effect; replaced: string[] } {
  const replaced = new Map<string, string>();
  // Resources with a changed property other than a task count, which ECS applies without a deployment.
  const updated = new Set<string>();
  for (const [id, old] of Object.entries(before)) {
    const now = after[id];
    if (!now || now.Type !== old.Type) {
      replaced.set(id, old.Type);
      continue;
    }
    for (const key of new Set([...Object.keys(old.Properties ?? {}), ...Object.keys(now.Properties ?? {})])) {
      if (JSON.stringify(old.Properties?.[key]) === JSON.stringify(now.Properties?.[key])) continue;
      if (key !== 'DesiredCount') updated.add(id);
      if (causesReplacement(old.Type, key) !== 'no') replaced.set(id, old.Type);
    }
  }
  for (const id of Object.keys(after)) if (!before[id]) updated.add(id);
  // A replaced resource gets a new physical id: whatever names it in a replacing property follows.
  let grew = true;
  while (grew) {
    grew = false;
    for (const [id, resource] of Object.entries(after)) {
      if (replaced.has(id) || !before[id]) continue;
      for (const [key, value] of Object.entries(resource.Properties ?? {})) {
        if (causesReplacement(resource.Type, key) === 'no') continue;
        if ([...replaced.keys()].some((r) => references(value, r))) {
          replaced.set(id, resource.Type);
          grew = true;
          break;
        }
      }
    }
  }
  const types = [...replaced.values()];
  const effect = types.some((t) => STATEFUL_TYPES.includes(t)) ? Effect.REPLACES_STATEFUL
    : types.some((t) => t !== 'AWS::ECS::TaskDefinition') ? Effect.REPLACES_RESOURCE
      : types.length > 0 || [...updated].some((id) => (after[id] ?? before[id]).Type === 'AWS::ECS::Service') ? Effect.ROLLS_TASKS
        : Effect.IN_PLACE;
  return { effect, replaced: [...replaced.entries()].map(([id, type]) => `${type} (${id})`).sort() };
}

export function lifecycleRows(): LifecycleRow[] {
  const baseline = synthesize();
  return Object.entries(VARIANTS).map(([prop, variant]) => ({ prop, ...classify(baseline, synthesize(variant)) }));
}

export function renderTable(rows: LifecycleRow[]): string {
  const stateful = (r: string) => STATEFUL_TYPES.some((t) => r.startsWith(`${t} `));
  const lines = rows.map((r) => {
    const what = r.replaced.map((x) => (stateful(x) ? `**${x.split(' ')[0]}**` : x.split(' ')[0]));
    const unique = [...new Set(what)].join(', ');
    return `| \`${r.prop}\` | ${r.effect} | ${unique || '-'} |`;
  });
  return [
    '| Prop changed | On update | Resources replaced or removed (stateful in bold) |',
    '|---|---|---|',
    ...lines,
  ].join('\n');
}

const START = '<!-- lifecycle:start -->';
const END = '<!-- lifecycle:end -->';

export function readmeSection(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} section`);
  return readme.slice(start + START.length, end).trim();
}

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const table = renderTable(lifecycleRows());
  const readmePath = path.join(root, 'README.md');
  const readme = fs.readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  fs.writeFileSync(readmePath, `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`);
  fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'docs', 'lifecycle.md'), [
    '# What a change does on update',
    '',
    'Generated by `scripts/lifecycle-table.ts` from CloudFormation\'s resource specification; do not edit.',
    'Each row changes one `FlaskServerlessPlatform` prop from its default and synthesizes again.',
    '',
    table,
    '',
  ].join('\n'));
}
