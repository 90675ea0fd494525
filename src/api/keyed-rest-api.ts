import { ArnFormat, Aws, CfnOutput, Duration, Fn, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct, IConstruct } from 'constructs';
import { OpenApiOperation, loadOpenApiDocument } from './openapi';
import { givenOrNewLogsKey } from '../core/kms';
import { addCheckovSuppressions, addGuardSuppressions, addNagSuppressions, nagResourceName, suppressShortLogRetention, suppressAlarmActionsLeftToCaller } from '../core/suppressions';
import { validatePort, validateStageName } from '../core/validation';

/**
 * How the API gets the account-level IAM role that API Gateway uses to write execution logs
 * to CloudWatch Logs. API Gateway keeps one such role per account and region
 * (`AWS::ApiGateway::Account`); without it, a stage with execution logging fails to deploy.
 */
export enum CloudWatchRoleMode {
  /**
   * Create a role and set it as the account's API Gateway CloudWatch role. Works in a fresh
   * account. The setting is per account and region: it replaces a role set before (by another
   * stack or by hand), and the last stack deployed wins. The role can create and write log groups
   * and streams in this account and region (every API's execution and access logs), and read
   * none, unlike AWS's AmazonAPIGatewayPushToCloudWatchLogs. The role and its policy are kept
   * when the stack is deleted, so other APIs in the account keep logging.
   */
  CREATE = 'CREATE',
  /** The account already has a CloudWatch role set (by your landing zone or another stack); use it. */
  USE_EXISTING = 'USE_EXISTING',
  /**
   * No role: execution logging and access logging are both off. API Gateway refuses to turn on
   * either kind of stage logging until the account's CloudWatch role is set, so a stage with
   * access logs would fail to deploy in exactly the account this mode is for. Requests are still
   * counted in the CloudWatch metrics (and WAF logs, with `wafRateLimit`, do not need the role).
   */
  NONE = 'NONE',
}

/** Options of the API-keyed REST API in front of the Flask service. */
export interface KeyedRestApiOptions {
  /**
   * Name of the stage the API is deployed to; it is the first segment of the URL path.
   * Letters, digits, '-' and '_', up to 128 characters.
   * @default 'Test'
   */
  readonly stageName?: string;

  /**
   * How long API Gateway waits for the Flask service, from 50 ms to 29 s. The first request
   * after Aurora Serverless v2 paused can take 15-30 s while the database resumes.
   * @default Duration.seconds(29)
   */
  readonly integrationTimeout?: Duration;

  /**
   * Path to an OpenAPI 3.0.x document (YAML or JSON), read at synth; a relative path is resolved
   * from the directory the CDK app runs in, so prefer `path.join(__dirname, ...)`. When set, only the
   * documented paths and methods exist, and API Gateway checks required path, query and header
   * parameters and validates JSON request bodies against the document's schemas before a request
   * reaches the container. Local `$ref`s are inlined; external references, recursive schemas,
   * OpenAPI 2.0 or 3.1 documents and paths API Gateway cannot express fail the synth.
   * @default - a greedy proxy: `/` and `/{proxy+}` with ANY method pass everything to the app
   */
  readonly openApiDocument?: string;

  /**
   * CORS preflight (OPTIONS) on every resource, answered by API Gateway without an API key.
   * The app adds CORS headers to its own responses; API Gateway adds them to its error responses
   * (missing key, throttled) when `allowOrigins` has a single entry.
   * @default - no CORS preflight
   */
  readonly cors?: apigw.CorsOptions;

  /**
   * Names of the API keys to create, one key each. API Gateway generates the values; they never
   * appear in the template or the stack outputs. Letters, digits, '-' and '_'.
   * @default ['default']
   */
  readonly apiKeyNames?: string[];

  /**
   * IDs of existing API keys to attach to the usage plan as well.
   * @default - none
   */
  readonly importedApiKeyIds?: string[];

  /**
   * Requests per second for the whole stage (all keys together), the steady rate of a token bucket.
   * It keeps one API from using up the account's regional API Gateway quota (10,000 rps shared by
   * every API in the account) and caps the load on the service.
   * @default 1000
   */
  readonly throttlingRateLimit?: number;

  /**
   * Size of the stage-wide token bucket: how many requests may arrive at once above the steady
   * rate. Two seconds' worth of the default rate absorbs short spikes.
   * @default 2000
   */
  readonly throttlingBurstLimit?: number;

  /**
   * Requests per minute one API key may make. The usage plan turns it into a per-second token
   * bucket (`requestsPerMinutePerKey / 60` rps refill, `perKeyBurstLimit` capacity): a key can
   * send a burst, then is held to the average; it is not a fixed 60-second window. API Gateway
   * answers 429 when the bucket is empty. For a fixed-window limit turn on `wafRateLimit`.
   * @default 100
   */
  readonly requestsPerMinutePerKey?: number;

  /**
   * Capacity of each key's token bucket: how many requests a key may send at once. Ten lets a
   * client load a page with a few parallel calls without 429s, while the sustained rate stays at
   * `requestsPerMinutePerKey`.
   * @default - 10, or one second of `requestsPerMinutePerKey` if that is more
   */
  readonly perKeyBurstLimit?: number;

  /**
   * A request quota per key per day, week or month (API Gateway has no shorter quota period).
   * @default - no quota
   */
  readonly perKeyQuota?: apigw.QuotaSettings;

  /**
   * Associate an AWS WAF web ACL with the stage, with a rate-based rule that blocks (HTTP 429) a
   * key sending more than `requestsPerMinutePerKey` requests in `wafEvaluationWindow`, counted per
   * `x-api-key` header value. WAF costs a monthly fee per web ACL and rule plus a fee per request.
   * @default false
   */
  readonly wafRateLimit?: boolean;

  /**
   * The window over which WAF counts each key's requests: 60, 120, 300 or 600 seconds. The rule's
   * limit is `requestsPerMinutePerKey` times the window in minutes. Only with `wafRateLimit`.
   * @default Duration.seconds(60)
   */
  readonly wafEvaluationWindow?: Duration;

  /**
   * Add the AWS managed rule groups Core rule set (OWASP-style common attacks; its 8 KB body size
   * rule only counts, since API Gateway already bounds payloads and the app decides body sizes)
   * and Known bad inputs (Log4j and similar). Only with `wafRateLimit`.
   * @default true
   */
  readonly wafManagedRules?: boolean;

