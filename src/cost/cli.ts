#!/usr/bin/env node
// The package's command: `cdk-flask-serverless cost <template.json>... [--json] [--region R]
// [--requests-per-task-second N] [--aurora-storage-gb N] [--rpm N] [--lambda-duration-ms N]`.
import { CostEstimateOptions, CostEstimator } from './estimator';

const USAGE = 'usage: cdk-flask-serverless cost <template.json>... [--json] [--region ap-southeast-1] [--requests-per-task-second 20] [--aurora-storage-gb 1] [--rpm 100] [--lambda-duration-ms 100]';

/** Runs the command; returns the exit code. Exported for tests. */
export function main(argv: string[], write: (text: string) => void): number {
  const [command, ...rest] = argv;
  if (command !== 'cost') {
    write(USAGE);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  const files: string[] = [];
  let json = false;
  let options: CostEstimateOptions = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') json = true;
    else if (arg === '--region') options = { ...options, region: value() };
    else if (arg === '--requests-per-task-second') options = { ...options, requestsPerTaskSecond: Number(value()) };
    else if (arg === '--aurora-storage-gb') options = { ...options, auroraStorageGb: Number(value()) };
    else if (arg === '--rpm' || arg === '--requests-per-minute') options = { ...options, requestsPerMinute: Number(value()) };
    else if (arg === '--lambda-duration-ms') options = { ...options, lambdaDurationMs: Number(value()) };
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else files.push(arg);
  }
  if (files.length === 0) {
    write(USAGE);
    return 2;
  }
  const estimates = files.map((f) => ({ file: f, estimate: CostEstimator.fromTemplateFile(f, options) }));
  if (json) {
    write(JSON.stringify(files.length === 1 ? estimates[0].estimate : estimates, undefined, 2));
  } else {
    write(estimates.map((e) => `${e.file}\n${CostEstimator.format(e.estimate)}`).join('\n\n'));
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2), (text) => console.log(text));
  } catch (e) {
    console.error(`cdk-flask-serverless: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
