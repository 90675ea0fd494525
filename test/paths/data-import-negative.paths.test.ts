import { CfnTemplate, Json } from './lib/cfn';
import { IMPORT_MODES, IMPORT_PATHS } from './lib/import-paths';
import { contextOf, templateOf } from './lib/synth';

/*
 * Each data-import proof shown able to fail: a passing mode's template is broken in one place, the
 * way a regression would break it, and the proof must name the break.
 */

function prove(pathId: string, modeId: string, mutate: (raw: CfnTemplate) => void): string {
  const mode = IMPORT_MODES.find((m) => m.id === modeId)!;
  const raw = JSON.parse(JSON.stringify(templateOf(mode))) as CfnTemplate;
  mutate(raw);
  return IMPORT_PATHS.find((p) => p.id === pathId)!.prove(contextOf(mode, raw)).join('\n');
}

function ids(raw: CfnTemplate, type: string, match: (props: Json, id: string) => boolean = () => true): string[] {
  return Object.entries(raw.Resources).filter(([id, r]) => r.Type === type && match(r.Properties ?? {}, id)).map(([id]) => id);
}

/** The import task role's policy (the one that grants s3:GetObject). */
function taskPolicy(raw: CfnTemplate): Json {
  const [id] = ids(raw, 'AWS::IAM::Policy', (p) => JSON.stringify(p).includes('s3:GetObject'));
  return raw.Resources[id].Properties;
}

function importSgId(raw: CfnTemplate): string {
  return ids(raw, 'AWS::EC2::SecurityGroup', (_p, id) => id.includes('DataImportSecurityGroup'))[0];
}

function runTaskOutput(raw: CfnTemplate): Json {
  return Object.entries(raw.Outputs ?? {}).find(([id]) => id.includes('RunTaskCommand'))![1];
}

test('without the kms:Decrypt statement the task cannot read the dump', () => {
  const problems = prove('import-dump-read', 'nat-gateway', (raw) => {
    const doc = taskPolicy(raw).PolicyDocument;
    doc.Statement = doc.Statement.filter((s: Json) => ![s.Action].flat().includes('kms:Decrypt'));
  });
  expect(problems).toMatch(/kms:Decrypt on arn:aws:kms:.*: ImplicitlyDenied/);
});

test('a kms:ViaService for another service denies the decrypt through S3', () => {
  const problems = prove('import-dump-read', 'nat-gateway', (raw) => {
    for (const s of taskPolicy(raw).PolicyDocument.Statement) {
      if (s.Condition?.StringEquals?.['kms:ViaService']) s.Condition.StringEquals['kms:ViaService'] = 'secretsmanager.ap-southeast-1.amazonaws.com';
    }
  });
  expect(problems).toMatch(/kms:Decrypt on arn:aws:kms:.*: ImplicitlyDenied/);
});

test('a bucket policy that denies the task role is read (the dump read fails)', () => {
  const problems = prove('import-dump-read', 'nat-gateway', (raw) => {
    const [policy] = ids(raw, 'AWS::S3::BucketPolicy');
    raw.Resources[policy].Properties!.PolicyDocument.Statement.push({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: '*' });
  });
  expect(problems).toMatch(/s3:GetObject on arn:aws:s3:::.*\/dumps\/dump\.pgc: ExplicitlyDenied/);
});

test('a grant on every object of the bucket breaks least privilege', () => {
  const problems = prove('import-least-privilege', 'nat-gateway', (raw) => {
    for (const s of taskPolicy(raw).PolicyDocument.Statement) {
      if (s.Action === 's3:GetObject') s.Resource = { 'Fn::Join': ['', [s.Resource['Fn::Join'][1][0], '/*']] };
    }
  });
  expect(problems).toMatch(/s3:GetObject on arn:aws:s3:::.*\/other\/secret\.txt: Allowed/);
});

test('without the database\'s ingress rule for the task, the task cannot reach Aurora', () => {
  const problems = prove('import-database', 'nat-gateway', (raw) => {
    const sg = importSgId(raw);
    for (const id of ids(raw, 'AWS::EC2::SecurityGroupIngress', (p) => p.SourceSecurityGroupId?.['Fn::GetAtt']?.[0] === sg)) delete raw.Resources[id];
  });
  expect(problems).toMatch(/inbound: no ingress rule .* admits tcp\/5432/);
});

