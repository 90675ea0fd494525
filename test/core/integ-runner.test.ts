import { checkIntegRunnerCanRead, INTEG_RUNNER_MAX_SCHEMA } from '../../src/core/integ-runner';

describe('the synth-time check for integ-runner', () => {
  const saved = { ...process.env };
  afterEach(() => { process.env = { ...saved }; });

  test('under integ-runner, a schema it cannot read fails with the aws-cdk-lib to use', () => {
    process.env.CDK_INTEG_ACCOUNT = '12345678';
    expect(() => checkIntegRunnerCanRead('55.0.0'))
      .toThrow(/writes cloud assembly schema 55\.0\.0, but @aws-cdk\/integ-runner .* reads schema 53 at most\. Run integ tests with aws-cdk-lib 2\.257\.0/);
  });

  test('under integ-runner, the schema it reads passes', () => {
    process.env.CDK_INTEG_ACCOUNT = '12345678';
    expect(() => checkIntegRunnerCanRead(`${INTEG_RUNNER_MAX_SCHEMA}.0.0`)).not.toThrow();
  });

  test('outside integ-runner (cdk synth, cdk deploy) any schema passes', () => {
    delete process.env.CDK_INTEG_ACCOUNT;
    expect(() => checkIntegRunnerCanRead('55.0.0')).not.toThrow();
  });

  test('the escape hatch turns the check off', () => {
    process.env.CDK_INTEG_ACCOUNT = '12345678';
    process.env.CDK_FLASK_SERVERLESS_SKIP_INTEG_RUNNER_CHECK = '1';
    expect(() => checkIntegRunnerCanRead('55.0.0')).not.toThrow();
  });

  test('the aws-cdk-lib this project builds with is one integ-runner reads', () => {
    process.env.CDK_INTEG_ACCOUNT = '12345678';
    expect(() => checkIntegRunnerCanRead()).not.toThrow();
  });
});