  /**
   * Log WAF decisions to an encrypted CloudWatch log group (kept `accessLogRetention`), with the
   * `x-api-key` and `authorization` headers redacted. Only with `wafRateLimit`. Independently of
   * this, the web ACL's data protection replaces both headers' values (including the rate-based
   * rule's per-key details) in its logs and sampled requests.
   * @default true
   */
  readonly wafLogging?: boolean;

  /**
   * Retention of the access logs (one JSON line per request, with the API key ID but never the
   * key value) and of the WAF logs. There are no access logs with `CloudWatchRoleMode.NONE`.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: logs.RetentionDays;

  /**
   * KMS key that encrypts the access logs and the WAF logs. A `kms.Key` of this app gets the statements it needs added;
   * an imported key must allow CloudWatch Logs (`logs.<region>.amazonaws.com`) already.
   * `FlaskServerlessPlatform` passes its one platform key here.
   * @default - a new customer-managed key with yearly rotation (1 USD a month, and 1 more after each of its first two rotations)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Execution logging level of every method. INFO logs each request's processing steps.
   * Must be OFF (or unset) with `CloudWatchRoleMode.NONE`.
   * @default apigw.MethodLoggingLevel.ERROR (OFF with CloudWatchRoleMode.NONE)
   */
  readonly loggingLevel?: apigw.MethodLoggingLevel;

  /**
   * Log full requests and responses in the execution logs. They include headers and bodies, so
   * the `Authorization` token and personal data end up in CloudWatch Logs; use only to debug.
   * With the reference app this writes every login's username and plain-text password
   * (`POST /auth/login`, `POST /auth/register` bodies), every bearer token it issues (login
   * response bodies) and every token callers send (`Authorization` header), as well as the
   * validator's messages, which quote rejected values. Anyone who can read the API's execution
   * log group can then sign in as those users; turn it off again and expire the logs after use.
   * @default false
   */
  readonly dataTraceEnabled?: boolean;

  /**
   * AWS X-Ray tracing of API Gateway requests.
   * @default false
   */
  readonly tracingEnabled?: boolean;

  /**
   * Where the account-level CloudWatch role for execution logs comes from. The default creates
   * it (and keeps it when the stack is deleted), so the stage deploys in a fresh account; it
   * replaces any role the account had with one that can create and write log groups and streams in this region and read no log events. Use `USE_EXISTING` if your account
   * setup manages the role, or `NONE` to run without execution logs and access logs.
   * @default CloudWatchRoleMode.CREATE
   */
  readonly cloudWatchRole?: CloudWatchRoleMode;

  /**
   * A custom domain name for the API (regional endpoint, TLS 1.2), mapped to the stage at the
   * root path. Point a DNS alias at the `CustomDomainTarget` output. Requires `certificate`.
   * @default - no custom domain; use the execute-api URL
   */
  readonly domainName?: string;

  /**
   * ACM certificate for `domainName`, in the stack's region. Requires `domainName`.
   * @default - none
   */
  readonly certificate?: acm.ICertificate;

  /**
   * Cache GET responses in an encrypted API Gateway cache. The cache key includes the documented
   * path, query and header parameters and the `Authorization` and `x-api-key` headers, so one
   * user never gets another's cached response. Requires `openApiDocument`: with the greedy proxy,
   * API Gateway cannot key the cache on query strings it does not know.
   * @default false
   */
  readonly cacheEnabled?: boolean;

  /**
   * Cache size in GB: '0.5', '1.6', '6.1', '13.5', '28.4', '58.2', '118' or '237'. Only with `cacheEnabled`.
   * @default '0.5'
   */
  readonly cacheClusterSize?: string;

  /**
   * How long a cached response is served, up to one hour. Only with `cacheEnabled`.
   * @default Duration.minutes(5)
   */
  readonly cacheTtl?: Duration;

  /**
   * Call the load balancer over HTTPS, verifying its certificate against this host name, e.g.
   * `backend.example.com`. The load balancer needs a TLS listener
   * (`FlaskFargateServiceOptions.tlsCertificate`) with a certificate that covers the name and is
   * issued by a certificate authority API Gateway trusts (an ACM public certificate is). The
   * integration URI becomes `https://<name>:<listenerPort>/...`: requests still travel through the
   * VPC link to this load balancer whatever the name resolves to, so it needs no DNS record; API
   * Gateway uses it for the TLS handshake (server name and certificate check) and as the `Host`
   * header the application sees.
   * @default - plain HTTP to the load balancer's DNS name
   */
  readonly integrationTlsHostname?: string;

  /**
   * Name of the REST API.
   * @default - a name derived from the construct path, unique in the account
   */
  readonly apiName?: string;

  /**
   * Description of the REST API.
   * @default 'Flask application behind API keys'
   */
  readonly description?: string;

  /**
   * Add stack outputs: the URL, and for each created key its ID and the AWS CLI command that
   * prints its value.
   * @default true
   */
  readonly createOutputs?: boolean;
}

/** Props of `KeyedRestApi`. */
export interface KeyedRestApiProps extends KeyedRestApiOptions {
  /**
   * The internal Network Load Balancer in front of the Flask service. API Gateway reaches it
   * through a VPC link. If the load balancer has security groups, they must admit the VPC link's
   * traffic on `listenerPort` (or not be enforced on PrivateLink traffic). Give either this or
   * `handler`.
   * @default - none; then `handler` is required
   */
  readonly loadBalancer?: elbv2.INetworkLoadBalancer;

  /**
   * A Lambda function that serves the API instead of a load balancer (`FlaskLambdaService`'s
   * `function`): a Lambda proxy integration (REST, payload version 1.0), no VPC link. API Gateway
   * may invoke it for this API's stage only (one resource-based permission). Give either this or
   * `loadBalancer`.
   * @default - none; then `loadBalancer` is required
   */
  readonly handler?: lambda.IFunction;

  /**
   * Port of the load balancer's listener that forwards to the service: plain HTTP, or HTTPS with
   * `integrationTlsHostname`.
   * @default - 443 with `integrationTlsHostname`, else 80
   */
  readonly listenerPort?: number;
}