test('without the S3 gateway endpoint, VPC endpoints egress has no way to the dump or the image layers', () => {
  const mutate = (raw: CfnTemplate) => {
    for (const id of ids(raw, 'AWS::EC2::VPCEndpoint', (p) => JSON.stringify(p.ServiceName).includes('.s3'))) delete raw.Resources[id];
  };
  expect(prove('import-dump-read', 'vpc-endpoints', mutate)).toMatch(/s3 \(no endpoint, over the internet\).*no default route/);
  expect(prove('import-image-pull', 'vpc-endpoints', mutate)).toMatch(/s3 \(no endpoint, over the internet\)/);
});

test('without the Secrets Manager endpoint, the master secret is out of reach with VPC endpoints egress', () => {
  const problems = prove('import-secret', 'vpc-endpoints', (raw) => {
    for (const id of ids(raw, 'AWS::EC2::VPCEndpoint', (p) => JSON.stringify(p.ServiceName).includes('secretsmanager'))) delete raw.Resources[id];
  });
  expect(problems).toMatch(/secretsmanager \(no endpoint, over the internet\)/);
});

test('in public subnets, a run-task command without a public IP reaches no AWS API', () => {
  const problems = prove('import-image-pull', 'public-subnets', (raw) => {
    const o = runTaskOutput(raw);
    o.Value['Fn::Join'][1] = o.Value['Fn::Join'][1].map((p: Json) => (typeof p === 'string' ? p.replace('assignPublicIp=ENABLED', 'assignPublicIp=DISABLED') : p));
  });
  expect(problems).toMatch(/routes straight to the internet gateway; the caller would need its own public IP/);
});

test('the master password taken from the wrong field of the secret is caught', () => {
  const problems = prove('import-secret', 'parts', (raw) => {
    const [td] = ids(raw, 'AWS::ECS::TaskDefinition', (p) => JSON.stringify(p).includes('DB_ADMIN_PASSWORD'));
    const secret = raw.Resources[td].Properties!.ContainerDefinitions[0].Secrets.find((s: Json) => s.Name === 'DB_ADMIN_PASSWORD');
    secret.ValueFrom['Fn::Join'][1][1] = ':username::';
  });
  expect(problems).toMatch(/DB_ADMIN_PASSWORD comes from the field 'username'/);
});

test('a run-task command naming a task definition the template lacks is caught', () => {
  expect(() => prove('import-command', 'nat-gateway', (raw) => {
    const o = runTaskOutput(raw);
    o.Value['Fn::Join'][1] = o.Value['Fn::Join'][1].map((p: Json) => (typeof p === 'string' ? p.replace(/--task-definition \S+/, '--task-definition Other') : p));
  })).toThrow('names task definition Other, which the template does not define');
});

test('a key condition that also holds without the header (IfExists) refuses multipart parts and default-encrypted uploads', () => {
  const problems = prove('import-upload', 'nat-gateway', (raw) => {
    const [policy] = ids(raw, 'AWS::S3::BucketPolicy');
    for (const s of raw.Resources[policy].Properties!.PolicyDocument.Statement) {
      if (s.Sid === 'DenyOtherKeys') s.Condition = { StringNotEqualsIfExists: s.Condition.StringNotEquals };
    }
  });
  expect(problems).toMatch(/an upload with no encryption header \(the bucket default; multipart parts\) is refused: .*ExplicitlyDenied/);
});

test('without the statement that requires a key ID, aws:kms alone (the AWS managed key) gets through', () => {
  const problems = prove('import-upload', 'nat-gateway', (raw) => {
    const [policy] = ids(raw, 'AWS::S3::BucketPolicy');
    const doc = raw.Resources[policy].Properties!.PolicyDocument;
    doc.Statement = doc.Statement.filter((s: Json) => s.Sid !== 'DenyOtherEncryption');
  });
  expect(problems).toMatch(/an upload with aws:kms without a key \(the AWS managed key\) is accepted/);
});
