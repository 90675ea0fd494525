import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { CloudWatchRoleMode, KeyedRestApi, KeyedRestApiOptions } from '../../src/api';

const NLB_ARN = 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef';
const NLB_DNS = 'app-0123456789abcdef.elb.ap-southeast-1.amazonaws.com';
const FIXTURES = path.join(__dirname, 'fixtures');
const ITEMS = path.join(FIXTURES, 'items.yaml');

interface Built {
  readonly stack: Stack;
  readonly api: KeyedRestApi;
  readonly template: Template;
}

function create(props: KeyedRestApiOptions & { listenerPort?: number } = {}): Built {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
    loadBalancerArn: NLB_ARN,
    loadBalancerDnsName: NLB_DNS,
  });
  const api = new KeyedRestApi(stack, 'Api', { loadBalancer, ...props });
  return { stack, api, template: Template.fromStack(stack) };
}

function synth(props: KeyedRestApiOptions & { listenerPort?: number } = {}): Template {
  return create(props).template;
}

function build(props: KeyedRestApiOptions & { listenerPort?: number }): () => void {
  return () => create(props);
}

/** Writes an OpenAPI document to a temporary file and returns its path. */
function doc(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyed-rest-api-'));
  const file = path.join(dir, 'openapi.yaml');
  fs.writeFileSync(file, text);
  return file;
}

/** A minimal OpenAPI 3.0 document with the given `paths` block (YAML, indented by two). */
function docWithPaths(paths: string, extra = ''): string {
  return doc(`openapi: 3.0.3\ninfo: { title: T, version: '1' }\npaths:\n${paths}\n${extra}`);
}

function methods(template: Template): Record<string, any> {
  return template.findResources('AWS::ApiGateway::Method');
}

/** "METHOD /path" of every method, from the Resource tree in the template. */
function routes(template: Template): string[] {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: any): string => {
    if (ref['Fn::GetAtt']) return '';
    const r = resources[ref.Ref];
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}`;
  };
  return Object.values(methods(template))
    .map((m) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'}`)
    .sort();
}

