import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { ACCOUNT, Json, REGION } from './cfn';
import { Mode } from './modes';
import { Endpoint } from './network';
import { assumes, denied, ProofContext, requireSome, RuntimePath, servicesFrom, writesLogs } from './paths';
import { AuroraServerlessV2Db, EgressMode, FlaskDataImport, FlaskServerlessPlatform } from '../../../src';

/*
 * The data import's runtime paths: the one-off task started by the run-task command of the stack
 * outputs. Its network comes from that command (subnets, security group, public IP), so the
 * proofs also check that the command the user copies starts a task that can do its work.
 */

// The app's image; the import runs its default image (the package's assets/data-import).
const image = ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', '..', 'integ', 'assets', 'echo-app'));

function platform(egress?: EgressMode, singleAzEndpoints?: boolean): Stack {
  const stack = new Stack(new App(), 'Paths', { env: { account: ACCOUNT, region: REGION } });
  new FlaskServerlessPlatform(stack, 'P', { image, network: egress ? { egress, singleAzEndpoints } : undefined, dataImport: {} });
  return stack;
}

/** The construct on its own, beside an AuroraServerlessV2Db, in a VPC the user made. */
function standalone(): Stack {
  const stack = new Stack(new App(), 'Paths', { env: { account: ACCOUNT, region: REGION } });
  const vpc = new ec2.Vpc(stack, 'UserVpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const database = new AuroraServerlessV2Db(stack, 'Db', { vpc });
  new FlaskDataImport(stack, 'Import', { vpc, database });
  return stack;
}

/** Every Fargate egress mode of the platform, and the construct on its own. */
export const IMPORT_MODES: Mode[] = [
  { id: 'nat-gateway', description: 'dataImport, EgressMode.NAT_GATEWAY', build: () => platform() },
  { id: 'nat-instance', description: 'dataImport, EgressMode.NAT_INSTANCE', build: () => platform(EgressMode.NAT_INSTANCE) },
  { id: 'vpc-endpoints', description: 'dataImport, EgressMode.VPC_ENDPOINTS', build: () => platform(EgressMode.VPC_ENDPOINTS) },
  { id: 'one-az-endpoints', description: 'dataImport, EgressMode.VPC_ENDPOINTS with singleAzEndpoints', build: () => platform(EgressMode.VPC_ENDPOINTS, true) },
  { id: 'public-subnets', description: 'dataImport, EgressMode.PUBLIC_SUBNETS (the task gets a public IPv4)', build: () => platform(EgressMode.PUBLIC_SUBNETS) },
  { id: 'parts', description: 'FlaskDataImport beside an AuroraServerlessV2Db in a user\'s ec2.Vpc', build: standalone },
];

/** The import task as the run-task command of the outputs starts it. */
export interface ImportTask {
  readonly taskDefId: string;
  readonly container: Json;
  readonly executionRole: string;
  readonly taskRole: string;
  readonly clusterName: string;
  readonly dumpUri: string;
  readonly endpoints: Endpoint[];
}

/** Reads the run-task command of the outputs and the task definition it names. */
export function importTasks(ctx: ProofContext): ImportTask[] {
  const t = ctx.t;
  const outputs = Object.entries(t.raw.Outputs ?? {}).filter(([id]) => /RunTaskCommand/.test(id));
  return outputs.map(([id, o]) => {
    const command = String(t.resolve(o.Value));
    const arg = (name: string) => {
      const m = new RegExp(`--${name} (?:'([^']*)'|(\\S+))`).exec(command);
      if (!m) throw new Error(`output ${id} has no --${name}: ${command}`);
      return m[1] ?? m[2];
    };
    const family = arg('task-definition');
    const taskDefId = t.ofType('AWS::ECS::TaskDefinition').find((x) => t.props(x).Family === family);
    if (!taskDefId) throw new Error(`output ${id} names task definition ${family}, which the template does not define`);
    const td = t.props(taskDefId);
    const net = /^awsvpcConfiguration=\{subnets=\[([^\]]*)\],securityGroups=\[([^\]]*)\],assignPublicIp=(ENABLED|DISABLED)\}$/.exec(arg('network-configuration'));
    if (!net) throw new Error(`output ${id} has a network configuration the proofs cannot read: ${arg('network-configuration')}`);
    const overrides = JSON.parse(arg('overrides'));
    const override = overrides.containerOverrides[0];
    const container = (td.ContainerDefinitions as Json[]).find((c) => c.Name === override.name);
    if (!container) throw new Error(`output ${id} overrides container ${override.name}, which task definition ${taskDefId} does not have`);
    const dumpUri = override.environment.find((e: Json) => e.name === 'IMPORT_DUMP_URI')?.value;
    const securityGroups = net[2].split(',');
    const publicIp = net[3] === 'ENABLED';
    return {
      taskDefId,
      container,
      executionRole: ctx.iam.roleIdOf(td.ExecutionRoleArn)!,
      taskRole: ctx.iam.roleIdOf(td.TaskRoleArn)!,
      clusterName: arg('cluster'),
      dumpUri,
      endpoints: net[1].split(',').map((subnet) => ({ subnet, securityGroups, publicIp })),
    };
  });
}

