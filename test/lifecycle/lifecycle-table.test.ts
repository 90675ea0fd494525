import * as fs from 'fs';
import * as path from 'path';
import { classify, Effect, lifecycleRows, readmeSection, renderTable } from '../../scripts/lifecycle-table';

// The lifecycle table is derived from CloudFormation's resource specification; these tests keep
// the derivation honest on small templates, and the published table equal to what it derives.

const ROOT = path.join(__dirname, '..', '..');

describe('classify: what CloudFormation does with a changed template', () => {
  const key = { Type: 'AWS::KMS::Key', Properties: { Description: 'db' } };
  const cluster = (props: object) => ({ Type: 'AWS::RDS::DBCluster', Properties: { KmsKeyId: { 'Fn::GetAtt': ['Key', 'Arn'] }, DatabaseName: 'app', BackupRetentionPeriod: 7, ...props } });

  test('a property the specification marks as replacing (DatabaseName) replaces stateful data', () => {
    const result = classify({ Key: key, Db: cluster({}) }, { Key: key, Db: cluster({ DatabaseName: 'todo' }) });
    expect(result).toEqual({ effect: Effect.REPLACES_STATEFUL, replaced: ['AWS::RDS::DBCluster (Db)'] });
  });

  test('a property Aurora updates (BackupRetentionPeriod) is in place', () => {
    expect(classify({ Db: cluster({}) }, { Db: cluster({ BackupRetentionPeriod: 14 }) }).effect).toBe(Effect.IN_PLACE);
  });

  test('a resource that names a replaced one in a replacing property is replaced too', () => {
    const before = { Key: key, Db: cluster({}) };
    const after = { Key2: key, Db: cluster({ KmsKeyId: { 'Fn::GetAtt': ['Key2', 'Arn'] } }) };
    expect(classify(before, after).replaced).toEqual(['AWS::KMS::Key (Key)', 'AWS::RDS::DBCluster (Db)']);
    // A secret replaced under the same logical id (a new Name) takes the cluster that reads it along.
    const secret = (name: string) => ({ Type: 'AWS::SecretsManager::Secret', Properties: { Name: name } });
    const reader = { Type: 'AWS::RDS::DBCluster', Properties: { DatabaseName: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'Secret' }, '}}']] } } };
    expect(classify({ Secret: secret('a'), Db: reader }, { Secret: secret('b'), Db: reader }).replaced)
      .toEqual(['AWS::RDS::DBCluster (Db)', 'AWS::SecretsManager::Secret (Secret)']);
  });

  test('a new task definition alone rolls the tasks', () => {
    const taskDefinition = (image: string) => ({ Type: 'AWS::ECS::TaskDefinition', Properties: { ContainerDefinitions: [{ Image: image }] } });
    expect(classify({ Td: taskDefinition('a') }, { Td: taskDefinition('b') })).toEqual({ effect: Effect.ROLLS_TASKS, replaced: ['AWS::ECS::TaskDefinition (Td)'] });
  });
});

describe('the published lifecycle table', () => {
  test('README and docs/lifecycle.md show what the platform does now (regenerate: npx projen docs:lifecycle)', () => {
    const table = renderTable(lifecycleRows());
    expect(readmeSection(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))).toEqual(table);
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'lifecycle.md'), 'utf8')).toContain(table);
    // What the README's "Changes that replace your database" names, derived again here.
    for (const prop of ['database.databaseName', 'database.username', 'database.encryptionKey']) {
      expect(table).toMatch(new RegExp(`\\| \`${prop.replace('.', '\\.')}\` \\| replaces stateful data \\| .*\\*\\*AWS::RDS::DBCluster\\*\\*`));
    }
  }, 20 * 60_000);
});
