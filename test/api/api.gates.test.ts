import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { buildStacks } from '../../integ/integ.api';
import { CloudWatchRoleMode, KeyedRestApi, KeyedRestApiOptions } from '../../src/api';
import { gatedApp, runGates } from '../util/gates';

test('the API integ stacks pass cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const stacks = buildStacks(app);
  const f = runGates(app, stacks);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});

// The integ stack turns WAF on; these cover the other branches that add or drop suppressions.
const variants: Record<string, KeyedRestApiOptions> = {
  'the defaults (no WAF)': {},
  'an OpenAPI document with cache, CORS, X-Ray and a year of logs': {
    openApiDocument: path.join(__dirname, 'fixtures', 'items.yaml'),
    cacheEnabled: true,
    cors: { allowOrigins: ['https://app.example.com'] },
    tracingEnabled: true,
    accessLogRetention: 365,
  },
  'no CloudWatch role, WAF rate limit only, several and imported keys': {
    cloudWatchRole: CloudWatchRoleMode.NONE,
    wafRateLimit: true,
    wafManagedRules: false,
    wafLogging: false,
    apiKeyNames: ['web', 'partner'],
    importedApiKeyIds: ['a1b2c3d4e5'],
  },
  'a custom domain with an existing CloudWatch role': { domainName: 'api.example.com', cloudWatchRole: CloudWatchRoleMode.USE_EXISTING },
  'an HTTPS integration with the load balancer': { integrationTlsHostname: 'backend.example.com' },
};

test.each(Object.keys(variants))('the API with %s passes cdk-nag AwsSolutions and cfn-guard', (name) => {
  const app = gatedApp();
  const stack = new Stack(app, 'ApiVariant', { env: { region: 'ap-southeast-1' } });
  const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:ap-southeast-1:111111111111:loadbalancer/net/app/0123456789abcdef',
    loadBalancerDnsName: 'app-0123456789abcdef.elb.ap-southeast-1.amazonaws.com',
  });
  const props = variants[name];
  const certificate = props.domainName
    ? acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/abc')
    : undefined;
  new KeyedRestApi(stack, 'Api', { loadBalancer, certificate, ...props });
  const f = runGates(app, [stack]);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});
