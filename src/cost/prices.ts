// The one price table of the cost estimator: AWS on-demand list prices, USD, excluding tax,
// free tier and credits. Each price names the page it comes from and the day it was checked.
// `verified: true` only where the AWS page itself was read and showed the figure on that day.
// `verified: false` means it could not be confirmed there: the estimator prints such prices with
// a mark and lists them under the total.
//
// Looked for again on 2026-11-30, in the stored copies of the AWS pages (only an AWS page counts):
// - The regional rate tables of the Lambda, Fargate, VPC (NAT gateway, public IPv4), ELB,
//   PrivateLink, CloudWatch, Aurora and API Gateway pricing pages are rendered in the browser from
//   price tokens; the stored text has the tabs' names but no figures. What those pages do state:
//   https://aws.amazon.com/privatelink/pricing/ bills an interface endpoint per AZ and hour (a
//   partial hour as a full one), as the estimator counts; https://aws.amazon.com/cloudwatch/pricing/
//   gives 3 dashboards (up to 50 metrics each) and 10 standard-resolution alarm metrics a month
//   free, and "Pricing varies by Region"; https://aws.amazon.com/api-gateway/pricing/ a free tier
//   of 1 million REST calls a month for 12 months only.
// - The AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs" (cost
//   optimization) lists REST requests at 3.50 USD per million for the first 333 million: the
//   us-east-1 price, not Singapore's, so it does not confirm 4.25.
// - AWS's WAF blog ("Cost-effective ways for securing your web applications using AWS WAF") says WAF
//   prices are the same in every region, without the figures; the Secrets Manager, WAF and Lambda
//   figures were found only on third-party pages quoting AWS, which is not the same as confirming.
// - Third-party pages agreed with the NAT gateway (0.059 USD/h in ap-southeast-1), public IPv4
//   (0.005 USD/h, every region), WAF (5 / 1 / 0.60), Secrets Manager (0.40) and Lambda x86_64/arm64
//   (0.0000166667 / 0.0000133334 per GB-second, 0.20 per million requests) prices.

/** One unit price. */
export interface Price {
  readonly usd: number;
  /** What one unit is, e.g. 'hour', 'GB-month'. */
  readonly per: string;
  /** Where the price is published. */
  readonly source: string;
  /** When the price was last checked against `source` (YYYY-MM-DD). */
  readonly checked: string;
  readonly verified: boolean;
}

/** The unit prices the estimator knows, by name. */
export interface PriceTable {
  readonly region: string;
  readonly natGatewayHour: Price;
  readonly publicIpv4Hour: Price;
  readonly interfaceEndpointAzHour: Price;
  readonly loadBalancerHour: Price;
  readonly fargateVcpuHourX86: Price;
  readonly fargateGbHourX86: Price;
  readonly fargateVcpuHourArm: Price;
  readonly fargateGbHourArm: Price;
  readonly fargateSpotDiscount: Price;
  readonly ec2InstanceHour: Record<string, Price>;
  readonly ebsGp3GbMonth: Price;
  readonly ebsGp2GbMonth: Price;
  readonly kmsKeyMonth: Price;
  readonly kmsRotationMonth: Price;
  readonly secretMonth: Price;
  readonly wafAclMonth: Price;
  readonly wafRuleMonth: Price;
  readonly wafMillionRequests: Price;
  readonly alarmMetricMonth: Price;
  readonly alarmHighResMetricMonth: Price;
  readonly compositeAlarmMonth: Price;
  readonly dashboardMonth: Price;
  readonly customMetricMonth: Price;
  readonly auroraAcuHour: Price;
  readonly auroraStorageGbMonth: Price;
  readonly advancedParameterMonth: Price;
  readonly restApiMillionRequests: Price;
  readonly lambdaMillionRequests: Price;
  readonly lambdaGbSecondX86: Price;
  readonly lambdaGbSecondArm: Price;
  readonly lambdaProvisionedGbSecondX86: Price;
  readonly lambdaProvisionedGbSecondArm: Price;
}

const VPC = 'https://aws.amazon.com/vpc/pricing/';
const PRIVATELINK = 'https://aws.amazon.com/privatelink/pricing/';
const ELB = 'https://aws.amazon.com/elasticloadbalancing/pricing/';
const FARGATE = 'https://aws.amazon.com/fargate/pricing/';
const EC2 = 'https://aws.amazon.com/ec2/pricing/on-demand/';
const EBS = 'https://aws.amazon.com/ebs/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';
const SECRETS = 'https://aws.amazon.com/secrets-manager/pricing/';
const WAF = 'https://aws.amazon.com/waf/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const AURORA = 'https://aws.amazon.com/rds/aurora/pricing/';
const SSM = 'https://aws.amazon.com/systems-manager/pricing/';
const APIGW = 'https://aws.amazon.com/api-gateway/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';

