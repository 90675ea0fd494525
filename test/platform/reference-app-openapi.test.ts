import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FlaskServerlessPlatform } from '../../src';

const flaskApp = path.join(__dirname, '..', '..', 'examples', 'flask-app');

// The reference app's own contract drives the API routes: only its operations exist, keyed and validated.
test('the reference app\'s docs/openapi.yaml yields exactly its nine operations, each keyed and validated', () => {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  new FlaskServerlessPlatform(stack, 'P', {
    image: ecs.ContainerImage.fromAsset(flaskApp),
    api: { openApiDocument: path.join(flaskApp, 'docs', 'openapi.yaml') },
  });
  const template = Template.fromStack(stack);
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
  const pathOf = (ref: any): string => {
    if (!ref || ref['Fn::GetAtt']) return '';
    const r = resources[ref.Ref].Properties;
    return `${pathOf(r.ParentId)}/${r.PathPart}`;
  };
  const operations = methods.map((m) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'}`).sort();
  expect(operations).toEqual([
    'DELETE /todos/{id}',
    'GET /health',
    'GET /ready',
    'GET /todos',
    'GET /todos/{id}',
    'PATCH /todos/{id}',
    'POST /auth/login',
    'POST /auth/register',
    'POST /todos',
  ]);
  for (const method of methods) {
    expect(method.Properties.ApiKeyRequired).toBe(true);
    expect(method.Properties.RequestValidatorId).toBeDefined();
    expect(method.Properties.Integration.Type).toBe('HTTP_PROXY');
  }
});
