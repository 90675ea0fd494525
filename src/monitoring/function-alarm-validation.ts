// Internal (not re-exported from index.ts): checks of the function alarms' thresholds, so each
// message names the prop as the user set it (`monitoring.functionAlarms.<name>` on the umbrella).
import { Duration, Token } from 'aws-cdk-lib';

export interface FunctionAlarmThresholds {
  readonly errorRatePercent?: number;
  readonly durationPercentOfTimeout?: number;
  readonly concurrencyPercentOfLimit?: number;
  readonly accountConcurrencyLimit?: number;
}

export function checkFunctionAlarmThresholds(options: FunctionAlarmThresholds, prefix: string): void {
  for (const name of ['errorRatePercent', 'durationPercentOfTimeout', 'concurrencyPercentOfLimit'] as const) {
    const value = options[name];
    if (value !== undefined && !Token.isUnresolved(value) && !(value > 0 && value <= 100)) {
      throw new Error(`${prefix}${name} must be a percentage above 0 and at most 100, got ${value}.`);
    }
  }
  const limit = options.accountConcurrencyLimit;
  if (limit !== undefined && !Token.isUnresolved(limit) && !(Number.isInteger(limit) && limit >= 1)) {
    throw new Error(`${prefix}accountConcurrencyLimit must be a whole number, 1 or more (Service Quotas, Lambda "Concurrent executions"), got ${limit}.`);
  }
}

/** A Lambda function's timeout: 1 second to 15 minutes. */
export function checkFunctionTimeout(timeout: Duration, prop: string): void {
  if (Token.isUnresolved(timeout.toString())) return;
  const seconds = timeout.toMilliseconds() / 1000;
  if (!(seconds >= 1 && seconds <= 900)) {
    throw new Error(`${prop} must be the function's timeout, 1 second to 15 minutes, got ${timeout.toHumanString()}.`);
  }
}