function tasks(ctx: ProofContext): ImportTask[] {
  return requireSome(importTasks(ctx), 'run-task command in the outputs');
}

const taskArn = (clusterName: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${clusterName}/0123456789abcdef`;

export const IMPORT_PATHS: RuntimePath[] = [
  {
    id: 'import-command',
    title: 'The run-task command of the outputs names the template\'s cluster, task definition, container and a dump the task may read',
    prove(ctx) {
      return tasks(ctx).flatMap((task) => {
        const problems: string[] = [];
        if (!ctx.t.ofType('AWS::ECS::Cluster').some((c) => ctx.t.ref(c) === task.clusterName)) problems.push(`cluster ${task.clusterName} is not in the template`);
        if (!/^s3:\/\/[^/]+\/dumps\/.+/.test(task.dumpUri ?? '')) problems.push(`IMPORT_DUMP_URI ${task.dumpUri} is not an S3 URI under dumps/`);
        if (task.container.Essential !== true) problems.push('the import container is not essential: the task would not stop with its exit code');
        return problems;
      });
    },
  },
  {
    id: 'import-image-pull',
    title: 'Execution role → ECR image pull (ECR API, registry, S3 layers; network from the task\'s subnets)',
    prove(ctx) {
      return tasks(ctx).flatMap((task) => {
        const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(String(task.container.Image));
        if (!m) return [`image ${task.container.Image} is not an ECR image of the account`];
        const repo = `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}`;
        return [
          ...assumes(ctx, task.executionRole, 'ecs-tasks.amazonaws.com', taskArn(task.clusterName)),
          ...denied(ctx, [
            { caller: { role: task.executionRole }, action: 'ecr:GetAuthorizationToken', resource: '*' },
            ...['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'].map((action) => ({ caller: { role: task.executionRole }, action, resource: repo })),
          ]),
          ...servicesFrom(ctx, task.endpoints, ['ecr.api', 'ecr.dkr', 's3']),
        ];
      });
    },
  },
  {
    id: 'import-secret',
    title: 'Execution role → the master secret (secretsmanager:GetSecretValue, kms:Decrypt via Secrets Manager) for DB_ADMIN_USER/DB_ADMIN_PASSWORD',
    prove(ctx) {
      return tasks(ctx).flatMap((task) => {
        const secrets = (task.container.Secrets ?? []) as Json[];
        const problems: string[] = [];
        for (const name of ['DB_ADMIN_USER', 'DB_ADMIN_PASSWORD']) {
          const s = secrets.find((x) => x.Name === name);
          if (!s) { problems.push(`the container gets no ${name}`); continue; }
          const parts = String(s.ValueFrom).split(':');
          const arn = parts.slice(0, 7).join(':');
          const field = parts[7];
          if (field !== (name === 'DB_ADMIN_USER' ? 'username' : 'password')) problems.push(`${name} comes from the field '${field}' of the secret`);
          const secretId = ctx.t.ofType('AWS::SecretsManager::Secret').find((id) => ctx.t.ref(id) === arn);
          if (!secretId) { problems.push(`secret ${arn} is not in the template`); continue; }
          if (!ctx.t.ofType('AWS::SecretsManager::SecretTargetAttachment').some((a) => ctx.t.props(a).SecretId === arn && ctx.t.props(a).TargetType === 'AWS::RDS::DBCluster')) {
            problems.push(`secret ${arn} is not the master secret of a cluster`);
          }
          problems.push(...denied(ctx, [{ caller: { role: task.executionRole }, action: 'secretsmanager:GetSecretValue', resource: arn }]));
          const key = ctx.t.props(secretId).KmsKeyId;
          if (key) {
            problems.push(...denied(ctx, [{
              caller: { role: task.executionRole },
              action: 'kms:Decrypt',
              resource: key,
              context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': arn },
            }]));
          }
        }
        return [...new Set([...problems, ...servicesFrom(ctx, task.endpoints, ['secretsmanager'])])];
      });
    },
  },
  {
    id: 'import-logs',
    title: 'Execution role → CloudWatch Logs (awslogs driver; the Logs service principal on the log key)',
    prove(ctx) {
      return tasks(ctx).flatMap((task) => {
        const o = task.container.LogConfiguration?.Options;
        if (task.container.LogConfiguration?.LogDriver !== 'awslogs' || !o) return ['the import container does not log with the awslogs driver'];
        return [
          ...writesLogs(ctx, task.executionRole, o['awslogs-group'], `${o['awslogs-stream-prefix']}/${task.container.Name}/0123456789abcdef`),
          ...servicesFrom(ctx, task.endpoints, ['logs']),
        ];
      });
    },
  },
  {
    id: 'import-dump-read',
    title: 'Task role → s3:GetObject on the dump and its manifest (bucket policy, TLS) → kms:Decrypt via S3 on the bucket key; S3 reachable from the subnets',
    prove(ctx) {
      return tasks(ctx).flatMap((task) => {
        const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(task.dumpUri ?? '');
        if (!m) return [`IMPORT_DUMP_URI ${task.dumpUri} is not an S3 URI`];
        const [, bucket, dumpKey] = m;
        const bucketId = ctx.t.ofType('AWS::S3::Bucket').find((b) => ctx.t.ref(b) === bucket);
        if (!bucketId) return [`bucket ${bucket} is not in the template`];
        const bucketArn = `arn:aws:s3:::${bucket}`;
        const sse = ctx.t.props(bucketId).BucketEncryption?.ServerSideEncryptionConfiguration?.[0];
        const key = sse?.ServerSideEncryptionByDefault?.KMSMasterKeyID;
        const problems = [
          ...assumes(ctx, task.taskRole, 'ecs-tasks.amazonaws.com', taskArn(task.clusterName)),
          ...denied(ctx, [`${dumpKey}`, `${dumpKey}.manifest.json`].map((k) => ({
            caller: { role: task.taskRole }, action: 's3:GetObject', resource: `${bucketArn}/${k}`,
          }))),
          ...servicesFrom(ctx, task.endpoints, ['s3']),
        ];
        if (!key) return [...problems, `bucket ${bucketId} is not encrypted with a KMS key`];
        // With an S3 Bucket Key, S3 asks KMS with the bucket's ARN as encryption context; without, the object's.
        const context = sse.BucketKeyEnabled === true ? bucketArn : `${bucketArn}/${dumpKey}`;
        problems.push(...denied(ctx, [{
          caller: { role: task.taskRole },
          action: 'kms:Decrypt',
          resource: key,
          context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': context },
        }]));
        return problems;
      });
    },
  },
  {
    id: 'import-database',
    title: 'Import task → Aurora: routes and security groups on both sides, on the cluster port',
    prove(ctx) {
      const clusters = requireSome(ctx.t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster');
      return tasks(ctx).flatMap((task) => clusters.flatMap((c) => {
        const p = ctx.t.props(c);
        const group = ctx.t.ofType('AWS::RDS::DBSubnetGroup').find((g) => ctx.t.ref(g) === p.DBSubnetGroupName)!;
        const port = Number(p.Port ?? 5432);
        const env = Object.fromEntries(((task.container.Environment ?? []) as Json[]).map((e) => [e.Name, String(e.Value)]));
        const problems: string[] = [];
        if (env.DB_HOST !== ctx.t.getAtt(c, 'Endpoint.Address')) problems.push(`DB_HOST ${env.DB_HOST} is not the writer endpoint of ${c}`);
        if (Number(env.DB_PORT) !== port) problems.push(`DB_PORT ${env.DB_PORT} is not the cluster port ${port}`);
        for (const from of task.endpoints) {
          for (const subnet of ctx.t.props(group).SubnetIds as string[]) {
            problems.push(...ctx.net.vpcProblems(from, { subnet, securityGroups: p.VpcSecurityGroupIds }, port).map((x) => `${from.subnet} → ${subnet}: ${x}`));
          }
        }
        return problems;
      }));
    },
  },
  {
    id: 'import-upload',
    title: 'Uploads: the upload command\'s encryption headers, no header (bucket default) and multipart parts pass the bucket policy; another key, aws:kms without a key, or SSE-S3 is refused',
    prove(ctx) {
      const t = ctx.t;
      const upload = Object.entries(t.raw.Outputs ?? {}).find(([id]) => /UploadCommand/.test(id));
      if (!upload) return ['no upload command in the outputs'];
      const command = String(t.resolve(upload[1].Value));
      return tasks(ctx).flatMap((task) => {
        const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(task.dumpUri ?? '');
        if (!m) return [`IMPORT_DUMP_URI ${task.dumpUri} is not an S3 URI`];
        const keyArn = /--sse-kms-key-id (\S+)/.exec(command)?.[1];
        const problems: string[] = [];
        if (!command.includes(`${task.dumpUri} --sse aws:kms`)) problems.push(`the upload command does not upload to ${task.dumpUri} with --sse aws:kms`);
        const bucketId = t.ofType('AWS::S3::Bucket').find((b) => t.ref(b) === m[1]);
        const encryption = bucketId ? t.props(bucketId).BucketEncryption : undefined;
        const sseDefault = encryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
        const bucketKey = sseDefault?.KMSMasterKeyID;
        if (!keyArn || keyArn !== bucketKey) problems.push(`the upload command names key ${keyArn}, the bucket encrypts with ${bucketKey}`);
        // Whoever uploads: an administrator of the account, allowed everything by IAM.
        const admin = { roleArn: `arn:aws:iam::${ACCOUNT}:role/admin`, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }] };
        const put = (headers: Record<string, string>) => ctx.iam.check({
          caller: admin, action: 's3:PutObject', resource: `arn:aws:s3:::${m[1]}/${m[2]}`, context: headers,
        });
        const sse = 's3:x-amz-server-side-encryption';
        const sseKey = 's3:x-amz-server-side-encryption-aws-kms-key-id';
        for (const [what, headers] of [['the command\'s headers', { [sse]: 'aws:kms', [sseKey]: keyArn ?? '' }], ['no encryption header (the bucket default; multipart parts)', {}]] as const) {
          const d = put(headers);
          if (!d.allowed) problems.push(`an upload with ${what} is refused: ${d.summary}`);
        }
        for (const [what, headers] of [
          ['another key', { [sse]: 'aws:kms', [sseKey]: `arn:aws:kms:${REGION}:${ACCOUNT}:key/other` }],
          ['aws:kms without a key (the AWS managed key)', { [sse]: 'aws:kms' }],
          ['SSE-S3', { [sse]: 'AES256' }],
        ] as const) {
          const d = put(headers);
          if (d.allowed) problems.push(`an upload with ${what} is accepted: ${d.summary}`);
        }
        return problems;
      });
    },
  },
  {
    id: 'import-least-privilege',
    title: 'The task role reads nothing but dumps: no object outside dumps/, no upload, no listing',
    prove(ctx) {
      return tasks(ctx).flatMap((task) => {
        const bucket = /^s3:\/\/([^/]+)\//.exec(task.dumpUri ?? '')?.[1];
        const calls = [
          { action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/other/secret.txt` },
          { action: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/dumps/dump.pgc` },
          { action: 's3:DeleteObject', resource: `arn:aws:s3:::${bucket}/dumps/dump.pgc` },
          { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` },
        ];
        return calls.map((c) => ctx.iam.check({ caller: { role: task.taskRole }, ...c }))
          .filter((d) => d.allowed).map((d) => `${d.summary}, but the import needs only to read dumps`);
      });
    },
  },
];

export const IMPORT_BEGIN = '<!-- import-paths-matrix:begin (generated from test/paths/lib/import-paths.ts; UPDATE_PATHS_MATRIX=1 npx jest test/paths/import-matrix) -->';
export const IMPORT_END = '<!-- import-paths-matrix:end -->';

/** The README's matrix of the data import's paths × modes. */
export function importMatrixMarkdown(): string {
  return [
    IMPORT_BEGIN,
    `| Data import path | ${IMPORT_MODES.map((m) => `\`${m.id}\``).join(' | ')} |`,
    `|---|${IMPORT_MODES.map(() => ':-:').join('|')}|`,
    ...IMPORT_PATHS.map((p) => `| ${p.title} | ${IMPORT_MODES.map(() => '✓').join(' | ')} |`),
    '',
    'Modes:',
    '',
    ...IMPORT_MODES.map((m) => `- \`${m.id}\`: ${m.description}`),
    IMPORT_END,
  ].join('\n');
}