describe('KeyedRestApi defaults', () => {
  const { stack, api, template } = create();

  test('the REST API has a Regional endpoint and reads keys from the x-api-key header', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
      ApiKeySourceType: 'HEADER',
    });
  });

  test('the API is deployed to a stage named Test', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'Test' });
  });

  test('the stage throttles every method at 1000 rps with a burst of 2000', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({
        ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000,
      })]),
    });
  });

  test('routes are a greedy proxy: ANY on / and on /{proxy+}', () => {
    expect(routes(template)).toEqual(['ANY /', 'ANY /{proxy+}']);
  });

  test('every method requires an API key', () => {
    const all = Object.values(methods(template));
    expect(all.length).toBe(2);
    for (const m of all) expect(m.Properties.ApiKeyRequired).toBe(true);
  });

  test('the proxy integration is HTTP_PROXY over the VPC link to the load balancer on port 80', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      RequestParameters: { 'method.request.path.proxy': true },
      Integration: {
        Type: 'HTTP_PROXY',
        IntegrationHttpMethod: 'ANY',
        ConnectionType: 'VPC_LINK',
        ConnectionId: { Ref: Match.stringLikeRegexp('ApiVpcLink') },
        Uri: `http://${NLB_DNS}:80/{proxy}`,
        RequestParameters: { 'integration.request.path.proxy': 'method.request.path.proxy' },
      },
    });
  });

  test('the root method forwards to the root of the service', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      ResourceId: { 'Fn::GetAtt': [Match.anyValue(), 'RootResourceId'] },
      Integration: { Type: 'HTTP_PROXY', Uri: `http://${NLB_DNS}:80/` },
    });
  });

  test('the integration timeout is 29 s', () => {
    for (const m of Object.values(methods(template))) expect(m.Properties.Integration.TimeoutInMillis).toBe(29000);
  });

  test('the VPC link targets the load balancer', () => {
    template.hasResourceProperties('AWS::ApiGateway::VpcLink', { TargetArns: [NLB_ARN] });
  });

  test('a usage plan bound to the stage throttles each key to 100 a minute with a burst of 10', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      ApiStages: [{ ApiId: { Ref: Match.anyValue() }, Stage: { Ref: Match.stringLikeRegexp('ApiDeploymentStageTest') } }],
      Throttle: { RateLimit: 1.6666, BurstLimit: 10 },
      Quota: Match.absent(),
    });
  });

  test('one API key is created, attached to the usage plan, and its value is left to API Gateway', () => {
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::ApiKey', { Enabled: true, Value: Match.absent(), Name: Match.stringLikeRegexp('-default$') });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: Match.stringLikeRegexp('ApiApiKeyDefault') },
      UsagePlanId: { Ref: Match.stringLikeRegexp('ApiUsagePlan') },
      KeyType: 'API_KEY',
    });
    expect(api.apiKeys.length).toBe(1);
  });

  test('outputs give the URL, the key ID and the CLI command that prints the key value', () => {
    const outputs = template.findOutputs('*');
    const byPrefix = (p: string) => Object.entries(outputs).filter(([k]) => k.startsWith(p)).map(([, v]) => v);
    expect(byPrefix('ApiUrl').length).toBe(1);
    expect(byPrefix('ApiApiKeyIdDefault')[0].Value).toEqual({ Ref: expect.stringMatching(/^ApiApiKeyDefault/) });
    expect(JSON.stringify(byPrefix('ApiGetApiKeyCommandDefault')[0].Value)).toMatch(/aws apigateway get-api-key --api-key .*--include-value --query value --output text --region /);
    expect(Object.keys(outputs).length).toBe(3);
  });

  test('access logs are JSON lines with the key ID but never the key value', () => {
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', apiKeyId: '$context.identity.apiKeyId', status: '$context.status' });
    expect(stage.Properties.AccessLogSetting.Format).not.toContain('$context.identity.apiKey"');
  });

  test('access logs go to a KMS-encrypted log group kept one month', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiAccessLogs'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiLogKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('execution logs at ERROR, without data trace; detailed metrics on; X-Ray off', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: false,
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true })]),
    });
  });

  test('the account CloudWatch role is created and kept when the stack is deleted', () => {
    template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      Properties: { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] }) },
    });
  });

  test('no WAF web ACL', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    expect(api.webAcl).toBeUndefined();
  });

  test('no cache cluster, and cache data would be encrypted', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      CacheClusterEnabled: false,
      MethodSettings: Match.arrayWith([Match.objectLike({ CachingEnabled: false, CacheDataEncrypted: true })]),
    });
  });

  test('no CORS preflight methods', () => {
    expect(routes(template).some((r) => r.startsWith('OPTIONS'))).toBe(false);
  });

  test('no custom domain', () => {
    template.resourceCountIs('AWS::ApiGateway::DomainName', 0);
  });

  test('three alarms without actions treat missing data as not breaching', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(3);
    expect(api.alarms.length).toBe(3);
    for (const a of alarms) {
      expect(a.Properties.TreatMissingData).toBe('notBreaching');
      expect(a.Properties.AlarmActions).toBeUndefined();
    }
  });

  test('the 5XX alarm fires on an error rate above 5%', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5XXError', Statistic: 'Average', Threshold: 0.05 });
  });

  test('the 4XX alarm fires on a rejection rate above 25%', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '4XXError', Statistic: 'Average', Threshold: 0.25 });
  });

  test('the latency alarm fires on p99 above 85% of the integration timeout', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Latency', ExtendedStatistic: 'p99', Threshold: 24650 });
  });

  test('the URL ends in the stage name and a slash', () => {
    expect(JSON.stringify(stack.resolve(api.url))).toMatch(/\/",\{"Ref":"ApiDeploymentStageTest[0-9A-F]+"\},"\/"\]/);
  });

  test('metric helpers measure this API and stage', () => {
    const dims = stack.resolve(api.metric5XXError().dimensions);
    expect(dims).toEqual({ ApiName: expect.any(String), Stage: { Ref: expect.stringMatching(/^ApiDeploymentStageTest/) } });
    expect(api.metricCount().metricName).toBe('Count');
    expect(api.metric4XXError().metricName).toBe('4XXError');
    expect(api.metric5XXError().metricName).toBe('5XXError');
    expect(api.metricLatency().statistic).toBe('p99');
  });
});

