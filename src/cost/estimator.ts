import * as fs from 'fs';
import { Stack, Stage, Token } from 'aws-cdk-lib';
import { PRICE_TABLES } from './prices';
import { Estimate, estimateTemplate, HOURS_PER_MONTH, Line } from './template-cost';

/** Options of a cost estimate. */
export interface CostEstimateOptions {
  /**
   * Region whose prices apply. Only regions with a price table are accepted.
   * @default 'ap-southeast-1'
   */
  readonly region?: string;

  /**
   * Requests per second one task serves, to turn task-hours and Aurora awake hours into a cost
   * per million requests. An assumption, not a measurement: set it from your own load test.
   * @default 20
   */
  readonly requestsPerTaskSecond?: number;

  /**
   * Aurora storage in use, GB (billed on what is used, not provisioned).
   * @default 1
   */
  readonly auroraStorageGb?: number;

  /**
   * Average billed duration of one request in a Lambda function that serves the API, in
   * milliseconds, cold starts included: turns requests into GB-seconds. An assumption, not a
   * measurement: set it from the function's `Duration` metric.
   * @default 100
   */
  readonly lambdaDurationMs?: number;

  /**
   * Also price a steady rate of this many requests per minute (`atRequestRate`): API Gateway,
   * WAF and Lambda requests, Lambda GB-seconds, Fargate tasks beyond the idle count, and the hours
   * Aurora stays awake.
   * @default - idle and per-million-requests figures only
   */
  readonly requestsPerMinute?: number;
}

/** One priced line of an estimate. */
export interface CostLine {
  /** What is priced, e.g. 'NAT gateways'. */
  readonly item: string;
  /** How many units. */
  readonly quantity: number;
  /** The unit counted, e.g. 'gateway'. */
  readonly unit: string;
  /** USD per unit and period, see `priceUnit`. */
  readonly unitPriceUsd: number;
  /** What `unitPriceUsd` is per, e.g. 'gateway-hour' (times `hoursPerMonth`) or 'key-month'. */
  readonly priceUnit: string;
  /** USD per month (or per million requests, in `perMillionRequests`). */
  readonly usd: number;
  /** True when every price behind this line was confirmed on its source page. */
  readonly verified: boolean;
  /** The pages the prices come from. */
  readonly sources: string[];
  /** Logical ids of the template resources behind the line. */
  readonly resources: string[];
  /**
   * What else to know about the line.
   * @default - nothing
   */
  readonly note?: string;
}

/** A resource the estimator could not price. */
export interface UnpricedResource {
  /** Logical id in the template. */
  readonly logicalId: string;
  /** CloudFormation type. */
  readonly type: string;
  /** Why it is not priced. */
  readonly reason: string;
}

/** A price the estimator used but could not confirm. */
export interface UnverifiedPrice {
  /** The unit, e.g. 'endpoint-AZ-hour'. */
  readonly per: string;
  /** USD per unit. */
  readonly usd: number;
  /** The page to check it on. */
  readonly source: string;
  /** When it was last looked for. */
  readonly checked: string;
}

/** What a steady request rate adds to the idle cost. */
export interface RequestRateCost {
  /** The rate priced. */
  readonly requestsPerMinute: number;
  /** Requests in a month of `hoursPerMonth` hours at that rate. */
  readonly requestsPerMonth: number;
  /** USD per month the traffic adds, by line (`usd` is per month). */
  readonly lines: CostLine[];
  /** USD per month at that rate: the idle total plus `lines`. */
  readonly monthlyUsd: number;
  /** Assumptions behind the lines. */
  readonly assumptions: string[];
}

/** What a synthesized template costs at idle, line by line. */
export interface CostEstimate {
  /** Region of the prices. */
  readonly region: string;
  /** Hours in the month the hourly prices are multiplied by. */
  readonly hoursPerMonth: number;
  /** Idle USD per month, by line. */
  readonly lines: CostLine[];
  /** Idle USD per month, the sum of `lines`, with each key in its first year. */
  readonly monthlyUsd: number;
  /** Idle USD per month once every rotating KMS key has rotated twice (from its third year on). */
  readonly monthlyUsdAfterKeyRotations: number;
  /** USD per month still billed after the stack is deleted, by resources it retains (keys, snapshots). */
  readonly retainedAfterDeleteMonthlyUsd: number;
  /** USD per million requests, by part. */
  readonly perMillionRequests: CostLine[];
  /** Resources the estimator does not know: check them yourself. */
  readonly notPriced: UnpricedResource[];
  /** Prices used that could not be confirmed. */
  readonly unverifiedPrices: UnverifiedPrice[];
  /** Assumptions behind the lines. */
  readonly assumptions: string[];
  /**
   * The monthly cost at `requestsPerMinute`.
   * @default - not computed unless `requestsPerMinute` is given
   */
  readonly atRequestRate?: RequestRateCost;
}

