import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AuroraServerlessV2Db, FlaskDatabaseGrants } from '../../src';

function setup(props: { appUsername?: string; iamAuthentication?: boolean } = {}) {
  const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'ap-southeast-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const db = new AuroraServerlessV2Db(stack, 'Db', { vpc, ...props });
  return { stack, db };
}

describe('the app database user', () => {
  test('defaults to flask_app with IAM authentication', () => {
    expect(setup().db.appUsername).toBe('flask_app');
  });

  test('is absent without IAM authentication', () => {
    expect(setup({ iamAuthentication: false }).db.appUsername).toBeUndefined();
  });

  test('rejects appUsername without IAM authentication, equal to the master user, or reserved', () => {
    expect(() => setup({ iamAuthentication: false, appUsername: 'app' })).toThrow(/database.appUsername needs IAM database authentication/);
    expect(() => setup({ appUsername: 'flask' })).toThrow(/database.appUsername must differ from database.username/);
    expect(() => setup({ appUsername: 'rds_app' })).toThrow(/database.appUsername/);
  });

  test('grantAppConnect allows rds-db:connect as the app user on this cluster only', () => {
    const { stack, db } = setup();
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    FlaskDatabaseGrants.grantAppConnect(db, role);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('rds-db:connect');
    const arn = JSON.stringify(statements[0].Resource);
    expect(arn).toContain(':rds-db:');
    expect(arn).toContain('DBClusterResourceId');
    expect(arn).toContain('/flask_app');
  });

  test('grantAppConnect refuses a database without an app user', () => {
    const { stack, db } = setup({ iamAuthentication: false });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => FlaskDatabaseGrants.grantAppConnect(db, role)).toThrow(/appUsername and clusterResourceId/);
  });
});
