import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AuroraServerlessV2Db, AuroraServerlessV2DbOptions } from '../../src/database';

function synth(props: AuroraServerlessV2DbOptions): Template {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  new AuroraServerlessV2Db(stack, 'Db', { vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 }), ...props });
  return Template.fromStack(stack);
}

describe('database.awsBackup', () => {
  test('off by default: no backup plan', () => {
    synth({}).resourceCountIs('AWS::Backup::BackupPlan', 0);
  });

  test('a vault encrypted with the database key, a daily rule kept awsBackupRetention, the cluster selected', () => {
    const template = synth({ awsBackup: true, awsBackupRetention: Duration.days(90) });
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const plan = Object.values(template.findResources('AWS::Backup::BackupPlan'))[0];
    expect(plan.Properties.BackupPlan.BackupPlanRule).toEqual([expect.objectContaining({ RuleName: 'Daily', Lifecycle: { DeleteAfterDays: 90 } })]);
    const clusterId = Object.keys(template.findResources('AWS::RDS::DBCluster'))[0];
    const selection = Object.values(template.findResources('AWS::Backup::BackupSelection'))[0];
    expect(JSON.stringify(selection.Properties.BackupSelection.Resources)).toContain(clusterId);
  });

  test('the vault is retained with the data, deleted with removalPolicy DESTROY', () => {
    const vault = (t: Template) => Object.values(t.findResources('AWS::Backup::BackupVault'))[0];
    expect(vault(synth({ awsBackup: true })).DeletionPolicy).toBe('Retain');
    expect(vault(synth({ awsBackup: true, removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false })).DeletionPolicy).toBe('Delete');
  });

  test('rejects awsBackupRetention without awsBackup, and outside whole days', () => {
    expect(() => synth({ awsBackupRetention: Duration.days(30) })).toThrow(/database.awsBackupRetention applies only with awsBackup/);
    expect(() => synth({ awsBackup: true, awsBackupRetention: Duration.hours(30) })).toThrow(/database.awsBackupRetention/);
  });
});

test('the plan and the vault have names of their own, unique per stack (not the shared default "BackupPlan")', () => {
  const names = (stackName: string) => {
    const stack = new Stack(new App(), stackName, { env: { region: 'ap-southeast-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new AuroraServerlessV2Db(stack, 'Db', { vpc, awsBackup: true });
    const t = Template.fromStack(stack);
    const plan = Object.values(t.findResources('AWS::Backup::BackupPlan'))[0].Properties.BackupPlan.BackupPlanName;
    const vault = Object.values(t.findResources('AWS::Backup::BackupVault'))[0].Properties.BackupVaultName;
    return { plan: JSON.stringify(plan), vault: JSON.stringify(vault) };
  };
  const a = names('A');
  expect(a.plan).not.toBe('"BackupPlan"');
  // The stack's own ID is part of both: two stacks, or a stack created again, never collide.
  expect(a.plan).toContain('AWS::StackId');
  expect(a.vault).toContain('AWS::StackId');
  expect(a.plan).toContain('-plan-');
  expect(a.vault).toContain('-vault-');
});
