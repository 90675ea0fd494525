import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import { FlaskServerlessPlatform, FlaskServerlessPlatformProps } from '../../src';

const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim');

function synth(props: Partial<FlaskServerlessPlatformProps> = {}, addKey = false) {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  const own = addKey ? new kms.Key(stack, 'Own') : undefined;
  const platform = new FlaskServerlessPlatform(stack, 'P', { image, ...props, ...(own && props.encryptionKey === undefined && !props.database ? { encryptionKey: own } : {}) });
  return { platform, template: Template.fromStack(stack), own };
}

/** Logical ids of the keys that log groups, the alarm topic and the database use. */
function keysInUse(template: Template): Set<string> {
  const ids = new Set<string>();
  const ref = (v: any) => v?.['Fn::GetAtt']?.[0] ?? v?.Ref;
  for (const r of Object.values(template.findResources('AWS::Logs::LogGroup'))) ids.add(ref(r.Properties.KmsKeyId));
  for (const r of Object.values(template.findResources('AWS::SNS::Topic'))) ids.add(ref(r.Properties.KmsMasterKeyId));
  for (const r of Object.values(template.findResources('AWS::RDS::DBCluster'))) ids.add(ref(r.Properties.KmsKeyId));
  return ids;
}

describe('one platform key', () => {
  const { template } = synth();

  test('the platform creates one customer-managed key, used by every log group, the topic and the database', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    expect([...keysInUse(template)]).toEqual([keyId]);
  });

  test('the key policy admits each service once, scoped as before', () => {
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    const statements: any[] = key.Properties.KeyPolicy.Statement;
    const logs = statements.filter((s) => JSON.stringify(s.Principal).includes('logs.ap-southeast-1.amazonaws.com'));
    expect(logs).toHaveLength(1);
    expect(logs[0].Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toBeDefined();
    const alarms = statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(alarms).toHaveLength(1);
    // As the SNS guide documents it: who may publish is the topic policy's decision.
    expect(alarms[0].Condition).toBeUndefined();
    expect(statements.filter((s) => s.Effect === 'Deny' && s.Action === 'kms:CreateGrant')).toHaveLength(1);
  });

  test('the key is retained with the data, as the database key was', () => {
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.EnableKeyRotation).toBe(true);
  });
});

test('the key is deleted with a database whose removalPolicy is DESTROY', () => {
  const { template } = synth({ database: { removalPolicy: RemovalPolicy.DESTROY } });
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  expect(key.DeletionPolicy).toBe('Delete');
  expect(key.Properties.PendingWindowInDays).toBe(7);
});

test('encryptionKey replaces the platform key everywhere', () => {
  const { template, platform, own } = synth({}, true);
  template.resourceCountIs('AWS::KMS::Key', 1);
  expect(platform.encryptionKey).toBe(own);
  const [ownId] = Object.keys(template.findResources('AWS::KMS::Key'));
  expect([...keysInUse(template)]).toEqual([ownId]);
});

test('a key set in a group wins for that part only', () => {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  const dbKey = new kms.Key(stack, 'DbKey');
  new FlaskServerlessPlatform(stack, 'P', { image, database: { encryptionKey: dbKey } });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::KMS::Key', 2);
  const cluster = Object.values(template.findResources('AWS::RDS::DBCluster'))[0];
  expect(cluster.Properties.KmsKeyId['Fn::GetAtt'][0]).toMatch(/^DbKey/);
  expect(keysInUse(template).size).toBe(2);
});