const CHECKED = '2026-11-30';

function p(usd: number, per: string, source: string, verified: boolean): Price {
  return { usd, per, source, checked: CHECKED, verified };
}

/** Asia Pacific (Singapore). */
export const AP_SOUTHEAST_1: PriceTable = {
  region: 'ap-southeast-1',
  natGatewayHour: p(0.059, 'NAT gateway-hour', VPC, false),
  publicIpv4Hour: p(0.005, 'public IPv4 address-hour', VPC, false),
  interfaceEndpointAzHour: p(0.013, 'endpoint-AZ-hour', PRIVATELINK, false),
  loadBalancerHour: p(0.0252, 'load balancer-hour', ELB, false),
  fargateVcpuHourX86: p(0.05056, 'vCPU-hour (x86_64)', FARGATE, false),
  fargateGbHourX86: p(0.00553, 'GB-hour (x86_64)', FARGATE, false),
  fargateVcpuHourArm: p(0.04045, 'vCPU-hour (ARM64)', FARGATE, false),
  fargateGbHourArm: p(0.00442, 'GB-hour (ARM64)', FARGATE, false),
  // Spot prices float; this is the typical discount, not a price.
  fargateSpotDiscount: p(0.7, 'fraction off on-demand (Fargate Spot, typical)', FARGATE, false),
  ec2InstanceHour: {
    't4g.nano': p(0.0054, 'instance-hour', EC2, false),
    't4g.micro': p(0.0108, 'instance-hour', EC2, false),
    't3.nano': p(0.0066, 'instance-hour', EC2, false),
    't3.micro': p(0.0132, 'instance-hour', EC2, false),
  },
  ebsGp3GbMonth: p(0.096, 'GB-month (gp3)', EBS, false),
  ebsGp2GbMonth: p(0.12, 'GB-month (gp2)', EBS, false),
  kmsKeyMonth: p(1, 'key-month', KMS, true),
  // Each of the first two rotations adds one key-month; later rotations are free.
  kmsRotationMonth: p(1, 'rotated key version-month (first two rotations)', KMS, false),
  secretMonth: p(0.4, 'secret-month', SECRETS, false),
  wafAclMonth: p(5, 'web ACL-month', WAF, false),
  wafRuleMonth: p(1, 'rule-month', WAF, false),
  wafMillionRequests: p(0.6, 'million requests', WAF, false),
  alarmMetricMonth: p(0.1, 'alarm metric-month (standard resolution)', CLOUDWATCH, false),
  alarmHighResMetricMonth: p(0.3, 'alarm metric-month (high resolution)', CLOUDWATCH, false),
  compositeAlarmMonth: p(0.5, 'composite alarm-month', CLOUDWATCH, false),
  dashboardMonth: p(3, 'dashboard-month (beyond 3 free per account)', CLOUDWATCH, false),
  customMetricMonth: p(0.3, 'metric-month (first 10,000)', CLOUDWATCH, false),
  auroraAcuHour: p(0.16, 'ACU-hour (Aurora Standard)', AURORA, false),
  auroraStorageGbMonth: p(0.11, 'GB-month (Aurora Standard)', AURORA, false),
  advancedParameterMonth: p(0.05, 'advanced parameter-month', SSM, false),
  restApiMillionRequests: p(4.25, 'million REST API requests (first 333 million)', APIGW, false),
  lambdaMillionRequests: p(0.2, 'million Lambda requests', LAMBDA, false),
  // First tier (6 billion GB-seconds a month on x86_64, 7.5 billion on arm64).
  lambdaGbSecondX86: p(0.0000166667, 'Lambda GB-second (x86_64)', LAMBDA, false),
  lambdaGbSecondArm: p(0.0000133334, 'Lambda GB-second (arm64)', LAMBDA, false),
  // Billed for as long as it is configured, used or not.
  lambdaProvisionedGbSecondX86: p(0.0000041667, 'Lambda provisioned concurrency GB-second (x86_64)', LAMBDA, false),
  lambdaProvisionedGbSecondArm: p(0.0000033334, 'Lambda provisioned concurrency GB-second (arm64)', LAMBDA, false),
};

/** The price tables by region. */
export const PRICE_TABLES: Record<string, PriceTable> = {
  'ap-southeast-1': AP_SOUTHEAST_1,
};
