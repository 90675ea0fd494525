import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { checkFunctionAlarmThresholds, checkFunctionTimeout } from './function-alarm-validation';
import { suppressAlarmActionsLeftToCaller } from '../core/suppressions';

/**
 * Thresholds of the function's alarms. The defaults suit a Flask app behind a REST API, which
 * answers its own errors with JSON: a function error is a crash, a timeout or running out of
 * memory, never a handled 4XX/5XX.
 */
export interface FlaskFunctionAlarmOptions {
  /**
   * Alarm when more than this percentage of invocations ends in a function error (crash, timeout,
   * out of memory) in a five-minute period. At low traffic one failed request is enough: each is a
   * request that got no answer from the app.
   * @default 1
   */
  readonly errorRatePercent?: number;

  /**
   * Alarm when the p99 duration is above this percentage of the function's timeout in 2 of 3
   * five-minute periods, before requests start timing out. One slow period (a cold start that
   * waits for a paused database to resume) does not alarm.
   * @default 85
   */
  readonly durationPercentOfTimeout?: number;

  /**
   * Alarm when the function's highest concurrency in a five-minute period is at or above this
   * percentage of its limit (its reserved concurrency, or `accountConcurrencyLimit`) in 2 of 3
   * periods: time to raise the limit before requests are throttled. Throttled requests alarm
   * separately, at once.
   * @default 80
   */
  readonly concurrencyPercentOfLimit?: number;

  /**
   * The account's concurrency quota in this region (Service Quotas, "Concurrent executions"),
   * the limit a function without reserved concurrency shares with the account's other functions.
   * New accounts start with less than the default quota: set yours.
   * @default 1000 (the default quota)
   */
  readonly accountConcurrencyLimit?: number;
}

/** Props of `FlaskFunctionAlarms`. */
export interface FlaskFunctionAlarmsProps extends FlaskFunctionAlarmOptions {
  /** The function that serves the app. */
  readonly lambdaFunction: lambda.IFunction;

  /**
   * The function's timeout (`lambda.IFunction` does not expose it): the duration alarm's
   * threshold is a percentage of it.
   */
  readonly timeout: Duration;