/**
 * Estimates what a synthesized CloudFormation template costs per month at idle (no traffic,
 * database paused where it can pause), and per million requests, from a price table kept in
 * this package. Also shipped as the command `cdk-flask-serverless cost <template.json>`.
 */
export class CostEstimator {
  /** Estimates a template given as JSON text. */
  public static fromTemplateJson(json: string, options: CostEstimateOptions = {}): CostEstimate {
    return CostEstimator.estimate(JSON.parse(json), options);
  }

  /** Estimates a template file, e.g. `cdk.out/MyStack.template.json`. */
  public static fromTemplateFile(path: string, options: CostEstimateOptions = {}): CostEstimate {
    return CostEstimator.fromTemplateJson(fs.readFileSync(path, 'utf-8'), options);
  }

  /** Synthesizes the stack's app and estimates the stack's template. */
  public static fromStack(stack: Stack, options: CostEstimateOptions = {}): CostEstimate {
    const stage = Stage.of(stack);
    if (!stage) throw new Error('CostEstimator.fromStack needs a stack inside an App or Stage.');
    const template = stage.synth({ force: true }).getStackArtifact(stack.artifactId).template;
    const region = options.region ?? (Token.isUnresolved(stack.region) ? undefined : stack.region);
    return CostEstimator.estimate(template, { ...options, region });
  }

  /** The estimate as a plain-text report, one line per item, unverified prices marked with `*`. */
  public static format(estimate: CostEstimate): string {
    const out: string[] = [];
    const row = (l: CostLine) =>
      `  ${money(l.usd).padStart(8)}${l.verified ? ' ' : '*'}  ${l.item}: ${fmtQty(l.quantity)} x ${l.unitPriceUsd} USD per ${l.priceUnit}${l.note ? ` (${l.note})` : ''}`;
    out.push(`Idle cost, USD/month (${estimate.region}, ${estimate.hoursPerMonth} h, no traffic):`);
    for (const l of estimate.lines) out.push(row(l));
    out.push(`  ${money(estimate.monthlyUsd).padStart(8)}   TOTAL at idle`);
    if (estimate.monthlyUsdAfterKeyRotations !== estimate.monthlyUsd) {
      out.push(`  ${money(estimate.monthlyUsdAfterKeyRotations).padStart(8)}   TOTAL at idle once the KMS keys have rotated twice`);
    }
    if (estimate.retainedAfterDeleteMonthlyUsd > 0) {
      out.push(`  ${money(estimate.retainedAfterDeleteMonthlyUsd).padStart(8)}   still billed per month after the stack is deleted (retained resources)`);
    }
    const rate = estimate.atRequestRate;
    if (rate) {
      out.push('', `At ${fmtQty(rate.requestsPerMinute)} requests per minute (${rate.requestsPerMonth.toLocaleString('en-US')} requests a month), USD/month:`);
      out.push(`  ${money(estimate.monthlyUsd).padStart(8)}   idle total (above)`);
      for (const l of rate.lines) {
        out.push(`  ${money(l.usd).padStart(8)}${l.verified ? ' ' : '*'}  ${l.item}: ${fmtQty(l.quantity)} x ${l.unitPriceUsd} USD per ${l.priceUnit}${l.note ? ` (${l.note})` : ''}`);
      }
      out.push(`  ${money(rate.monthlyUsd).padStart(8)}   TOTAL at ${fmtQty(rate.requestsPerMinute)} requests per minute`);
      for (const a of rate.assumptions) out.push(`           ${a}`);
    }
    if (estimate.perMillionRequests.length) {
      out.push('', 'Per million requests, USD:');
      for (const l of estimate.perMillionRequests) {
        out.push(`  ${money(l.usd).padStart(8)}${l.verified ? ' ' : '*'}  ${l.item}${l.note ? ` (${l.note})` : ''}`);
      }
    }
    out.push('', estimate.notPriced.length ? 'Not priced (check these yourself):' : 'Not priced: none.');
    for (const u of estimate.notPriced) out.push(`  ${u.logicalId} (${u.type}): ${u.reason}`);
    if (estimate.assumptions.length) {
      out.push('', 'Assumptions:');
      for (const a of estimate.assumptions) out.push(`  ${a}`);
    }
    if (estimate.unverifiedPrices.length) {
      out.push('', '* unverified prices (check them before you rely on the total):');
      for (const p of estimate.unverifiedPrices) out.push(`  ${p.usd} USD per ${p.per}: ${p.source} (looked for ${p.checked})`);
    }
    return out.join('\n');
  }

