import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FlaskServerlessPlatform } from '../../src';

// A new logical id is a new resource: CloudFormation creates it and deletes the old one. For the
// resources below that means an empty database, a new password, an unreadable backup (its key
// gone), a new API key value or a lost log history. Their ids must not change by accident: this
// test fails on any change, so that a change to them is a decision, written in the release notes
// together with what users must do (README, "Changes that replace your database").

function statefulIds(): Record<string, string[]> {
  const stack = new Stack(new App(), 'MyApp', { env: { account: '111111111111', region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(stack, 'App', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim') });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties?: any }>;
  const ids: Record<string, string[]> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (['AWS::RDS::DBCluster', 'AWS::SecretsManager::Secret', 'AWS::KMS::Key', 'AWS::ApiGateway::ApiKey', 'Custom::FlaskSecureStringParameter'].includes(r.Type)) {
      (ids[r.Type] ??= []).push(r.Type === 'AWS::ApiGateway::ApiKey' ? `${id} named ${r.Properties.Name}` : id);
    }
  }
  for (const list of Object.values(ids)) list.sort();
  return ids;
}

test('stateful resources and API keys keep their logical ids and names', () => {
  expect(statefulIds()).toEqual({
    'AWS::RDS::DBCluster': ['AppDatabaseCluster3CB22DFE'],
    'AWS::SecretsManager::Secret': ['MyAppDatabaseClusterSecret01A2EDE63fdaad7efa858a3daf9490cf0a702aeb'],
    // One platform key (before the first release the platform had one key per part).
    'AWS::KMS::Key': ['AppKey06B23A3B'],
    'AWS::ApiGateway::ApiKey': ['AppApiApiKeyDefaultB99A34CF named MyApp-Api-E10AA94C-default'],
    'Custom::FlaskSecureStringParameter': ['AppServiceGeneratedSecretsSecureStringJWTSECRET7ED74EFA'],
  });
});