describe('KeyedRestApi options', () => {
  test('stageName names the stage and appears in the URL', () => {
    const { stack, api, template } = create({ stageName: 'prod_v1' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod_v1' });
    expect(JSON.stringify(stack.resolve(api.url))).toContain('ApiDeploymentStageprodv1');
  });

  test('integrationTimeout sets every integration timeout and the latency alarm threshold', () => {
    const template = synth({ integrationTimeout: Duration.seconds(10) });
    for (const m of Object.values(methods(template))) expect(m.Properties.Integration.TimeoutInMillis).toBe(10000);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Latency', Threshold: 8500 });
  });

  test('listenerPort is the port of the integration URI', () => {
    synth({ listenerPort: 8080 }).hasResourceProperties('AWS::ApiGateway::Method', { Integration: { Uri: `http://${NLB_DNS}:8080/{proxy}` } });
  });

  test('apiKeyNames creates one key, usage-plan binding and pair of outputs per name', () => {
    const { api, template } = create({ apiKeyNames: ['web', 'partner-a', 'batch_jobs'] });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 3);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 3);
    for (const name of ['web', 'partner-a', 'batch_jobs']) {
      template.hasResourceProperties('AWS::ApiGateway::ApiKey', { Name: Match.stringLikeRegexp(`-${name}$`) });
    }
    expect(Object.keys(template.findOutputs('*')).filter((k) => k.includes('GetApiKeyCommand')).length).toBe(3);
    expect(api.apiKeys.length).toBe(3);
  });

  test('importedApiKeyIds attaches existing keys without creating them', () => {
    const { api, template } = create({ apiKeyNames: [], importedApiKeyIds: ['a1b2c3d4e5', 'f6g7h8i9j0'] });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyId: 'a1b2c3d4e5' });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyId: 'f6g7h8i9j0' });
    expect(api.apiKeys.map((k) => k.keyId)).toEqual(['a1b2c3d4e5', 'f6g7h8i9j0']);
  });

  test('imported keys come in addition to the created default key', () => {
    synth({ importedApiKeyIds: ['a1b2c3d4e5'] }).resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
  });

  test('stage throttling is configurable', () => {
    synth({ throttlingRateLimit: 50, throttlingBurstLimit: 20 }).hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 20 })]),
    });
  });

  test('requestsPerMinutePerKey sets the per-key rate in requests per second', () => {
    synth({ requestsPerMinutePerKey: 600 }).hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 10, BurstLimit: 10 } });
  });

  test('the default per-key burst grows to one second of a high per-key rate', () => {
    synth({ requestsPerMinutePerKey: 1500 }).hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 25, BurstLimit: 25 } });
  });

  test('perKeyBurstLimit sets the per-key bucket size', () => {
    synth({ perKeyBurstLimit: 3 }).hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 1.6666, BurstLimit: 3 } });
  });

  test('perKeyQuota adds a quota to the usage plan', () => {
    synth({ perKeyQuota: { limit: 10000, period: apigw.Period.DAY } }).hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Quota: { Limit: 10000, Period: 'DAY' },
    });
  });

  describe('wafRateLimit', () => {
    const { api, template } = create({ wafRateLimit: true });

    test('creates a Regional web ACL that allows by default', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
      expect(api.webAcl).toBeDefined();
    });

    test('data protection hides the API key and the bearer token in sampled requests and logs', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', {
        DataProtectionConfig: {
          DataProtections: [
            { Field: { FieldType: 'SINGLE_HEADER', FieldKeys: ['x-api-key'] }, Action: 'SUBSTITUTION' },
            { Field: { FieldType: 'SINGLE_HEADER', FieldKeys: ['authorization'] }, Action: 'SUBSTITUTION' },
          ],
        },
      });
    });

    test('the rate-based rule limits each x-api-key value to 100 requests per 60 s', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', {
        Rules: Match.arrayWith([Match.objectLike({
          Name: 'RateLimitPerApiKey',
          Statement: {
            RateBasedStatement: {
              Limit: 100,
              EvaluationWindowSec: 60,
              AggregateKeyType: 'CUSTOM_KEYS',
              CustomKeys: [{ Header: { Name: 'x-api-key', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }],
            },
          },
        })]),
      });
    });

    test('the rate-based rule blocks with a 429 and a JSON body', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', {
        Rules: Match.arrayWith([Match.objectLike({
          Name: 'RateLimitPerApiKey',
          Action: { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'TooManyRequests' } } },
        })]),
        CustomResponseBodies: { TooManyRequests: { ContentType: 'APPLICATION_JSON', Content: Match.anyValue() } },
      });
    });

    test('every rule records metrics and sampled requests', () => {
      const acl = Object.values(template.findResources('AWS::WAFv2::WebACL'))[0];
      for (const rule of acl.Properties.Rules) {
        expect(rule.VisibilityConfig).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
      }
    });

    test('the web ACL is associated with the stage', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
        WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiWebAcl'), 'Arn'] },
        ResourceArn: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/stages/$'), { Ref: Match.stringLikeRegexp('ApiDeploymentStageTest') }])] },
      });
    });

    test('the AWS managed common and known-bad-inputs rule groups are added, body size only counted', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', {
        Rules: Match.arrayWith([
          Match.objectLike({
            Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet', RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }] }) },
          }),
          Match.objectLike({ Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesKnownBadInputsRuleSet' }) } }),
        ]),
      });
    });

    test('WAF logs go to an encrypted aws-waf-logs- log group, with key and token headers redacted', () => {
      template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
        RedactedFields: [{ SingleHeader: { Name: 'x-api-key' } }, { SingleHeader: { Name: 'authorization' } }],
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^aws-waf-logs-')])] },
        KmsKeyId: Match.anyValue(),
        RetentionInDays: 30,
      });
    });
  });

  test('wafEvaluationWindow scales the WAF limit to the window', () => {
    synth({ wafRateLimit: true, wafEvaluationWindow: Duration.minutes(5) }).hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: 500, EvaluationWindowSec: 300 }) } })]),
    });
  });

  test('wafManagedRules false keeps only the rate-based rule', () => {
    const acl = Object.values(synth({ wafRateLimit: true, wafManagedRules: false }).findResources('AWS::WAFv2::WebACL'))[0];
    expect(acl.Properties.Rules.map((r: any) => r.Name)).toEqual(['RateLimitPerApiKey']);
  });

  test('wafLogging false adds no WAF logging', () => {
    synth({ wafRateLimit: true, wafLogging: false }).resourceCountIs('AWS::WAFv2::LoggingConfiguration', 0);
  });

  test('loggingLevel INFO turns on detailed execution logs', () => {
    synth({ loggingLevel: apigw.MethodLoggingLevel.INFO }).hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'INFO' })]),
    });
  });

  test('dataTraceEnabled logs full requests', () => {
    synth({ dataTraceEnabled: true }).hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ DataTraceEnabled: true })]),
    });
  });

  test('tracingEnabled turns on X-Ray', () => {
    synth({ tracingEnabled: true }).hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
  });

  test('cloudWatchRole USE_EXISTING creates no role and keeps execution logging', () => {
    const template = synth({ cloudWatchRole: CloudWatchRoleMode.USE_EXISTING });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'ERROR' })]) });
  });

  test('cloudWatchRole NONE creates no role and turns execution logging off', () => {
    const template = synth({ cloudWatchRole: CloudWatchRoleMode.NONE });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'OFF' })]),
    });
  });

  test('cloudWatchRole NONE sets no access logging, which API Gateway refuses without the account role', () => {
    const template = synth({ cloudWatchRole: CloudWatchRoleMode.NONE });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage.Properties.AccessLogSetting).toBeUndefined();
    // No access log group is left behind either (the WAF log group is separate, and off here).
    template.resourceCountIs('AWS::Logs::LogGroup', 0);
  });

  test('with a CloudWatch role the stage writes access logs', () => {
    synth({ cloudWatchRole: CloudWatchRoleMode.USE_EXISTING }).hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue(), Format: Match.anyValue() }),
    });
  });

  describe('custom domain', () => {
    const stackFor = () => {
      const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
      const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/abc');
      const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', { loadBalancerArn: NLB_ARN, loadBalancerDnsName: NLB_DNS });
      new KeyedRestApi(stack, 'Api', { loadBalancer, domainName: 'api.example.com', certificate });
      return Template.fromStack(stack);
    };
    const template = stackFor();

    test('is Regional with TLS 1.2', () => {
      template.hasResourceProperties('AWS::ApiGateway::DomainName', {
        DomainName: 'api.example.com',
        EndpointConfiguration: { Types: ['REGIONAL'] },
        SecurityPolicy: 'TLS_1_2',
        RegionalCertificateArn: 'arn:aws:acm:ap-southeast-1:111111111111:certificate/abc',
      });
    });

    test('maps the root path to the stage', () => {
      template.hasResourceProperties('AWS::ApiGateway::BasePathMapping', {
        Stage: { Ref: Match.stringLikeRegexp('ApiDeploymentStageTest') },
        BasePath: Match.absent(),
      });
    });

    test('outputs the regional domain name to point DNS at', () => {
      expect(Object.keys(template.findOutputs('*')).some((k) => k.startsWith('ApiCustomDomainTarget'))).toBe(true);
    });
  });

  describe('cacheEnabled', () => {
    const template = synth({ openApiDocument: ITEMS, cacheEnabled: true });

    test('creates an encrypted 0.5 GB cache with a 5 minute TTL', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        CacheClusterEnabled: true,
        CacheClusterSize: '0.5',
        MethodSettings: Match.arrayWith([Match.objectLike({ CachingEnabled: true, CacheDataEncrypted: true, CacheTtlInSeconds: 300 })]),
      });
    });

    test('keys the cache on the documented parameters, the caller token and the API key', () => {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        OperationName: 'listItems',
        Integration: {
          CacheKeyParameters: Match.arrayWith([
            'method.request.querystring.limit', 'method.request.querystring.tag',
            'method.request.header.Authorization', 'method.request.header.x-api-key',
          ]),
        },
      });
    });
  });

  test('cacheClusterSize and cacheTtl are configurable', () => {
    synth({ openApiDocument: ITEMS, cacheEnabled: true, cacheClusterSize: '1.6', cacheTtl: Duration.minutes(1) }).hasResourceProperties('AWS::ApiGateway::Stage', {
      CacheClusterSize: '1.6',
      MethodSettings: Match.arrayWith([Match.objectLike({ CacheTtlInSeconds: 60 })]),
    });
  });

  describe('cors', () => {
    const template = synth({ cors: { allowOrigins: ['https://app.example.com'] } });

    test('adds OPTIONS preflight on every resource, without an API key', () => {
      expect(routes(template).filter((r) => r.startsWith('OPTIONS'))).toEqual(['OPTIONS /', 'OPTIONS /{proxy+}']);
      for (const m of Object.values(methods(template))) {
        expect(m.Properties.ApiKeyRequired).toBe(m.Properties.HttpMethod !== 'OPTIONS');
      }
    });

    test('adds the allowed origin to API Gateway error responses', () => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'DEFAULT_4XX',
        ResponseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'" },
      });
    });
  });

  test('cors with several origins leaves API Gateway error responses alone', () => {
    synth({ cors: { allowOrigins: ['https://a.example.com', 'https://b.example.com'] } }).resourceCountIs('AWS::ApiGateway::GatewayResponse', 0);
  });

  test('accessLogRetention sets the access log retention', () => {
    synth({ accessLogRetention: 365 }).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('apiName and description name the REST API and prefix the key names', () => {
    const template = synth({ apiName: 'orders', description: 'Orders API' });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: 'orders', Description: 'Orders API' });
    template.hasResourceProperties('AWS::ApiGateway::ApiKey', { Name: 'orders-default' });
  });

  test('createOutputs false adds no outputs', () => {
    expect(synth({ createOutputs: false }).findOutputs('*')).toEqual({});
  });

  test('getApiKeyCommand builds the CLI command', () => {
    expect(KeyedRestApi.getApiKeyCommand('abc123', 'ap-southeast-1'))
      .toBe('aws apigateway get-api-key --api-key abc123 --include-value --query value --output text --region ap-southeast-1');
  });
});

