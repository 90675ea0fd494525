import { Manifest } from 'aws-cdk-lib/cloud-assembly-schema';

/**
 * The newest cloud assembly schema that `@aws-cdk/integ-runner` reads: 2.197.x, the newest
 * release on npm, bundles its own copy of the schema (npm `overrides` cannot change it) and stops
 * with `AssemblyVersionMismatch` on anything newer.
 */
export const INTEG_RUNNER_MAX_SCHEMA = 53;
/** The newest aws-cdk-lib whose cloud assembly `@aws-cdk/integ-runner` 2.197.x can read. */
export const NEWEST_AWS_CDK_LIB_FOR_INTEG_RUNNER = '2.257.0';

/**
 * When the app runs under integ-runner (it sets `CDK_INTEG_ACCOUNT`) on an aws-cdk-lib whose
 * cloud assembly integ-runner cannot read, fail at synth with the versions that work, instead of
 * integ-runner's later `AssemblyVersionMismatch`. Plain `cdk synth` and `cdk deploy` are not
 * affected. Set `CDK_FLASK_SERVERLESS_SKIP_INTEG_RUNNER_CHECK=1` once an integ-runner reads the
 * newer schema.
 */
export function checkIntegRunnerCanRead(schemaVersion: string = Manifest.version()): void {
  if (process.env.CDK_INTEG_ACCOUNT === undefined || process.env.CDK_FLASK_SERVERLESS_SKIP_INTEG_RUNNER_CHECK) return;
  const major = Number(schemaVersion.split('.')[0]);
  if (major > INTEG_RUNNER_MAX_SCHEMA) {
    throw new Error(`This app's aws-cdk-lib writes cloud assembly schema ${schemaVersion}, but @aws-cdk/integ-runner `
      + `(2.197.x, the newest on npm) reads schema ${INTEG_RUNNER_MAX_SCHEMA} at most. Run integ tests with `
      + `aws-cdk-lib ${NEWEST_AWS_CDK_LIB_FOR_INTEG_RUNNER} (set it in package.json, then rm -rf node_modules package-lock.json && npm install); `
      + '`cdk synth` and `cdk deploy` work on the newer aws-cdk-lib. Once an integ-runner reads the newer schema, '
      + 'set CDK_FLASK_SERVERLESS_SKIP_INTEG_RUNNER_CHECK=1.');
  }
}