/** A fully qualified DNS name: letters, digits and hyphens in dot-separated labels, ending in a TLD. */
const HOST_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const CACHE_SIZES = ['0.5', '1.6', '6.1', '13.5', '28.4', '58.2', '118', '237'];
const WAF_WINDOWS = [60, 120, 300, 600];
/** AWS WAF's smallest rate-based rule limit. */
const WAF_MIN_LIMIT = 10;
/** The header API Gateway reads the API key from. */
const API_KEY_HEADER = 'x-api-key';

/**
 * A Regional API Gateway REST API in front of an internal Network Load Balancer: a private
 * HTTP_PROXY integration over a VPC link, every method behind an API key, a usage plan with a
 * per-key token-bucket throttle, stage-wide throttling, JSON access logs to an encrypted log
 * group, execution logs, alarms, and optionally an AWS WAF per-key rate limit, request
 * validation from an OpenAPI document, a custom domain and a cache.
 */
export class KeyedRestApi extends Construct {
  /**
   * The AWS CLI command that prints the value of an API key.
   * @param keyId the API key ID
   * @param region the region of the API
   */
  public static getApiKeyCommand(keyId: string, region: string): string {
    return `aws apigateway get-api-key --api-key ${keyId} --include-value --query value --output text --region ${region}`;
  }

  /** The REST API. */
  public readonly api: apigw.RestApi;
  /** The stage the API is deployed to. */
  public readonly stage: apigw.Stage;
  /** The deployment behind the stage. */
  public readonly deployment: apigw.Deployment;
  /** The usage plan that binds the keys to the stage and throttles each key. */
  public readonly usagePlan: apigw.UsagePlan;
  /** The keys attached to the usage plan: created ones first (in `apiKeyNames` order), then imported ones. */
  public readonly apiKeys: apigw.IApiKey[] = [];
  /** The keys this construct created, in `apiKeyNames` order. */
  public readonly createdApiKeys: apigw.ApiKey[] = [];
  /** The VPC link to the load balancer; none when a Lambda `handler` serves the API. */
  public readonly vpcLink?: apigw.VpcLink;
  /** The WAF web ACL, with `wafRateLimit`. */
  public readonly webAcl?: wafv2.CfnWebACL;
  /** The log group of the WAF logs, with `wafRateLimit` and `wafLogging`. */
  public readonly wafLogGroup?: logs.LogGroup;
  /** The log group of the access logs; none with `CloudWatchRoleMode.NONE`. */
  public readonly accessLogGroup?: logs.LogGroup;
  /** The KMS key that encrypts the access logs (and the WAF logs). */
  public readonly logKey: kms.IKey;
  /** The custom domain, with `domainName`. */
  public readonly customDomain?: apigw.DomainName;
  /** URL of the stage, ending in the stage name and a slash, e.g. `https://abc.execute-api.ap-southeast-1.amazonaws.com/Test/`. */
  public readonly url: string;
  /** The alarms (no actions): 5XX rate, 4XX rate and p99 latency close to the integration timeout. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The integration timeout in use. */
  public readonly integrationTimeout: Duration;