  private static estimate(template: Record<string, unknown>, options: CostEstimateOptions): CostEstimate {
    const region = options.region ?? 'ap-southeast-1';
    const prices = PRICE_TABLES[region];
    if (!prices) {
      throw new Error(`No price table for region '${region}'; the estimator knows ${Object.keys(PRICE_TABLES).join(', ')}.`);
    }
    const requestsPerTaskSecond = options.requestsPerTaskSecond ?? 20;
    if (!(requestsPerTaskSecond > 0)) throw new Error(`requestsPerTaskSecond must be above 0, got ${requestsPerTaskSecond}.`);
    const auroraStorageGb = options.auroraStorageGb ?? 1;
    if (!(auroraStorageGb >= 0)) throw new Error(`auroraStorageGb must be 0 or more, got ${auroraStorageGb}.`);
    const lambdaDurationMs = options.lambdaDurationMs ?? 100;
    if (!(lambdaDurationMs > 0)) throw new Error(`lambdaDurationMs must be above 0, got ${lambdaDurationMs}.`);
    const requestsPerMinute = options.requestsPerMinute;
    if (requestsPerMinute !== undefined && !(requestsPerMinute >= 0)) throw new Error(`requestsPerMinute must be 0 or more, got ${requestsPerMinute}.`);
    if (!template || typeof template !== 'object' || typeof template.Resources !== 'object') {
      throw new Error('Not a CloudFormation template: no Resources section.');
    }
    return toPublic(estimateTemplate(template, prices, { requestsPerTaskSecond, auroraStorageGb, lambdaDurationMs, requestsPerMinute }));
  }

  private constructor() {}
}

// Units priced per use, not per hour or month.
const PER_USE_UNITS = ['million requests', 'GB-second', 'ACU-hour', 'task-hour'];

function toLine(l: Line): CostLine {
  return {
    item: l.item,
    quantity: l.quantity,
    unit: l.unit,
    unitPriceUsd: round6(l.unitPriceUsd),
    priceUnit: PER_USE_UNITS.includes(l.unit) ? l.unit : `${l.unit}-${l.hourly ? 'hour' : 'month'}`,
    usd: l.monthlyUsd,
    verified: l.price.every((p) => p.verified),
    sources: [...new Set(l.price.map((p) => p.source))],
    resources: l.resources,
    note: l.note,
  };
}

function toPublic(e: Estimate): CostEstimate {
  return {
    region: e.region,
    hoursPerMonth: HOURS_PER_MONTH,
    lines: e.lines.map(toLine),
    monthlyUsd: e.monthlyUsd,
    monthlyUsdAfterKeyRotations: e.monthlyUsdAfterKeyRotations,
    retainedAfterDeleteMonthlyUsd: e.retainedAfterDeleteMonthlyUsd,
    perMillionRequests: e.perMillion.map(toLine),
    notPriced: e.notPriced.map((u) => ({ ...u })),
    unverifiedPrices: e.unverified.map((p) => ({ per: p.per, usd: p.usd, source: p.source, checked: p.checked })),
    assumptions: e.assumptions,
    atRequestRate: e.atRate && {
      requestsPerMinute: e.atRate.requestsPerMinute,
      requestsPerMonth: e.atRate.requestsPerMonth,
      lines: e.atRate.lines.map(toLine),
      monthlyUsd: e.atRate.monthlyUsd,
      assumptions: e.atRate.assumptions,
    },
  };
}

function round6(n: number): number {
  // Per-GB-second and similar prices are below a thousandth of a dollar: keep six significant digits.
  return Math.abs(n) < 0.001 ? Number(n.toPrecision(6)) : Math.round(n * 1e6) / 1e6;
}

function money(n: number): string {
  return n.toFixed(2);
}

function fmtQty(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
