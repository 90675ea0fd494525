import { Token } from 'aws-cdk-lib';

/** Throws unless `value` (named `prop` in the message) is a TCP port; tokens pass. */
export function validatePort(prop: string, value: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${prop} must be a TCP port from 1 to 65535, got ${value}.`);
  }
}