  constructor(scope: Construct, id: string, props: KeyedRestApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'Test';
    this.integrationTimeout = props.integrationTimeout ?? Duration.seconds(29);
    const listenerPort = props.listenerPort ?? (props.integrationTlsHostname !== undefined ? 443 : 80);
    const apiKeyNames = props.apiKeyNames ?? ['default'];
    const importedApiKeyIds = props.importedApiKeyIds ?? [];
    const rateLimit = props.throttlingRateLimit ?? 1000;
    const burstLimit = props.throttlingBurstLimit ?? 2000;
    const requestsPerMinutePerKey = props.requestsPerMinutePerKey ?? 100;
    const cloudWatchRole = props.cloudWatchRole ?? CloudWatchRoleMode.CREATE;
    const wafRateLimit = props.wafRateLimit ?? false;
    const cacheEnabled = props.cacheEnabled ?? false;

    validate(props, {
      stageName,
      listenerPort,
      apiKeyNames,
      importedApiKeyIds,
      rateLimit,
      burstLimit,
      requestsPerMinutePerKey,
      cloudWatchRole,
      wafRateLimit,
      cacheEnabled,
    });
    const timeoutMs = this.integrationTimeout.toMilliseconds();
    if (!Token.isUnresolved(timeoutMs) && (timeoutMs < 50 || timeoutMs > 29_000)) {
      throw new Error(`api.integrationTimeout must be from 50 ms to 29 s (API Gateway's limit for REST integrations), got ${this.integrationTimeout.toHumanString()}.`);
    }
    // Per-key refill rate, rounded down so it never exceeds the per-minute figure.
    const perKeyRate = Math.floor((requestsPerMinutePerKey / 60) * 10_000) / 10_000;
    const perKeyBurstLimit = props.perKeyBurstLimit ?? Math.max(10, Math.ceil(requestsPerMinutePerKey / 60));
    if (!Token.isUnresolved(perKeyBurstLimit) && (!Number.isInteger(perKeyBurstLimit) || perKeyBurstLimit < 1)) {
      throw new Error(`api.perKeyBurstLimit must be a positive integer, got ${perKeyBurstLimit}.`);
    }
    const routes = props.openApiDocument !== undefined ? loadOpenApiDocument(props.openApiDocument) : undefined;
    if (routes && props.cors && routes.operations.some((op) => op.method === 'OPTIONS')) {
      const paths = routes.operations.filter((op) => op.method === 'OPTIONS').map((op) => op.path);
      throw new Error(`api.cors adds an OPTIONS method to every resource, but api.openApiDocument documents OPTIONS on ${paths.join(', ')}; remove one of them.`);
    }

    this.logKey = givenOrNewLogsKey(this, 'LogKey', props.encryptionKey, { description: 'Encrypts the API access logs' });
    const retention = props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH;
    // Access logging, like execution logging, needs the account's CloudWatch role.
    if (cloudWatchRole !== CloudWatchRoleMode.NONE) {
      this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention, encryptionKey: this.logKey });
    }

    const loggingLevel = cloudWatchRole === CloudWatchRoleMode.NONE
      ? apigw.MethodLoggingLevel.OFF
      : props.loggingLevel ?? apigw.MethodLoggingLevel.ERROR;

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: props.apiName ?? Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }),
      description: props.description ?? 'Flask application behind API keys',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      apiKeySourceType: apigw.ApiKeySourceType.HEADER,
      cloudWatchRole: cloudWatchRole === CloudWatchRoleMode.CREATE,
      // The role is account-wide: deleting this stack must not break other APIs' logging.
      cloudWatchRoleRemovalPolicy: cloudWatchRole === CloudWatchRoleMode.CREATE ? RemovalPolicy.RETAIN : undefined,
      defaultMethodOptions: { apiKeyRequired: true },
      defaultCorsPreflightOptions: props.cors,
      deployOptions: {
        stageName,
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
        loggingLevel,
        dataTraceEnabled: props.dataTraceEnabled ?? false,
        metricsEnabled: true,
        tracingEnabled: props.tracingEnabled ?? false,
        accessLogDestination: this.accessLogGroup ? new apigw.LogGroupLogDestination(this.accessLogGroup) : undefined,
        accessLogFormat: this.accessLogGroup ? accessLogFormat() : undefined,
        cacheClusterEnabled: cacheEnabled,
        cacheClusterSize: cacheEnabled ? props.cacheClusterSize ?? '0.5' : undefined,
        cachingEnabled: cacheEnabled,
        cacheTtl: cacheEnabled ? props.cacheTtl ?? Duration.minutes(5) : undefined,
        cacheDataEncrypted: true,
      },
    });
    // The URL is one of this construct's own outputs (createOutputs), not an unconditional one.
    this.api.node.tryRemoveChild('Endpoint');
    this.stage = this.api.deploymentStage;
    this.deployment = this.api.latestDeployment!;
    this.url = this.api.url;

    let integration: (method: string, path: string, pathParameters: string[], cacheKeyParameters?: string[]) => apigw.Integration;
    if (props.handler) {
      integration = this.lambdaIntegration(props.handler, stageName);
    } else {
      const loadBalancer = props.loadBalancer!;
      const vpcLink = new apigw.VpcLink(this, 'VpcLink', {
        targets: [loadBalancer],
        description: 'Private integration of the API with the internal load balancer',
      });
      this.vpcLink = vpcLink;
      // Through a VPC link the URI host only names the Host header and, over HTTPS, the name the
      // certificate must match; the connection always goes to the link's load balancer.
      const backend = props.integrationTlsHostname !== undefined
        ? `https://${props.integrationTlsHostname}:${listenerPort}`
        : `http://${loadBalancer.loadBalancerDnsName}:${listenerPort}`;
      integration = (method, path, pathParameters, cacheKeyParameters) => new apigw.Integration({
        type: apigw.IntegrationType.HTTP_PROXY,
        integrationHttpMethod: method,
        // A greedy {name+} resource passes its value as {name} in the integration URI.
        uri: backend + path.replace(/\{([^}+]+)\+\}/g, '{$1}'),
        options: {
          connectionType: apigw.ConnectionType.VPC_LINK,
          vpcLink,
          timeout: this.integrationTimeout,
          requestParameters: Object.fromEntries(pathParameters.map((p) => [`integration.request.path.${p}`, `method.request.path.${p}`])),
          cacheKeyParameters,
        },
      });
    }

    if (routes) {
      this.addDocumentedRoutes(routes.operations, integration, cacheEnabled);
    } else {
      // Both proxies pass method, path, query string and headers (Authorization too) through.
      this.api.root.addMethod('ANY', integration('ANY', '/', []));
      this.api.root.addResource('{proxy+}').addMethod('ANY', integration('ANY', '/{proxy+}', ['proxy']), {
        requestParameters: { 'method.request.path.proxy': true },
      });
      addNagSuppressions(this.api, [{
        id: 'AwsSolutions-APIG2',
        reason: 'The greedy proxy has no schema to validate against; the Flask app validates its input. Set openApiDocument to have API Gateway validate requests.',
      }]);
    }

    if (props.cors) this.addCorsErrorResponses(props.cors);

    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: `Per-key limit of ${requestsPerMinutePerKey} requests a minute (token bucket of ${perKeyBurstLimit})`,
      throttle: { rateLimit: perKeyRate, burstLimit: perKeyBurstLimit },
      quota: props.perKeyQuota,
      apiStages: [{ api: this.api, stage: this.stage }],
    });
    const apiName = this.api.restApiName;
    for (const name of apiKeyNames) {
      const key = new apigw.ApiKey(this, `ApiKey${keyIdSuffix(name)}`, {
        apiKeyName: `${apiName}-${name}`,
        description: `API key '${name}' of ${apiName}`,
        enabled: true,
      });
      this.createdApiKeys.push(key);
      this.apiKeys.push(key);
      this.usagePlan.addApiKey(key);
    }
    importedApiKeyIds.forEach((keyId, i) => {
      const key = apigw.ApiKey.fromApiKeyId(this, `ImportedApiKey${i}`, keyId);
      this.apiKeys.push(key);
      this.usagePlan.addApiKey(key);
    });

    if (wafRateLimit) {
      const windowSeconds = props.wafEvaluationWindow?.toSeconds() ?? 60;
      const wafLimit = requestsPerMinutePerKey * windowSeconds / 60;
      this.webAcl = this.createWebAcl(wafLimit, windowSeconds, props.wafManagedRules ?? true);
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.stage.stageArn,
        webAclArn: this.webAcl.attrArn,
      });
      if (props.wafLogging ?? true) {
        this.wafLogGroup = this.createWafLogging(this.webAcl, retention);
      }
    } else {
      addNagSuppressions(this.stage, [{
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is opt-in (wafRateLimit) for its fixed monthly cost; every method needs an API key and the usage plan throttles each key.',
      }]);
    }

    if (props.domainName && props.certificate) {
      this.customDomain = new apigw.DomainName(this, 'CustomDomain', {
        domainName: props.domainName,
        certificate: props.certificate,
        endpointType: apigw.EndpointType.REGIONAL,
        securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      });
      this.customDomain.addBasePathMapping(this.api, { stage: this.stage });
    }

    this.addSuppressions(cloudWatchRole, cacheEnabled, props.tracingEnabled ?? false, retention);
    this.createAlarms();

    if (props.createOutputs ?? true) {
      new CfnOutput(this, 'Url', { description: 'URL of the API stage', value: this.url });
      apiKeyNames.forEach((name, i) => {
        const keyId = this.createdApiKeys[i].keyId;
        new CfnOutput(this, `ApiKeyId${keyIdSuffix(name)}`, { description: `ID of the API key '${name}'`, value: keyId });
        new CfnOutput(this, `GetApiKeyCommand${keyIdSuffix(name)}`, {
          description: `AWS CLI command that prints the value of the API key '${name}'`,
          value: KeyedRestApi.getApiKeyCommand(keyId, Aws.REGION),
        });
      });
      if (this.customDomain) {
        new CfnOutput(this, 'CustomDomainTarget', {
          description: `Regional domain name to point a DNS alias (or CNAME) for ${props.domainName} at`,
          value: this.customDomain.domainNameAliasDomainName,
        });
      }
    }
  }

  /** Number of requests to the stage. */
  public metricCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stage.metricCount({ statistic: 'Sum', ...props });
  }

  /** 4XX responses (missing or throttled key, failed validation); `Average` is the rate. */
  public metric4XXError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stage.metricClientError({ statistic: 'Sum', ...props });
  }

  /** 5XX responses (the service failing or timing out); `Average` is the rate. */
  public metric5XXError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stage.metricServerError({ statistic: 'Sum', ...props });
  }

  /** Time from request to response, in milliseconds, including the integration. */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stage.metricLatency({ statistic: 'p99', ...props });
  }

  /** Time the service took to answer, in milliseconds. */
  public metricIntegrationLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stage.metricIntegrationLatency({ statistic: 'p99', ...props });
  }

  /**
   * A Lambda proxy integration for every method, and one permission for API Gateway to invoke the
   * function from this API's stage (any method, any path), rather than one per method, which
   * would grow the function's policy with the routes.
   */
  private lambdaIntegration(handler: lambda.IFunction, stageName: string) {
    const stack = Stack.of(this);
    const uri = `arn:${stack.partition}:apigateway:${stack.region}:lambda:path/2015-03-31/functions/${handler.functionArn}/invocations`;
    const permissionId = `${Names.nodeUniqueId(this.node)}Invoke`;
    handler.addPermission(permissionId, {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: this.api.arnForExecuteApi('*', '/*', stageName),
      sourceAccount: stack.account,
    });
    const permission = handler.node.tryFindChild(permissionId);
    if (permission && (Token.isUnresolved(stack.account))) {
      addGuardSuppressions(permission, [{
        id: 'lambda_function_public_access_prohibited_check',
        reason: 'The permission names SourceArn (this API\'s stage, built with Fn::Join) and SourceAccount (AWS::AccountId); the rule reads only literal strings and references to resources, not these.',
      }]);
    }
    return (_method: string, _path: string, _pathParameters: string[], cacheKeyParameters?: string[]) => new apigw.Integration({
      type: apigw.IntegrationType.AWS_PROXY,
      // Lambda's Invoke API is a POST, whatever the client's method.
      integrationHttpMethod: 'POST',
      uri,
      options: { timeout: this.integrationTimeout, cacheKeyParameters },
    });
  }

  private addDocumentedRoutes(
    operations: OpenApiOperation[],
    integration: (method: string, path: string, pathParameters: string[], cacheKeyParameters?: string[]) => apigw.Integration,
    cacheEnabled: boolean,
  ): void {
    const validator = this.api.addRequestValidator('RequestValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const modelNames = new Set<string>();
    for (const op of operations) {
      const resource = op.path === '/' ? this.api.root : this.api.root.resourceForPath(op.path);
      const requestParameters = { ...op.requestParameters };
      let cacheKeyParameters: string[] | undefined;
      if (cacheEnabled) {
        // Responses depend on who asks: key the cache on the caller's token and API key too.
        for (const header of ['Authorization', API_KEY_HEADER]) {
          const documented = Object.keys(requestParameters).some((k) => k.toLowerCase() === `method.request.header.${header.toLowerCase()}`);
          if (!documented) requestParameters[`method.request.header.${header}`] = false;
        }
        cacheKeyParameters = Object.keys(requestParameters);
      }
      const requestModels: Record<string, apigw.IModel> = {};
      const modelBySchema = new Map<object, apigw.Model>();
      for (const [contentType, schema] of Object.entries(op.bodySchemas)) {
        let model = modelBySchema.get(schema);
        if (!model) {
          const modelName = uniqueModelName(op, modelNames);
          model = new apigw.Model(this, `Model${modelName}`, {
            restApi: this.api,
            modelName,
            contentType: contentType === '$default' ? 'application/json' : contentType,
            description: `Request body of ${op.method} ${op.path}`,
            schema: schema as apigw.JsonSchema,
          });
          modelBySchema.set(schema, model);
        }
        requestModels[contentType] = model;
      }
      resource.addMethod(op.method, integration(op.method, op.path, op.pathParameters, cacheKeyParameters), {
        operationName: op.operationId,
        requestParameters,
        requestModels: Object.keys(requestModels).length > 0 ? requestModels : undefined,
        requestValidator: validator,
      });
    }
  }

  private addCorsErrorResponses(cors: apigw.CorsOptions): void {
    // Browsers hide error responses that lack CORS headers; API Gateway's own errors (403 for a
    // missing key, 429 when throttled) carry them only if configured. A gateway response cannot
    // pick one of several origins, so this applies to a single allowed origin (or '*').
    if (cors.allowOrigins.length !== 1) return;
    const responseHeaders = { 'Access-Control-Allow-Origin': `'${cors.allowOrigins[0]}'` };
    this.api.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, responseHeaders });
    this.api.addGatewayResponse('Default5xx', { type: apigw.ResponseType.DEFAULT_5XX, responseHeaders });
  }

  private createWebAcl(limit: number, windowSeconds: number, managedRules: boolean): wafv2.CfnWebACL {
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    const rules: wafv2.CfnWebACL.RuleProperty[] = [{
      name: 'RateLimitPerApiKey',
      priority: 0,
      statement: {
        rateBasedStatement: {
          limit,
          evaluationWindowSec: windowSeconds,
          aggregateKeyType: 'CUSTOM_KEYS',
          // Counted per key value as sent; requests without the header are not counted here,
          // and API Gateway rejects them (403) anyway.
          customKeys: [{ header: { name: API_KEY_HEADER, textTransformations: [{ priority: 0, type: 'NONE' }] } }],
        },
      },
      action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'TooManyRequests' } } },
      visibilityConfig: visibility('RateLimitPerApiKey'),
    }];
    if (managedRules) {
      rules.push({
        name: 'AWSManagedRulesCommonRuleSet',
        priority: 1,
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name: 'AWSManagedRulesCommonRuleSet',
            // JSON APIs legitimately take bodies over 8 KB; API Gateway caps them at 10 MB.
            ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
          },
        },
        overrideAction: { none: {} },
        visibilityConfig: visibility('AWSManagedRulesCommonRuleSet'),
      }, {
        name: 'AWSManagedRulesKnownBadInputsRuleSet',
        priority: 2,
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesKnownBadInputsRuleSet' } },
        overrideAction: { none: {} },
        visibilityConfig: visibility('AWSManagedRulesKnownBadInputsRuleSet'),
      });
    }
    const webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: `Per-API-key rate limit of ${limit} requests per ${windowSeconds} s`,
      defaultAction: { allow: {} },
      rules,
      customResponseBodies: {
        TooManyRequests: { contentType: 'APPLICATION_JSON', content: '{"message":"Too Many Requests"}' },
      },
      visibilityConfig: visibility(`${Names.uniqueId(this).slice(-200)}WebAcl`),
    });
    // Sampled requests and logs would otherwise show the key (the rate rule's own key, too) and
    // the bearer token. An override rather than the L1 prop, which older aws-cdk-lib lacks.
    webAcl.addPropertyOverride('DataProtectionConfig', {
      DataProtections: ['x-api-key', 'authorization'].map((header) => ({
        Field: { FieldType: 'SINGLE_HEADER', FieldKeys: [header] },
        Action: 'SUBSTITUTION',
      })),
    });
    if (!managedRules) {
      addCheckovSuppressions(webAcl, [{
        id: 'CKV_AWS_192',
        reason: 'wafManagedRules is false: this web ACL only rate-limits API keys; the known-bad-inputs (Log4j) rule group was turned off on purpose.',
      }]);
    }
    return webAcl;
  }

  private createWafLogging(webAcl: wafv2.CfnWebACL, retention: logs.RetentionDays): logs.LogGroup {
    // WAF writes only to log groups whose name starts with 'aws-waf-logs-'. The stack ID's UUID
    // makes the name new each time the stack is created, so a log group retained from a deleted
    // stack does not block a new one.
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    const logGroupName = `aws-waf-logs-${Names.uniqueResourceName(this, { maxLength: 100, separator: '-' })}-${stackUuid}`;
    const logGroup = new logs.LogGroup(this, 'WafLogs', { logGroupName, retention, encryptionKey: this.logKey });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: webAcl.attrArn,
      // WAF wants the log group ARN without the ':*' suffix.
      logDestinationConfigs: [Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      redactedFields: [{ singleHeader: { Name: API_KEY_HEADER } }, { singleHeader: { Name: 'authorization' } }],
    });
    logging.node.addDependency(logGroup);
    return logGroup;
  }

  private addSuppressions(cloudWatchRole: CloudWatchRoleMode, cacheEnabled: boolean, tracingEnabled: boolean, retention: logs.RetentionDays): void {
    for (const method of this.api.methods) {
      // cdk-nag's APIG4 and COG4, and checkov's CKV_AWS_59, pass CORS preflights themselves.
      if (method.httpMethod === 'OPTIONS') continue;
      addNagSuppressions(method, [
        { id: 'AwsSolutions-APIG4', reason: 'Every method requires an API key (throttled per key by the usage plan); there is no API Gateway authorizer: users are authorized by the app behind it, which gets the Authorization header unchanged (the reference app checks its own JWT on its user routes; /health, /ready, /auth/register and /auth/login are open to any key holder).' },
        { id: 'AwsSolutions-COG4', reason: 'No Cognito user pool: every method requires an API key, and users are authorized by the app behind the API (the reference app issues and checks its own JWTs).' },
      ]);
    }
    const role = this.api.node.tryFindChild('CloudWatchRole');
    if (role) this.scopeCloudWatchRole(role);
    if (cloudWatchRole === CloudWatchRoleMode.NONE) {
      const reason = 'cloudWatchRole is NONE: the account has no API Gateway CloudWatch role, and API Gateway refuses execution logging without it.';
      addNagSuppressions(this.stage, [{ id: 'AwsSolutions-APIG6', reason }]);
      addGuardSuppressions(this.stage, [{ id: 'api_gw_v1_execution_logging_enabled_check', reason }]);
      const accessReason = 'cloudWatchRole is NONE: the account has no API Gateway CloudWatch role, and API Gateway refuses access logging without it (the stage would fail to deploy); the stage metrics still count requests and errors.';
      addNagSuppressions(this.stage, [{ id: 'AwsSolutions-APIG1', reason: accessReason }]);
      addCheckovSuppressions(this.stage, [{ id: 'CKV_AWS_76', reason: accessReason }]);
    }
    if (!tracingEnabled) {
      const reason = 'X-Ray is opt-in (tracingEnabled) for its per-trace cost; access logs carry the request ID, status and latencies of every request.';
      addGuardSuppressions(this.stage, [{ id: 'api_gw_xray_enabled_check', reason }]);
      addCheckovSuppressions(this.stage, [{ id: 'CKV_AWS_73', reason }]);
    }
    const retentionReason = `Retention is the accessLogRetention prop (${retention} days here); a month of request logs is enough to investigate abuse and errors, and longer costs more.`;
    for (const logGroup of [this.accessLogGroup, this.wafLogGroup]) {
      if (logGroup) suppressShortLogRetention(logGroup, retention, retentionReason);
    }
    if (!cacheEnabled) {
      addCheckovSuppressions(this.stage, [{
        id: 'CKV_AWS_120',
        reason: 'Responses are per user (JWT); caching is opt-in (cacheEnabled) and then keyed on the caller and encrypted.',
      }]);
    }
  }

  /**
   * The account's API Gateway logging role gets, instead of AmazonAPIGatewayPushToCloudWatchLogs
   * (create, write and read every log group in every region), the write actions only, in this
   * account and region. A customer-managed policy (no inline policy, for the NIST 800-53, HIPAA
   * and PCI packs), kept with the role, because the role outlives the stack.
   */
  private scopeCloudWatchRole(role: IConstruct): void {
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    const logGroups = Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const policy = new iam.ManagedPolicy(this, 'CloudWatchRolePolicy', {
      description: 'API Gateway account logging role: write execution and access logs in this region',
      statements: [new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        resources: [logGroups],
      })],
    });
    policy.applyRemovalPolicy(RemovalPolicy.RETAIN);
    cfnRole.managedPolicyArns = [policy.managedPolicyArn];
    addNagSuppressions(policy, [{
      id: `AwsSolutions-IAM5[Resource::${nagResourceName(this, logGroups)}]`,
      reason: 'The account\'s API Gateway logging role serves every REST API in this region: each writes execution logs to its own API-Gateway-Execution-Logs_<api id>/<stage> group, and access logs to groups their owners name. It can write logs, not read them.',
    }]);
  }

  private createAlarms(): void {
    const period = Duration.minutes(5);
    this.alarms.push(new cloudwatch.Alarm(this, 'ServerErrorRateAlarm', {
      alarmDescription: 'More than 5% of API requests failed with 5XX (the service failing or timing out) in 2 of 3 five-minute periods.',
      metric: this.stage.metricServerError({ statistic: 'Average', period }),
      threshold: 0.05,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    this.alarms.push(new cloudwatch.Alarm(this, 'ClientErrorRateAlarm', {
      alarmDescription: 'More than 25% of API requests were rejected with 4XX (missing or wrong API keys, throttled keys, invalid requests) for 15 minutes.',
      metric: this.stage.metricClientError({ statistic: 'Average', period }),
      threshold: 0.25,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    // 85% of the timeout; a single slow period (a database resuming) does not alarm.
    const timeoutMs = this.integrationTimeout.toMilliseconds();
    const latencyThreshold = Token.isUnresolved(timeoutMs) ? 25_000 : Math.round(timeoutMs * 0.85);
    this.alarms.push(new cloudwatch.Alarm(this, 'LatencyAlarm', {
      alarmDescription: `p99 API latency above ${latencyThreshold} ms, close to the ${this.integrationTimeout.toHumanString()} integration timeout, in 2 of 3 five-minute periods.`,
      metric: this.stage.metricLatency({ statistic: 'p99', period }),
      threshold: latencyThreshold,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    suppressAlarmActionsLeftToCaller(this.alarms);
  }
}

function accessLogFormat(): apigw.AccessLogFormat {
  // The key ID identifies the caller; the key value ($context.identity.apiKey) is never logged.
  // No $context.error.validationErrorString: the request validator quotes the rejected value
  // (`string "..." is too short`), which for a login is the password. errorType BAD_REQUEST_BODY
  // and errorMessage "Invalid request body" still say why a request was refused.
  return apigw.AccessLogFormat.custom(JSON.stringify({
    requestId: apigw.AccessLogField.contextRequestId(),
    requestTime: apigw.AccessLogField.contextRequestTime(),
    ip: apigw.AccessLogField.contextIdentitySourceIp(),
    userAgent: apigw.AccessLogField.contextIdentityUserAgent(),
    apiKeyId: apigw.AccessLogField.contextIdentityApiKeyId(),
    httpMethod: apigw.AccessLogField.contextHttpMethod(),
    resourcePath: apigw.AccessLogField.contextResourcePath(),
    path: apigw.AccessLogField.contextPath(),
    protocol: apigw.AccessLogField.contextProtocol(),
    status: apigw.AccessLogField.contextStatus(),
    responseLength: apigw.AccessLogField.contextResponseLength(),
    responseLatency: apigw.AccessLogField.contextResponseLatency(),
    integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
    integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
    integrationError: apigw.AccessLogField.contextIntegrationErrorMessage(),
    errorMessage: apigw.AccessLogField.contextErrorMessage(),
    errorType: apigw.AccessLogField.contextErrorResponseType(),
    wafStatus: apigw.AccessLogField.contextWafStatus(),
    xrayTraceId: apigw.AccessLogField.contextXrayTraceId(),
  }));
}

/** Construct-id suffix of a key name: 'partner-a' -> 'PartnerA'. */
function keyIdSuffix(name: string): string {
  return name.split(/[-_]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}

/** An alphanumeric model name (API Gateway's rule) unique in the API. */
function uniqueModelName(op: OpenApiOperation, taken: Set<string>): string {
  const source = op.operationId ?? `${op.method.toLowerCase()} ${op.path}`;
  const base = (source.split(/[^A-Za-z0-9]+/).filter((p) => p).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('') || 'Root').slice(0, 56) + 'Body';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}${i}`;
  taken.add(name);
  return name;
}

interface Resolved {
  readonly stageName: string;
  readonly listenerPort: number;
  readonly apiKeyNames: string[];
  readonly importedApiKeyIds: string[];
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly requestsPerMinutePerKey: number;
  readonly cloudWatchRole: CloudWatchRoleMode;
  readonly wafRateLimit: boolean;
  readonly cacheEnabled: boolean;
}

function known(value: number | string | undefined): boolean {
  return value !== undefined && !Token.isUnresolved(value);
}

function validate(props: KeyedRestApiProps, r: Resolved): void {
  if ((props.loadBalancer === undefined) === (props.handler === undefined)) {
    throw new Error(props.handler
      ? 'KeyedRestApi takes either loadBalancer (a Fargate service behind a VPC link) or handler (a Lambda function), not both; remove one.'
      : 'KeyedRestApi needs what serves it: loadBalancer (the Fargate service\'s, through a VPC link) or handler (a Lambda function).');
  }
  if (props.handler) {
    for (const prop of ['listenerPort', 'integrationTlsHostname'] as const) {
      if (props[prop] !== undefined) throw new Error(`api.${prop} applies only to a loadBalancer; with a Lambda handler API Gateway invokes the function over the Lambda API (TLS), so remove ${prop}.`);
    }
  }
  validateStageName(r.stageName);
  validatePort('api.listenerPort', r.listenerPort);

  const seen = new Map<string, string>();
  for (const name of r.apiKeyNames) {
    if (!/^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$/.test(name) || name.length > 64) {
      throw new Error(`api.apiKeyNames entries must be 1-64 letters and digits, optionally joined by '-' or '_', got '${name}'.`);
    }
    const normalized = keyIdSuffix(name).toLowerCase();
    if (seen.has(normalized)) {
      throw new Error(`api.apiKeyNames has '${seen.get(normalized)}' and '${name}', which name the same key; give each key a distinct name.`);
    }
    seen.set(normalized, name);
  }
  for (const keyId of r.importedApiKeyIds) {
    if (!Token.isUnresolved(keyId) && !/^[A-Za-z0-9]{1,128}$/.test(keyId)) {
      throw new Error(`api.importedApiKeyIds entries must be API key IDs (letters and digits, e.g. 'a1b2c3d4e5'), got '${keyId}'.`);
    }
  }
  if (r.apiKeyNames.length === 0 && r.importedApiKeyIds.length === 0) {
    throw new Error('api.apiKeyNames is empty and api.importedApiKeyIds is not set, so no key could call the API; name at least one key or import one.');
  }

  if (known(r.rateLimit) && !(r.rateLimit > 0 && Number.isFinite(r.rateLimit))) {
    throw new Error(`api.throttlingRateLimit must be a positive number of requests per second, got ${r.rateLimit}.`);
  }
  if (known(r.burstLimit) && (!Number.isInteger(r.burstLimit) || r.burstLimit < 1)) {
    throw new Error(`api.throttlingBurstLimit must be a positive integer, got ${r.burstLimit}.`);
  }
  if (Token.isUnresolved(r.requestsPerMinutePerKey)) {
    throw new Error('api.requestsPerMinutePerKey must be a number known at synth: the usage plan rate and the WAF limit are derived from it.');
  }
  if (!Number.isInteger(r.requestsPerMinutePerKey) || r.requestsPerMinutePerKey < 1) {
    throw new Error(`api.requestsPerMinutePerKey must be a positive integer, got ${r.requestsPerMinutePerKey}.`);
  }
  const quota = props.perKeyQuota;
  if (quota) {
    if (quota.limit === undefined || quota.period === undefined) {
      throw new Error('api.perKeyQuota needs both limit and period (DAY, WEEK or MONTH).');
    }
    if (known(quota.limit) && (!Number.isInteger(quota.limit) || quota.limit < 1)) {
      throw new Error(`api.perKeyQuota.limit must be a positive integer, got ${quota.limit}.`);
    }
  }

  if (!r.wafRateLimit) {
    for (const prop of ['wafEvaluationWindow', 'wafManagedRules', 'wafLogging'] as const) {
      if (props[prop] !== undefined) throw new Error(`api.${prop} applies only with wafRateLimit: true; set wafRateLimit or remove ${prop}.`);
    }
  } else {
    const window = props.wafEvaluationWindow?.toSeconds() ?? 60;
    if (!known(window)) {
      throw new Error('api.wafEvaluationWindow must be a concrete duration, not a token: the WAF rule\'s limit is derived from it.');
    }
    if (!WAF_WINDOWS.includes(window)) {
      throw new Error(`api.wafEvaluationWindow must be 60, 120, 300 or 600 seconds (AWS WAF's choices), got ${window} s.`);
    }
    if (r.requestsPerMinutePerKey * window / 60 < WAF_MIN_LIMIT) {
      throw new Error(`api.requestsPerMinutePerKey ${r.requestsPerMinutePerKey} over a ${window} s WAF window is a limit of ${r.requestsPerMinutePerKey * window / 60}, below AWS WAF's minimum of ${WAF_MIN_LIMIT}; raise requestsPerMinutePerKey or lengthen wafEvaluationWindow.`);
    }
  }

  if (r.cloudWatchRole === CloudWatchRoleMode.NONE) {
    if (props.loggingLevel !== undefined && props.loggingLevel !== apigw.MethodLoggingLevel.OFF) {
      throw new Error(`api.loggingLevel ${props.loggingLevel} needs the account's API Gateway CloudWatch role, but cloudWatchRole is NONE; use CloudWatchRoleMode.CREATE or USE_EXISTING, or remove loggingLevel.`);
    }
    if (props.dataTraceEnabled) {
      throw new Error('api.dataTraceEnabled writes execution logs, which need the account\'s API Gateway CloudWatch role, but cloudWatchRole is NONE; use CloudWatchRoleMode.CREATE or USE_EXISTING.');
    }
  }

  if ((props.domainName === undefined) !== (props.certificate === undefined)) {
    throw new Error(`api.domainName and api.certificate go together; got ${props.domainName === undefined ? 'a certificate without domainName' : `domainName '${props.domainName}' without a certificate`}.`);
  }
  if (props.domainName !== undefined && !Token.isUnresolved(props.domainName) && !HOST_NAME.test(props.domainName)) {
    throw new Error(`api.domainName must be a fully qualified domain name such as 'api.example.com', got '${props.domainName}'.`);
  }
  const tlsHost = props.integrationTlsHostname;
  if (tlsHost !== undefined && !Token.isUnresolved(tlsHost) && !HOST_NAME.test(tlsHost)) {
    throw new Error(`api.integrationTlsHostname must be a fully qualified host name such as 'backend.example.com' (no scheme, port, path or wildcard), covered by the load balancer's certificate, got '${tlsHost}'.`);
  }

  if (!r.cacheEnabled) {
    for (const prop of ['cacheClusterSize', 'cacheTtl'] as const) {
      if (props[prop] !== undefined) throw new Error(`api.${prop} applies only with cacheEnabled: true; set cacheEnabled or remove ${prop}.`);
    }
  } else {
    if (props.openApiDocument === undefined) {
      throw new Error('api.cacheEnabled needs api.openApiDocument: with the greedy proxy API Gateway cannot key the cache on query strings it does not know, so different requests would share a cached response.');
    }
    if (props.cacheClusterSize !== undefined && !CACHE_SIZES.includes(props.cacheClusterSize)) {
      throw new Error(`api.cacheClusterSize must be one of ${CACHE_SIZES.join(', ')} (GB), got '${props.cacheClusterSize}'.`);
    }
    const ttl = props.cacheTtl?.toSeconds();
    if (ttl !== undefined && known(ttl) && (ttl < 0 || ttl > 3600)) {
      throw new Error(`api.cacheTtl must be from 0 to 3600 seconds, got ${ttl} s.`);
    }
  }
}