describe('KeyedRestApi from an OpenAPI document', () => {
  const template = synth({ openApiDocument: ITEMS });

  test('creates exactly the documented methods and no proxy', () => {
    expect(routes(template)).toEqual([
      'DELETE /items/{itemId}',
      'GET /files/{path+}',
      'GET /health',
      'GET /items',
      'GET /items/{itemId}',
      'POST /items',
      'PUT /items/{itemId}',
    ]);
  });

  test('every documented method requires an API key', () => {
    for (const m of Object.values(methods(template))) expect(m.Properties.ApiKeyRequired).toBe(true);
  });

  test('one request validator checks bodies and parameters, and every method uses it', () => {
    template.resourceCountIs('AWS::ApiGateway::RequestValidator', 1);
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    for (const m of Object.values(methods(template))) expect(m.Properties.RequestValidatorId).toEqual({ Ref: expect.stringMatching(/RequestValidator/) });
  });

  test('required query and header parameters are required, optional ones are not', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      OperationName: 'listItems',
      RequestParameters: { 'method.request.querystring.tag': true, 'method.request.querystring.limit': false },
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'PUT',
      RequestParameters: { 'method.request.path.itemId': true, 'method.request.header.If-Match': true },
    });
  });

  test('path parameters are mapped into the integration URI', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'DELETE',
      Integration: {
        Type: 'HTTP_PROXY',
        ConnectionType: 'VPC_LINK',
        IntegrationHttpMethod: 'DELETE',
        Uri: `http://${NLB_DNS}:80/items/{itemId}`,
        RequestParameters: { 'integration.request.path.itemId': 'method.request.path.itemId' },
      },
    });
  });

  test('a greedy path parameter passes the rest of the path', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      OperationName: 'getFile',
      Integration: { Uri: `http://${NLB_DNS}:80/files/{path}`, RequestParameters: { 'integration.request.path.path': 'method.request.path.path' } },
    });
  });

  test('request bodies get a model from the schema, with $refs inlined as JSON Schema draft 4', () => {
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'CreateItemBody',
      ContentType: 'application/json',
      Schema: {
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          price: { type: 'number', minimum: 0, exclusiveMinimum: true },
          note: { type: ['string', 'null'] },
          owner: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string', format: 'email' } } },
        },
      },
    });
  });

  test('a required JSON body is validated whatever the Content-Type', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      OperationName: 'createItem',
      RequestModels: {
        'application/json': { Ref: Match.stringLikeRegexp('ModelCreateItemBody') },
        '$default': { Ref: Match.stringLikeRegexp('ModelCreateItemBody') },
      },
    });
  });

  test('a body from components.requestBodies gets its own model', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      OperationName: 'replaceItem',
      RequestModels: { 'application/json': { Ref: Match.stringLikeRegexp('ModelReplaceItemBody') } },
    });
  });

  test('a JSON document works too, with a method on the root', () => {
    const json = synth({ openApiDocument: path.join(FIXTURES, 'items.json') });
    expect(routes(json)).toEqual(['GET /', 'POST /items']);
    json.hasResourceProperties('AWS::ApiGateway::Model', { Name: 'PostItemsBody' });
  });

  test('an optional JSON body is validated only when sent as JSON', () => {
    const json = synth({ openApiDocument: path.join(FIXTURES, 'items.json') });
    json.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestModels: { 'application/json': Match.anyValue(), '$default': Match.absent() },
    });
  });

  test('cors adds preflight next to the documented methods', () => {
    const withCors = synth({ openApiDocument: ITEMS, cors: { allowOrigins: apigw.Cors.ALL_ORIGINS } });
    expect(routes(withCors).filter((r) => r.startsWith('OPTIONS')).length).toBeGreaterThan(0);
    expect(routes(withCors).filter((r) => !r.startsWith('OPTIONS')).length).toBe(7);
  });
});

