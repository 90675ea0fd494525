import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecr_assets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AuroraServerlessV2Db, ComputeType, EgressMode, FlaskDataImport, FlaskDataImportOptions, FlaskServerlessPlatform, FlaskServerlessVpc } from '../../src';

const env = { account: '111111111111', region: 'ap-southeast-1' };
const image = ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app'));

interface Built {
  readonly stack: Stack;
  readonly template: Template;
  readonly importer: FlaskDataImport;
  readonly database: AuroraServerlessV2Db;
}

interface Extra {
  readonly cluster?: boolean;
  readonly then?: (importer: FlaskDataImport, stack: Stack) => void;
}

function build(options: FlaskDataImportOptions = {}, extra: Extra = {}): Built {
  const stack = new Stack(new App(), 'Import', { env });
  const network = new FlaskServerlessVpc(stack, 'Network');
  const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
  const cluster = extra.cluster ? new ecs.Cluster(stack, 'Existing', { vpc: network.vpc }) : undefined;
  const importer = new FlaskDataImport(stack, 'Import', { vpc: network.vpc, vpcSubnets: network.appSubnets, database, image, cluster, ...options });
  extra.then?.(importer, stack);
  return { stack, template: Template.fromStack(stack), importer, database };
}

function container(template: Template): any {
  const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  expect(defs).toHaveLength(1);
  return (defs[0] as any).Properties.ContainerDefinitions[0];
}

