import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { KeyedRestApi } from '../../src/api';

// A password the reference app's schema rejects in each way its validator can (minLength 8,
// maxLength 128, a pattern, an enum), and how API Gateway's request validator words each
// rejection: the messages quote the rejected value.
const PASSWORD = 'hunter2';
const LONG_PASSWORD = `correct-horse-${'x'.repeat(130)}`;
const validatorMessages: Record<string, { secret: string; validationErrorString: string }> = {
  minLength: { secret: PASSWORD, validationErrorString: `[string "${PASSWORD}" is too short (length: 7, required minimum: 8)]` },
  maxLength: { secret: LONG_PASSWORD, validationErrorString: `[string "${LONG_PASSWORD}" is too long (length: 144, maximum allowed: 128)]` },
  pattern: { secret: PASSWORD, validationErrorString: `[ECMA 262 regex "^[^\\u0000]+$" does not match input string "${PASSWORD}"]` },
  enum: { secret: PASSWORD, validationErrorString: `[instance value ("${PASSWORD}") not found in enum (possible values: ["a","b"])]` },
};

// Context variables whose values API Gateway derives from the request line, the key, the
// caller's address or its own processing, never from headers' values or the body.
const CONTENT_FREE = new Set([
  '$context.requestId', '$context.requestTime', '$context.identity.sourceIp', '$context.identity.userAgent',
  '$context.identity.apiKeyId', '$context.httpMethod', '$context.resourcePath', '$context.path', '$context.protocol',
  '$context.status', '$context.responseLength', '$context.responseLatency', '$context.integrationStatus',
  '$context.integrationLatency', '$context.integrationErrorMessage', '$context.error.message',
  '$context.error.responseType', '$context.waf.status', '$context.xrayTraceId',
]);

function accessLogFormat(openApi: boolean): string {
  const stack = new Stack(undefined, 'Stack', { env: { region: 'ap-southeast-1' } });
  const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef',
    loadBalancerDnsName: 'app-0123456789abcdef.elb.ap-southeast-1.amazonaws.com',
  });
  new KeyedRestApi(stack, 'Api', {
    loadBalancer,
    openApiDocument: openApi ? path.join(__dirname, '..', '..', 'examples', 'flask-app', 'docs', 'openapi.yaml') : undefined,
  });
  const stage = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::Stage'))[0];
  return stage.Properties.AccessLogSetting.Format as string;
}

/** The access-log line API Gateway would write for a login the validator rejected. */
function render(format: string, validationErrorString: string): string {
  const values: Record<string, string> = {
    '$context.error.validationErrorString': validationErrorString,
    '$context.error.message': 'Invalid request body',
    '$context.error.responseType': 'BAD_REQUEST_BODY',
    '$context.httpMethod': 'POST',
    '$context.resourcePath': '/auth/login',
    '$context.path': '/Test/auth/login',
    '$context.status': '400',
  };
  return format.replace(/\$context\.[A-Za-z.]+/g, (v) => values[v] ?? '-');
}

describe.each([['greedy proxy', false], ['OpenAPI routes with request validation', true]])('access logs (%s)', (_name, openApi) => {
  const format = accessLogFormat(openApi);

  test.each(Object.keys(validatorMessages))('a password rejected by %s never reaches the access log', (shape) => {
    const { secret, validationErrorString } = validatorMessages[shape];
    const line = render(format, validationErrorString);
    expect(JSON.parse(line).status).toBe('400');
    expect(line).not.toContain(secret);
  });

  test('every field is one API Gateway fills without request content; a rejected request still logs why', () => {
    const fields = format.match(/\$context\.[A-Za-z.]+/g) ?? [];
    expect(fields.filter((f) => !CONTENT_FREE.has(f))).toEqual([]);
    expect(JSON.parse(format)).toMatchObject({ errorType: '$context.error.responseType', errorMessage: '$context.error.message' });
  });
});