describe('KeyedRestApi over HTTPS (integrationTlsHostname)', () => {
  const HOST = 'backend.example.com';
  const uris = (template: Template): string[] => Object.values(methods(template))
    .filter((m) => m.Properties.HttpMethod !== 'OPTIONS')
    .map((m) => m.Properties.Integration.Uri as string)
    .sort();

  test('the greedy proxy calls https://<host>:443/{proxy} through the VPC link', () => {
    synth({ integrationTlsHostname: HOST }).hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      RequestParameters: { 'method.request.path.proxy': true },
      Integration: { Type: 'HTTP_PROXY', ConnectionType: 'VPC_LINK', Uri: `https://${HOST}:443/{proxy}` },
    });
  });

  test('the root method calls https://<host>:443/', () => {
    synth({ integrationTlsHostname: HOST }).hasResourceProperties('AWS::ApiGateway::Method', {
      ResourceId: { 'Fn::GetAtt': [Match.anyValue(), 'RootResourceId'] },
      Integration: { Uri: `https://${HOST}:443/` },
    });
  });

  test('every documented route of an OpenAPI document calls the host over HTTPS', () => {
    expect(uris(synth({ openApiDocument: ITEMS, integrationTlsHostname: HOST }))).toEqual([
      `https://${HOST}:443/files/{path}`,
      `https://${HOST}:443/health`,
      `https://${HOST}:443/items`,
      `https://${HOST}:443/items`,
      `https://${HOST}:443/items/{itemId}`,
      `https://${HOST}:443/items/{itemId}`,
      `https://${HOST}:443/items/{itemId}`,
    ]);
  });

  test('an explicit listenerPort wins over 443', () => {
    synth({ integrationTlsHostname: HOST, listenerPort: 8443 }).hasResourceProperties('AWS::ApiGateway::Method', {
      Integration: { Uri: `https://${HOST}:8443/{proxy}` },
    });
  });

  test('the VPC link still targets the load balancer', () => {
    synth({ integrationTlsHostname: HOST }).hasResourceProperties('AWS::ApiGateway::VpcLink', { TargetArns: [NLB_ARN] });
  });
});

