import { Token } from 'aws-cdk-lib';

/** Throws unless `value` (named `prop` in the message) is a TCP port; tokens pass. */
export function validatePort(prop: string, value: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${prop} must be a TCP port from 1 to 65535, got ${value}.`);
  }
}

/** Throws unless `value` is a valid API Gateway stage name (`api.stageName`); tokens pass. */
export function validateStageName(value: string): void {
  if (!Token.isUnresolved(value) && !/^[A-Za-z0-9_-]{1,128}$/.test(value)) {
    throw new Error(`api.stageName must be 1-128 letters, digits, '-' or '_' (API Gateway's rule), got '${value}'.`);
  }
}
