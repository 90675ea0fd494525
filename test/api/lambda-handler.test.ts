import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KeyedRestApi, KeyedRestApiOptions } from '../../src/api';
import { gatedApp, runGates } from '../util/gates';

const FN_ARN = 'arn:aws:lambda:ap-southeast-1:111111111111:function:flask';
const ITEMS = path.join(__dirname, 'fixtures', 'items.yaml');

function create(props: KeyedRestApiOptions & { listenerPort?: number } = {}, app = new App()) {
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'ap-southeast-1' } });
  // A function of this stack, so that the API can add its invoke permission.
  const handler = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(e, c): return {}'),
  });
  const api = new KeyedRestApi(stack, 'Api', { handler, ...props });
  return { stack, api, handler };
}

test('a Lambda handler gets a proxy integration on every method, and no VPC link', () => {
  const { stack, api, handler } = create();
  const t = Template.fromStack(stack);
  expect(api.vpcLink).toBeUndefined();
  t.resourceCountIs('AWS::ApiGateway::VpcLink', 0);
  const methods = t.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'ANY' } });
  expect(Object.keys(methods)).toHaveLength(2);
  for (const m of Object.values(methods)) {
    expect(m.Properties.Integration.Type).toBe('AWS_PROXY');
    expect(m.Properties.Integration.IntegrationHttpMethod).toBe('POST');
    expect(m.Properties.Integration.TimeoutInMillis).toBe(29000);
    expect(JSON.stringify(m.Properties.Integration.Uri)).toContain(JSON.stringify(stack.resolve(handler.functionArn)).slice(1, -1));
    expect(m.Properties.ApiKeyRequired).toBe(true);
  }
});

test('API Gateway may invoke the function from this API\'s stage only, with one permission', () => {
  const { stack, api } = create();
  const t = Template.fromStack(stack);
  const permissions = t.findResources('AWS::Lambda::Permission');
  expect(Object.keys(permissions)).toHaveLength(1);
  const p = Object.values(permissions)[0].Properties;
  expect(p.Principal).toBe('apigateway.amazonaws.com');
  expect(p.Action).toBe('lambda:InvokeFunction');
  expect(p.SourceAccount).toBe('111111111111');
  expect(p.SourceArn).toEqual(stack.resolve(api.api.arnForExecuteApi('*', '/*', 'Test')));
  expect(JSON.stringify(p.SourceArn)).toContain('/Test/*/*');
});

test('OpenAPI routes, validation, keys and the usage plan stay with a Lambda handler', () => {
  const { stack } = create({ openApiDocument: ITEMS, apiKeyNames: ['web', 'partner'] });
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::ApiGateway::RequestValidator', 1);
  t.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
  t.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
  const methods = Object.values(t.findResources('AWS::ApiGateway::Method'));
  expect(methods.length).toBeGreaterThan(1);
  for (const m of methods) {
    expect(m.Properties.Integration.Type).toBe('AWS_PROXY');
    expect(m.Properties.RequestValidatorId).toBeDefined();
  }
  t.resourceCountIs('AWS::Lambda::Permission', 1);
});

test('the WAF option works with a Lambda handler', () => {
  const { stack } = create({ wafRateLimit: true });
  Template.fromStack(stack).hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: Match.anyValue() });
});

test.each<[string, KeyedRestApiOptions & { listenerPort?: number }, RegExp]>([
  ['listenerPort', { listenerPort: 80 }, /api\.listenerPort applies only to a loadBalancer/],
  ['integrationTlsHostname', { integrationTlsHostname: 'backend.example.com' }, /api\.integrationTlsHostname applies only to a loadBalancer/],
])('%s is rejected with a Lambda handler', (_prop, props, message) => {
  expect(() => create(props)).toThrow(message);
});

test('loadBalancer and handler are mutually exclusive, and one is required', () => {
  const stack = new Stack();
  const handler = lambda.Function.fromFunctionArn(stack, 'Fn', FN_ARN);
  const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef',
  });
  expect(() => new KeyedRestApi(stack, 'Both', { handler, loadBalancer })).toThrow(/either loadBalancer .* or handler .*, not both/);
  expect(() => new KeyedRestApi(stack, 'None', {})).toThrow(/KeyedRestApi needs what serves it: loadBalancer .* or handler/);
});

test('the API in front of a function passes cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const { stack } = create({}, app);
  const f = runGates(app, [stack]);
  // The inline test function is the fixture's, not the library's: only findings on the API count.
  expect(f.nag.filter((n) => !n.includes('/Fn'))).toEqual([]);
  expect(f.guard.filter((g) => !/: (Test\/)?Fn/.test(g) && !g.includes('Test/Fn'))).toEqual([]);
});