describe('KeyedRestApi rejects OpenAPI documents it cannot enforce', () => {
  const rejects = (file: string, message: RegExp) => expect(build({ openApiDocument: file })).toThrow(message);

  test('a missing file', () => {
    rejects(path.join(FIXTURES, 'nope.yaml'), /api.openApiDocument '.*nope.yaml': cannot read the file \(ENOENT\)/);
  });

  test('malformed YAML', () => {
    rejects(path.join(FIXTURES, 'malformed.yaml'), /api.openApiDocument '.*malformed.yaml': is not valid YAML or JSON/);
  });

  test('a Swagger 2.0 document', () => {
    rejects(path.join(FIXTURES, 'swagger2.json'), /Swagger\/OpenAPI 2.0 is not supported; convert the document to OpenAPI 3.0.x/);
  });

  test('an OpenAPI 3.1 document', () => {
    rejects(path.join(FIXTURES, 'openapi31.yaml'), /OpenAPI 3.1.0 is not supported: .*write the document as 3.0.x/);
  });

  test('an external $ref', () => {
    rejects(path.join(FIXTURES, 'external-ref.yaml'), /POST \/items requestBody 'application\/json': external reference 'schemas\/item.yaml#\/Item' is not supported; bundle the document/);
  });

  test('a document without paths', () => {
    rejects(doc("openapi: 3.0.3\ninfo: { title: T, version: '1' }\n"), /has no 'paths'/);
  });

  test('a path template that is part of a segment', () => {
    rejects(docWithPaths('  /items/{id}.json:\n    get: { responses: {} }'), /segment '\{id\}.json' mixes a template with text; API Gateway path parameters must be whole segments/);
  });

  test('a greedy parameter before the end of the path', () => {
    rejects(docWithPaths('  /files/{path+}/meta:\n    get: { responses: {} }'), /the greedy parameter '\{path\+\}' must be the last segment/);
  });

  test('two variable names at the same path level', () => {
    rejects(docWithPaths('  /items/{id}:\n    get: { responses: {} }\n  /items/{name}/tags:\n    get: { responses: {} }'),
      /uses \{name\} where another path uses \{id\} under '\/items'; API Gateway allows one variable name per path level/);
  });

  test('a trailing slash', () => {
    rejects(docWithPaths('  /items/:\n    get: { responses: {} }'), /path '\/items\/' ends with '\/'/);
  });

  test('a TRACE operation', () => {
    rejects(docWithPaths('  /items:\n    trace: { responses: {} }'), /documents TRACE, which API Gateway REST APIs do not support/);
  });

  test('a cookie parameter', () => {
    rejects(docWithPaths('  /items:\n    get:\n      parameters: [{ name: sid, in: cookie }]\n      responses: {}'), /cookie parameter 'sid' cannot be validated by API Gateway/);
  });

  test('a recursive schema', () => {
    rejects(docWithPaths(
      "  /nodes:\n    post:\n      requestBody: { content: { application/json: { schema: { $ref: '#/components/schemas/Node' } } } }\n      responses: {}",
      "components:\n  schemas:\n    Node: { type: object, properties: { children: { type: array, items: { $ref: '#/components/schemas/Node' } } } }",
    ), /schema '#\/components\/schemas\/Node' refers to itself .*recursive schemas are not supported/);
  });

  test('a $ref to nothing', () => {
    rejects(docWithPaths("  /items:\n    post:\n      requestBody: { content: { application/json: { schema: { $ref: '#/components/schemas/Missing' } } } }\n      responses: {}"),
      /reference '#\/components\/schemas\/Missing' points to nothing/);
  });

  test('a type list (OpenAPI 3.1) in a 3.0 document', () => {
    rejects(docWithPaths("  /items:\n    post:\n      requestBody: { content: { application/json: { schema: { type: [string, 'null'] } } } }\n      responses: {}"),
      /'type' lists \["string","null"\], which is OpenAPI 3.1; in 3.0 use one type and 'nullable: true'/);
  });

  test('a schema keyword outside OpenAPI 3.0', () => {
    rejects(docWithPaths('  /items:\n    post:\n      requestBody: { content: { application/json: { schema: { type: string, const: x } } } }\n      responses: {}'),
      /schema keyword 'const' is not part of OpenAPI 3.0/);
  });

  test('a documented OPTIONS operation together with cors', () => {
    const file = docWithPaths('  /items:\n    options: { responses: {} }\n    get: { responses: {} }');
    expect(build({ openApiDocument: file, cors: { allowOrigins: ['*'] } })).toThrow(/api.cors adds an OPTIONS method to every resource, but api.openApiDocument documents OPTIONS on \/items/);
  });
});