function outputs(stack: Stack): Record<string, string> {
  const out = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;
  // Tokens rendered as their logical ids, so that a command reads as it would, with names in it.
  const render = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
    if (v.Ref) return `<${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
    return JSON.stringify(v);
  };
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k.replace(/^Import|[0-9A-F]{8}$/g, ''), render(v.Value)]));
}

describe('the dump bucket', () => {
  test('is encrypted with the database key (S3 Bucket Key), SSL-only on TLS 1.2+, private and owner-enforced', () => {
    const { stack, template, database } = build();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: stack.resolve(database.encryptionKey.keyArn) },
          BucketKeyEnabled: true,
        }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  test('a key passed in encrypts the dumps and the logs instead', () => {
    const stack = new Stack(new App(), 'Import', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
    const key = new kms.Key(stack, 'MyKey');
    new FlaskDataImport(stack, 'Import', { vpc: network.vpc, database, image, encryptionKey: key });
    const template = Template.fromStack(stack);
    const keyArn = stack.resolve(key.keyArn);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } })] },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn, RetentionInDays: 365 });
  });

  test('refuses uploads that ask for another encryption or another key', () => {
    const { stack, template, importer } = build();
    const keyArn = stack.resolve(importer.encryptionKey.keyArn);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:PutObject',
            Condition: { Null: { 's3:x-amz-server-side-encryption': 'false', 's3:x-amz-server-side-encryption-aws-kms-key-id': 'true' } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:PutObject',
            Condition: {
              Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
              StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn },
            },
          }),
        ]),
      },
    });
  });

  test('expires dumps after 7 days and aborts failed multipart uploads after a day', () => {
    build().template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [{ Id: 'ExpireDumps', Status: 'Enabled', ExpirationInDays: 7, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
      VersioningConfiguration: Match.absent(),
    });
  });

  test('expireDumpsAfter sets the expiry', () => {
    build({ expireDumpsAfter: Duration.days(2) }).template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 2 })] },
    });
  });

  test.each([
    [Duration.days(0), '0 days'],
    [Duration.hours(36), '1 day 12 hours'],
    [Duration.days(366), '366 days'],
  ])('expireDumpsAfter %s is rejected, naming the prop', (value, shown) => {
    expect(() => build({ expireDumpsAfter: value })).toThrow(`dataImport.expireDumpsAfter must be whole days from 1 to 365, got ${shown}.`);
  });

  test('versioned: noncurrent versions expire a day later, and expired delete markers are removed', () => {
    build({ versioned: true }).template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Id: 'ExpireDumps', ExpirationInDays: 7, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }),
          { Id: 'RemoveExpiredDeleteMarkers', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
        ],
      },
    });
  });

  test('is kept when it leaves the stack, by default', () => {
    build().template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('removalPolicy DESTROY deletes it only when empty: no custom resource empties it', () => {
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  test('server access logs go to accessLogsBucket when given', () => {
    const stack = new Stack(new App(), 'Import', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
    const logsBucket = new s3.Bucket(stack, 'AccessLogs');
    new FlaskDataImport(stack, 'Import', { vpc: network.vpc, database, image, accessLogsBucket: logsBucket });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: stack.resolve(logsBucket.bucketName), LogFilePrefix: 'dump-bucket/' },
    });
  });

  test('accessLogsPrefix without accessLogsBucket is rejected', () => {
    expect(() => build({ accessLogsPrefix: 'x/' })).toThrow('dataImport.accessLogsPrefix applies only with accessLogsBucket');
  });
});

describe('the import task', () => {
  test('is a Fargate task of 1 vCPU, 2 GiB and 50 GiB of ephemeral storage, on x86-64', () => {
    build().template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      Cpu: '1024',
      Memory: '2048',
      EphemeralStorage: { SizeInGiB: 50 },
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
  });

  test('cpu, memoryLimitMiB and ephemeralStorage size it', () => {
    build({ cpu: 2048, memoryLimitMiB: 4096, ephemeralStorage: Size.gibibytes(120) }).template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '2048', Memory: '4096', EphemeralStorage: { SizeInGiB: 120 },
    });
  });

  test.each([
    [{ cpu: 300 }, 'dataImport.cpu must be one of the Fargate CPU sizes'],
    [{ cpu: 1024, memoryLimitMiB: 512 }, 'dataImport.memoryLimitMiB 512 is not valid with cpu 1024'],
    [{ ephemeralStorage: Size.gibibytes(20) }, 'dataImport.ephemeralStorage must be whole GiB from 21 to 200 (Fargate\'s limits), got 20 GiB.'],
    [{ ephemeralStorage: Size.gibibytes(201) }, 'dataImport.ephemeralStorage must be whole GiB from 21 to 200 (Fargate\'s limits), got 201 GiB.'],
    [{ migrationsTable: 'schema migrations' }, 'dataImport.migrationsTable must be a table name'],
    [{ containerUser: 'root' }, 'dataImport.containerUser must not be root'],
    [{ containerUser: '0:0' }, 'dataImport.containerUser must not be root'],
    [{ schema: 'App' }, 'dataImport.schema must be 1 to 63 lowercase letters'],
  ] as [FlaskDataImportOptions, string][])('%j is rejected', (options, message) => {
    expect(() => build(options)).toThrow(message);
  });

  test('the environment follows the import contract: connection settings, the app role, schema and jobs', () => {
    const { stack, template, database } = build({ migrationsTable: 'alembic_version' });
    const env_ = Object.fromEntries((container(template).Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    expect(env_).toEqual({
      DB_HOST: stack.resolve(database.endpointAddress),
      DB_PORT: stack.resolve(String(database.port)),
      DB_NAME: 'app',
      DB_SSLMODE: 'verify-full',
      DB_USER: 'flask_app',
      DB_SCHEMA: 'app',
      IMPORT_MIGRATIONS_TABLE: 'alembic_version',
      AWS_REGION: { Ref: 'AWS::Region' },
    });
  });

  test('the master credentials come from the database secret, injected by ECS, never as plain values', () => {
    const { stack, template, database } = build();
    const secretArn = stack.resolve(database.secret.secretArn);
    expect(container(template).Secrets).toEqual([
      { Name: 'DB_ADMIN_USER', ValueFrom: { 'Fn::Join': ['', [secretArn, ':username::']] } },
      { Name: 'DB_ADMIN_PASSWORD', ValueFrom: { 'Fn::Join': ['', [secretArn, ':password::']] } },
    ]);
  });

  test('without an app role it is refused at synth, naming appUsername', () => {
    const stack = new Stack(new App(), 'Import', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets, iamAuthentication: false });
    expect(() => new FlaskDataImport(stack, 'Import', { vpc: network.vpc, database, image })).toThrow(/needs a database with its app role \(appUsername/);
  });

  test('runs as containerUser, logging (blocking) to its encrypted log group', () => {
    const { stack, template, importer } = build({ containerUser: '10001' });
    const c = container(template);
    expect(c.User).toBe('10001');
    expect(c.Essential).toBe(true);
    expect(c.Command).toBeUndefined();
    expect(c.LogConfiguration).toEqual({
      LogDriver: 'awslogs',
      Options: { 'awslogs-group': stack.resolve(importer.logGroup.logGroupName), 'awslogs-stream-prefix': 'import', 'awslogs-region': 'ap-southeast-1', 'mode': 'blocking' },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: stack.resolve(importer.encryptionKey.keyArn) });
  });

  test('by default runs the package\'s import image, built for linux/amd64, as its unprivileged user', () => {
    const stack = new Stack(new App(), 'Import', { env });
    const network = new FlaskServerlessVpc(stack, 'Network');
    const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
    const importer = new FlaskDataImport(stack, 'Import', { vpc: network.vpc, database });
    const asset = importer.node.findAll().find((c): c is ecr_assets.DockerImageAsset => c instanceof ecr_assets.DockerImageAsset)!;
    expect(asset).toBeDefined();
    const artifact = App.of(stack)!.synth().getStackByName(stack.stackName);
    const manifest = JSON.parse(fs.readFileSync(path.join(artifact.assembly.directory, `${stack.stackName}.assets.json`), 'utf-8'));
    const built = manifest.dockerImages[asset.assetHash];
    expect(built.source.directory).toBe(`asset.${asset.assetHash}`);
    expect(built.source.platform).toBe('linux/amd64');
    expect(fs.existsSync(path.join(artifact.assembly.directory, built.source.directory, 'Dockerfile'))).toBe(true);
    const c = container(Template.fromStack(stack));
    expect(c.Command).toEqual(['python3', '/opt/data-import/import.py']);
    expect(c.User).toBe('postgres');
  });

  test('with your own image and no containerUser, the image\'s USER applies', () => {
    expect(container(build().template).User).toBeUndefined();
  });

  test('logRetention sets the log group\'s retention', () => {
    build({ logRetention: logs.RetentionDays.ONE_MONTH }).template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('the task role may only read dumps under dumps/ and decrypt them through S3', () => {
    const { stack, template, importer } = build();
    const roleRef = stack.resolve((importer.taskDefinition.taskRole.node.defaultChild as iam.CfnRole).ref);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]));
    expect(policies).toHaveLength(1);
    expect((policies[0] as any).Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [stack.resolve(importer.bucket.bucketArn), '/dumps/*']] } },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: stack.resolve(importer.encryptionKey.keyArn),
        Condition: { StringEquals: { 'kms:ViaService': 's3.ap-southeast-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': stack.resolve(importer.bucket.bucketArn) } },
      },
    ]);
  });

  test('ECS may assume the task role only for tasks of this account and region', () => {
    const { stack, template, importer } = build();
    const roleId = stack.getLogicalId(importer.taskDefinition.taskRole.node.defaultChild as iam.CfnRole);
    expect(template.toJSON().Resources[roleId].Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': '111111111111' },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecs:ap-southeast-1:111111111111:*']] } },
    });
  });

  test('its security group sends HTTPS and the database port only, and the database admits it on its port', () => {
    const { stack, template, importer, database } = build();
    const sgId = stack.resolve(importer.securityGroup.securityGroupId);
    const sgLogicalId = sgId['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[sgLogicalId].Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'HTTPS to AWS APIs and the image registry', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    expect(template.toJSON().Resources[sgLogicalId].Properties.SecurityGroupIngress).toBeUndefined();
    const dbSg = stack.resolve(database.connections.securityGroups[0].securityGroupId);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { GroupId: sgId, DestinationSecurityGroupId: dbSg, FromPort: 5432, ToPort: 5432 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: dbSg, SourceSecurityGroupId: sgId, FromPort: 5432, ToPort: 5432 });
  });

  test('gets a cluster of its own, without Container Insights, unless one is given', () => {
    const own = build();
    own.template.resourceCountIs('AWS::ECS::Cluster', 1);
    own.template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }] });
    const given = build({}, { cluster: true });
    given.template.resourceCountIs('AWS::ECS::Cluster', 1);
    expect(given.importer.cluster.node.path).toBe('Import/Existing');
  });

  test('grantUpload lets a principal put dumps under dumps/ with the key, through S3', () => {
    let role: iam.Role | undefined;
    const { stack, template, importer } = build({}, {
      then: (i, s) => {
        role = new iam.Role(s, 'Uploader', { assumedBy: new iam.AccountRootPrincipal() });
        i.grantUpload(role);
      },
    });
    const roleRef = stack.resolve((role!.node.defaultChild as iam.CfnRole).ref);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:PutObject', 's3:AbortMultipartUpload', 'kms:GenerateDataKey*']));
    expect(actions).not.toContain('s3:GetObject');
    expect(statements.find((s: any) => [s.Action].flat().includes('s3:PutObject')).Resource)
      .toEqual({ 'Fn::Join': ['', [stack.resolve(importer.bucket.bucketArn), '/dumps/*']] });
  });
});

describe('the stack outputs', () => {
  test('give the dump, manifest, upload, run, logs and result commands', () => {
    const { stack } = build();
    const o = outputs(stack);
    expect(Object.keys(o).sort()).toEqual(['DumpBucketName', 'DumpCommand', 'LogsCommand', 'ManifestCommand', 'ResultCommand', 'RunTaskCommand', 'UploadCommand']);
    expect(o.DumpCommand).toBe('pg_dump -Fc --dbname="$SOURCE_DATABASE_URL" -f dump.pgc');
    expect(o.ManifestCommand).toBe('python3 make-manifest.py --dbname "$SOURCE_DATABASE_URL" --output dump.pgc.manifest.json');
    expect(o.UploadCommand).toMatch(/^aws s3 cp dump\.pgc s3:\/\/<ImportDumps[0-9A-F]+>\/dumps\/dump\.pgc --sse aws:kms --sse-kms-key-id <DbKey[0-9A-F]+\.Arn> --region <AWS::Region> && aws s3 cp dump\.pgc\.manifest\.json s3:\/\/<ImportDumps[0-9A-F]+>\/dumps\/dump\.pgc\.manifest\.json --sse aws:kms/);
    expect(o.ResultCommand).toMatch(/^aws ecs wait tasks-stopped --region <AWS::Region> --cluster <ImportCluster[0-9A-F]+> --tasks "\$TASK"; aws ecs describe-tasks .* --query 'tasks\[0\]\.\[containers\[0\]\.exitCode,stoppedReason\]' --output text$/);
    expect(o.LogsCommand).toMatch(/^aws logs tail <ImportLogs[0-9A-F]+> --region <AWS::Region> --follow --log-stream-name-prefix import\/Import\/$/);
  });

  test('the run-task command names the cluster, the task definition, the app subnets and the task\'s security group', () => {
    const { stack, importer } = build();
    const run = outputs(stack).RunTaskCommand;
    const subnets = importer.subnets.subnetIds.map((s) => `<${stack.resolve(s).Ref}>`).join(',');
    expect(importer.subnets.subnetIds).toHaveLength(2);
    expect(run).toContain(`--cluster <${stack.resolve(importer.cluster.clusterName).Ref}>`);
    expect(run).toContain(`--task-definition ${importer.taskDefinition.family} --launch-type FARGATE`);
    expect(run).toContain(`--network-configuration 'awsvpcConfiguration={subnets=[${subnets}],securityGroups=[<${stack.resolve(importer.securityGroup.securityGroupId)['Fn::GetAtt'].join('.')}>],assignPublicIp=DISABLED}'`);
    expect(run).toMatch(/--overrides '\{"containerOverrides":\[\{"name":"Import","environment":\[\{"name":"IMPORT_DUMP_URI","value":"s3:\/\/<ImportDumps[0-9A-F]+>\/dumps\/dump\.pgc"\}\]\}\]\}'/);
    expect(run).toMatch(/^TASK=\$\(aws ecs run-task --region <AWS::Region> .* --query 'tasks\[0\]\.taskArn' --output text\) && echo \$TASK$/);
    expect(importer.subnets.subnetIds.every((s) => stack.resolve(s).Ref.startsWith('NetworkVpcAppSubnet'))).toBe(true);
  });

  test('the overrides are valid JSON naming the task\'s container', () => {
    const { importer } = build();
    const run = importer.runTaskCommand('my.pgc');
    const overrides = JSON.parse(/--overrides '([^']+)'/.exec(run)![1].replace(/\$\{Token\[[^\]]+\]\}/g, 'bucket'));
    expect(overrides.containerOverrides[0].name).toBe(importer.container.containerName);
    expect(overrides.containerOverrides[0].environment).toEqual([{ name: 'IMPORT_DUMP_URI', value: 's3://bucket/dumps/my.pgc' }]);
  });
});

describe('in the platform', () => {
  function platform(props: Partial<ConstructorParameters<typeof FlaskServerlessPlatform>[2]> = {}): { stack: Stack; p: FlaskServerlessPlatform } {
    const stack = new Stack(new App(), 'Platform', { env });
    const p = new FlaskServerlessPlatform(stack, 'P', { image, ...props });
    return { stack, p };
  }

  test('is off unless dataImport is set', () => {
    const { stack, p } = platform();
    expect(p.dataImport).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::S3::Bucket', 0);
  });

  test('dataImport adds it with the platform key, the service\'s cluster and the app subnets', () => {
    const { stack, p } = platform({ dataImport: { image, expireDumpsAfter: Duration.days(3) } });
    const di = p.dataImport!;
    expect(di.encryptionKey).toBe(p.encryptionKey);
    expect(di.cluster).toBe(p.service!.cluster);
    expect(di.assignPublicIp).toBe(false);
    const refs = (ids: string[]) => ids.map((s) => stack.resolve(s).Ref);
    expect(refs(di.subnets.subnetIds)).toEqual(refs(p.network!.vpc.selectSubnets(p.network!.appSubnets).subnetIds));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 3 })] } });
  });

  test('with PUBLIC_SUBNETS egress, the run-task command gives the task a public IP', () => {
    const { p } = platform({ network: { egress: EgressMode.PUBLIC_SUBNETS }, dataImport: { image } });
    expect(p.dataImport!.assignPublicIp).toBe(true);
    expect(p.dataImport!.runTaskCommand()).toContain('assignPublicIp=ENABLED');
  });

  test('an egress mode that gives a Fargate task no way to AWS APIs is refused at synth', () => {
    expect(() => platform({ network: { egress: 'NO_EGRESS' as EgressMode }, dataImport: { image } })).toThrow(
      'dataImport needs the app subnets to reach ECR, S3, CloudWatch Logs and Secrets Manager, which network.egress NO_EGRESS does not give a Fargate task; '
      + 'choose NAT_GATEWAY, NAT_INSTANCE, VPC_ENDPOINTS, PUBLIC_SUBNETS, or remove dataImport.');
  });

  test('on Lambda compute, whose network has no egress by default, it is refused at synth', () => {
    const stack = new Stack(new App(), 'Platform', { env });
    const functionCode = lambda.DockerImageCode.fromEcr(ecr.Repository.fromRepositoryName(stack, 'Repo', 'flask-app'));
    expect(() => new FlaskServerlessPlatform(stack, 'P', { compute: ComputeType.LAMBDA, functionCode, dataImport: { image } }))
      .toThrow(/dataImport needs the app subnets to reach ECR, S3, CloudWatch Logs and Secrets Manager, which network.egress NONE does not give a Fargate task/);
  });

  test('without the app role (service.databaseAppRole: false) it is refused at synth', () => {
    expect(() => platform({ service: { databaseAppRole: false }, dataImport: { image } })).toThrow(/service.databaseAppRole: false never creates/);
  });

  test('an existing VPC with public app subnets: the task gets a public IP as the service does', () => {
    const stack = new Stack(new App(), 'Platform', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const p = new FlaskServerlessPlatform(stack, 'P', {
      image, vpc, appSubnets: { subnetType: ec2.SubnetType.PUBLIC }, service: { assignPublicIp: true }, dataImport: { image },
    });
    expect(p.dataImport!.assignPublicIp).toBe(true);
  });

  test('an existing VPC works: the task goes in appSubnets', () => {
    const stack = new Stack(new App(), 'Platform', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const p = new FlaskServerlessPlatform(stack, 'P', { image, vpc, dataImport: { image } });
    expect(p.dataImport!.subnets.subnetIds.map((s) => stack.resolve(s).Ref)).toEqual(vpc.privateSubnets.map((s) => stack.resolve(s.subnetId).Ref));
  });
});