  /**
   * The function's reserved concurrency, if it has one: the concurrency alarm's limit.
   * @default - no reserved concurrency; the limit is `accountConcurrencyLimit`
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * Alarms (without actions) and dashboard widgets for a Lambda function that serves the app:
 * function errors, throttles, p99 duration near the timeout, concurrency near its limit.
 * `FlaskServerlessMonitoring` routes them to its topic (`lambdaFunction` prop or `monitorFunction`).
 */
export class FlaskFunctionAlarms extends Construct {
  /** The alarms, with no actions. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The concurrency the concurrency alarm measures against. */
  public readonly concurrencyLimit: number;
  private readonly fn: lambda.IFunction;
  private readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: FlaskFunctionAlarmsProps) {
    super(scope, id);
    this.fn = props.lambdaFunction;
    this.timeout = props.timeout;
    checkFunctionAlarmThresholds(props, '');
    checkFunctionTimeout(props.timeout, 'timeout');
    const errorRate = props.errorRatePercent ?? 1;
    const durationPercent = props.durationPercentOfTimeout ?? 85;
    const concurrencyPercent = props.concurrencyPercentOfLimit ?? 80;
    const account = props.accountConcurrencyLimit ?? 1000;
    const reserved = props.reservedConcurrentExecutions;
    if (reserved !== undefined && !Token.isUnresolved(reserved) && !(Number.isInteger(reserved) && reserved >= 0)) {
      throw new Error(`reservedConcurrentExecutions must be a whole number, 0 or more, got ${reserved}.`);
    }
    // Reserved concurrency 0 stops the function: nothing to measure against, the throttle alarm says it.
    this.concurrencyLimit = reserved !== undefined && !Token.isUnresolved(reserved) && reserved > 0 ? reserved : account;
    const timeoutMs = props.timeout.toMilliseconds();
    const period = Duration.minutes(5);

    this.alarms.push(new cloudwatch.Alarm(this, 'ErrorRateAlarm', {
      alarmDescription: `More than ${errorRate}% of the function's invocations crashed, timed out or ran out of memory in five minutes (the app's own errors are answers, not function errors): see the function's log.`,
      metric: this.metricErrorRate({ period }),
      threshold: errorRate,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    this.alarms.push(new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
      alarmDescription: 'The function throttled requests in the last five minutes (its concurrency limit was reached): raise reserved concurrency or the account quota.',
      metric: this.metricThrottles({ period }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    const durationThreshold = Math.round(timeoutMs * durationPercent / 100);
    this.alarms.push(new cloudwatch.Alarm(this, 'DurationAlarm', {
      alarmDescription: `p99 function duration above ${durationThreshold} ms (${durationPercent}% of the ${props.timeout.toHumanString()} timeout) in 2 of 3 five-minute periods: requests are about to time out.`,
      metric: this.metricDuration({ statistic: 'p99', period }),
      threshold: durationThreshold,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    const concurrencyThreshold = Math.max(1, Math.floor(this.concurrencyLimit * concurrencyPercent / 100));
    this.alarms.push(new cloudwatch.Alarm(this, 'ConcurrencyAlarm', {
      alarmDescription: `Function concurrency reached ${concurrencyThreshold} (${concurrencyPercent}% of its limit of ${this.concurrencyLimit}) in 2 of 3 five-minute periods: raise the limit before requests are throttled.`,
      metric: this.metricConcurrentExecutions({ period }),
      threshold: concurrencyThreshold,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    suppressAlarmActionsLeftToCaller(this.alarms);
  }

  /** Invocations (Sum, one minute). */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1), ...props });
  }

  /** Function errors: crashes, timeouts, out of memory (Sum, one minute). */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1), ...props });
  }

  /** Throttled invocations (Sum, one minute). */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1), ...props });
  }

  /** Duration in milliseconds (p99, one minute). */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fn.metricDuration({ statistic: 'p99', period: Duration.minutes(1), ...props });
  }

  /**
   * Concurrent executions of this function (Maximum, one minute, as the Lambda guide advises).
   * Lambda emits it for every function.
   */
  public metricConcurrentExecutions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fn.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1), ...props });
  }

  /** Percentage of invocations that ended in a function error (no value in periods without invocations). */
  public metricErrorRate(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const period = props?.period ?? Duration.minutes(1);
    return new cloudwatch.MathExpression({
      // Lambda emits Invocations and Errors only for periods with invocations: no division by zero.
      expression: '100 * errors / invocations',
      usingMetrics: {
        errors: this.metricErrors({ period }),
        invocations: this.metricInvocations({ period }),
      },
      label: 'Function error rate (%)',
      ...props,
      period,
    });
  }

  /** The dashboard graphs: invocations and errors, throttles, duration against the timeout, concurrency against the limit. */
  public widgets(): cloudwatch.IWidget[] {
    const timeoutMs = this.timeout.toMilliseconds();
    return [
      new cloudwatch.GraphWidget({
        title: 'Invocations / function errors',
        left: [this.metricInvocations()],
        right: [this.metricErrors()],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({ title: 'Throttles', left: [this.metricThrottles()], width: 6, height: 6 }),
      new cloudwatch.GraphWidget({
        title: 'Duration (p50, p99, ms)',
        left: [this.metricDuration({ statistic: 'p50' }), this.metricDuration({ statistic: 'p99' })],
        leftAnnotations: [{ value: timeoutMs, label: `timeout ${this.timeout.toHumanString()}` }],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Concurrent executions (max)',
        left: [this.metricConcurrentExecutions()],
        leftAnnotations: [{ value: this.concurrencyLimit, label: `limit ${this.concurrencyLimit}` }],
        width: 6,
        height: 6,
      }),
    ];
  }
}