describe('KeyedRestApi validation', () => {
  test('rejects a stage name with characters API Gateway does not allow', () => {
    expect(build({ stageName: 'prod stage' })).toThrow(/api.stageName must be 1-128 letters, digits, '-' or '_' .*got 'prod stage'/);
  });

  test.each([Duration.millis(10), Duration.seconds(30)])('rejects an integration timeout of %s', (timeout) => {
    expect(build({ integrationTimeout: timeout })).toThrow(/api.integrationTimeout must be from 50 ms to 29 s/);
  });

  test('rejects a listener port outside 1-65535', () => {
    expect(build({ listenerPort: 70000 })).toThrow(/api.listenerPort must be a TCP port from 1 to 65535, got 70000/);
  });

  test('rejects an API key name with spaces', () => {
    expect(build({ apiKeyNames: ['my key'] })).toThrow(/api.apiKeyNames entries must be 1-64 letters and digits.*got 'my key'/);
  });

  test('rejects two key names for the same key', () => {
    expect(build({ apiKeyNames: ['partner-a', 'partnerA'] })).toThrow(/api.apiKeyNames has 'partner-a' and 'partnerA', which name the same key/);
  });

  test('rejects a configuration without any key', () => {
    expect(build({ apiKeyNames: [] })).toThrow(/api.apiKeyNames is empty and api.importedApiKeyIds is not set/);
  });

  test('rejects an imported key ID that is not an ID', () => {
    expect(build({ importedApiKeyIds: ['arn:aws:apigateway:x'] })).toThrow(/api.importedApiKeyIds entries must be API key IDs/);
  });

  test('rejects a non-positive stage rate limit', () => {
    expect(build({ throttlingRateLimit: 0 })).toThrow(/api.throttlingRateLimit must be a positive number of requests per second, got 0/);
  });

  test('rejects a fractional stage burst limit', () => {
    expect(build({ throttlingBurstLimit: 1.5 })).toThrow(/api.throttlingBurstLimit must be a positive integer, got 1.5/);
  });

  test('rejects a non-positive per-key rate', () => {
    expect(build({ requestsPerMinutePerKey: 0 })).toThrow(/api.requestsPerMinutePerKey must be a positive integer, got 0/);
  });

  test('rejects a per-key rate that is not known at synth', () => {
    expect(build({ requestsPerMinutePerKey: Token.asNumber({ Ref: 'Rpm' }) })).toThrow(/api.requestsPerMinutePerKey must be a number known at synth/);
  });

  test('rejects a non-positive per-key burst', () => {
    expect(build({ perKeyBurstLimit: 0 })).toThrow(/api.perKeyBurstLimit must be a positive integer, got 0/);
  });

  test('rejects a quota without a period', () => {
    expect(build({ perKeyQuota: { limit: 100 } })).toThrow(/api.perKeyQuota needs both limit and period/);
  });

  test('rejects a non-positive quota limit', () => {
    expect(build({ perKeyQuota: { limit: 0, period: apigw.Period.DAY } })).toThrow(/api.perKeyQuota.limit must be a positive integer, got 0/);
  });

  test.each(['wafEvaluationWindow', 'wafManagedRules', 'wafLogging'])('rejects %s without wafRateLimit', (prop) => {
    const value = prop === 'wafEvaluationWindow' ? Duration.seconds(60) : true;
    expect(build({ [prop]: value })).toThrow(new RegExp(`api.${prop} applies only with wafRateLimit: true`));
  });

  test('rejects a WAF window given as a token, since the rule limit is derived from it', () => {
    expect(build({ wafRateLimit: true, wafEvaluationWindow: Duration.seconds(Token.asNumber({ Ref: 'Window' })) })).toThrow(/api.wafEvaluationWindow must be a concrete duration/);
  });

  test('rejects a WAF window AWS WAF does not offer', () => {
    expect(build({ wafRateLimit: true, wafEvaluationWindow: Duration.seconds(90) })).toThrow(/api.wafEvaluationWindow must be 60, 120, 300 or 600 seconds .*got 90 s/);
  });

  test('rejects a WAF limit below the AWS WAF minimum of 10', () => {
    expect(build({ wafRateLimit: true, requestsPerMinutePerKey: 5 })).toThrow(/api.requestsPerMinutePerKey 5 over a 60 s WAF window is a limit of 5, below AWS WAF's minimum of 10/);
  });

  test('rejects execution logging without a CloudWatch role', () => {
    expect(build({ cloudWatchRole: CloudWatchRoleMode.NONE, loggingLevel: apigw.MethodLoggingLevel.INFO }))
      .toThrow(/api.loggingLevel INFO needs the account's API Gateway CloudWatch role, but cloudWatchRole is NONE/);
  });

  test('rejects data trace without a CloudWatch role', () => {
    expect(build({ cloudWatchRole: CloudWatchRoleMode.NONE, dataTraceEnabled: true })).toThrow(/api.dataTraceEnabled writes execution logs.*cloudWatchRole is NONE/);
  });

  test('rejects a domain name without a certificate', () => {
    expect(build({ domainName: 'api.example.com' })).toThrow(/api.domainName and api.certificate go together; got domainName 'api.example.com' without a certificate/);
  });

  test('rejects a certificate without a domain name', () => {
    const stack = new Stack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'C', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/abc');
    expect(build({ certificate })).toThrow(/api.domainName and api.certificate go together; got a certificate without domainName/);
  });

  test('rejects a domain name that is not a hostname', () => {
    const stack = new Stack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'C', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/abc');
    expect(build({ domainName: 'https://api.example.com', certificate })).toThrow(/api.domainName must be a fully qualified domain name/);
  });

  test.each(['cacheClusterSize', 'cacheTtl'])('rejects %s without cacheEnabled', (prop) => {
    const value = prop === 'cacheTtl' ? Duration.minutes(1) : '0.5';
    expect(build({ [prop]: value })).toThrow(new RegExp(`api.${prop} applies only with cacheEnabled: true`));
  });

  test('rejects a cache on the greedy proxy', () => {
    expect(build({ cacheEnabled: true })).toThrow(/api.cacheEnabled needs api.openApiDocument/);
  });

  test('rejects a cache size API Gateway does not offer', () => {
    expect(build({ openApiDocument: ITEMS, cacheEnabled: true, cacheClusterSize: '2' })).toThrow(/api.cacheClusterSize must be one of 0.5, 1.6, .*got '2'/);
  });

  test('rejects a cache TTL over an hour', () => {
    expect(build({ openApiDocument: ITEMS, cacheEnabled: true, cacheTtl: Duration.hours(2) })).toThrow(/api.cacheTtl must be from 0 to 3600 seconds, got 7200 s/);
  });

  test.each([
    ['a URL', 'https://backend.example.com'],
    ['a host name with a port', 'backend.example.com:443'],
    ['a wildcard', '*.example.com'],
    ['a single label', 'backend'],
  ])('rejects an integrationTlsHostname that is %s', (_what, host) => {
    expect(build({ integrationTlsHostname: host })).toThrow(`api.integrationTlsHostname must be a fully qualified host name such as 'backend.example.com' (no scheme, port, path or wildcard), covered by the load balancer's certificate, got '${host}'.`);
  });

  test('an unresolved integrationTlsHostname is not validated', () => {
    expect(build({ integrationTlsHostname: Token.asString({ Ref: 'Host' }) })).not.toThrow();
  });

  test('skips validation of unresolved tokens', () => {
    expect(build({ throttlingRateLimit: Token.asNumber({ Ref: 'Rate' }), throttlingBurstLimit: Token.asNumber({ Ref: 'Burst' }), listenerPort: Token.asNumber({ Ref: 'Port' }) })).not.toThrow();
  });
});
