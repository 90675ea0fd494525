import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FlaskFunctionAlarms, FlaskServerlessMonitoring, FlaskServerlessMonitoringProps } from '../../src/monitoring';
import { gatedApp, runGates } from '../util/gates';

function imageFunction(stack: Stack, props: Partial<lambda.DockerImageFunctionProps> = {}): lambda.DockerImageFunction {
  const repo = ecr.Repository.fromRepositoryName(stack, 'Repo', 'flask-app');
  return new lambda.DockerImageFunction(stack, 'Fn', {
    code: lambda.DockerImageCode.fromEcr(repo, { tagOrDigest: 'latest' }),
    timeout: Duration.seconds(30),
    ...props,
  });
}

function setup(props: Partial<FlaskServerlessMonitoringProps> = {}, fnProps: Partial<lambda.DockerImageFunctionProps> = {}, app = new App()) {
  const stack = new Stack(app, 'Test', { env: { region: 'ap-southeast-1' } });
  const fn = imageFunction(stack, fnProps);
  const monitoring = new FlaskServerlessMonitoring(stack, 'Monitoring', { lambdaFunction: fn, functionTimeout: Duration.seconds(30), ...props });
  return { stack, fn, monitoring, template: () => Template.fromStack(stack) };
}

function alarm(t: Template, idPart: string): any {
  const found = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.includes(idPart));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
}

const fnRef = { Ref: expect.stringMatching(/^Fn/) };

test('a function gets four alarms, each notifying the alarm topic on ALARM and OK', () => {
  const t = setup().template();
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
  expect(alarms).toHaveLength(4);
  for (const a of alarms) {
    expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) }]);
    expect(a.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) }]);
  }
});

test('the error alarm is the function\'s error rate: Errors over Invocations of this function, above 1% in five minutes', () => {
  const t = setup().template();
  const a = alarm(t, 'ErrorRateAlarm');
  expect(a.Threshold).toBe(1);
  expect(a.EvaluationPeriods).toBe(1);
  expect(a.ComparisonOperator).toBe('GreaterThanThreshold');
  expect(a.TreatMissingData).toBe('notBreaching');
  const expr = a.Metrics.find((m: any) => m.Expression);
  expect(expr.Expression).toBe('100 * errors / invocations');
  const stats = Object.fromEntries(a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat]));
  expect(stats.errors.Metric.MetricName).toBe('Errors');
  expect(stats.invocations.Metric.MetricName).toBe('Invocations');
  for (const s of Object.values(stats) as any[]) {
    expect(s.Metric.Namespace).toBe('AWS/Lambda');
    expect(s.Metric.Dimensions).toEqual([{ Name: 'FunctionName', Value: expect.objectContaining({ Ref: expect.stringMatching(/^Fn/) }) }]);
    expect(s.Stat).toBe('Sum');
    expect(s.Period).toBe(300);
  }
});

test('any throttled request alarms at once', () => {
  const a = alarm(setup().template(), 'ThrottlesAlarm');
  expect(a).toMatchObject({
    MetricName: 'Throttles',
    Namespace: 'AWS/Lambda',
    Statistic: 'Sum',
    Period: 300,
    Threshold: 1,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });
});

test('p99 duration alarms at 85% of the function timeout in 2 of 3 periods', () => {
  const a = alarm(setup().template(), 'DurationAlarm');
  expect(a).toMatchObject({
    MetricName: 'Duration',
    ExtendedStatistic: 'p99',
    Period: 300,
    Threshold: 25500,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    ComparisonOperator: 'GreaterThanThreshold',
  });
});

test('the duration threshold follows the timeout and the percentage given', () => {
  const a = alarm(setup({ functionTimeout: Duration.seconds(60), functionAlarms: { durationPercentOfTimeout: 90 } }).template(), 'DurationAlarm');
  expect(a.Threshold).toBe(54000);
});

test('concurrency alarms at 80% of the default account quota without reserved concurrency', () => {
  const a = alarm(setup().template(), 'ConcurrencyAlarm');
  expect(a).toMatchObject({
    MetricName: 'ConcurrentExecutions',
    Statistic: 'Maximum',
    Namespace: 'AWS/Lambda',
    Threshold: 800,
    Dimensions: [{ Name: 'FunctionName', Value: fnRef }],
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
});

test('concurrency alarms against reserved concurrency when the function has it', () => {
  const { template } = setup({ functionReservedConcurrency: 10 }, { reservedConcurrentExecutions: 10 });
  expect(alarm(template(), 'ConcurrencyAlarm').Threshold).toBe(8);
});

test('a lower account quota lowers the concurrency threshold', () => {
  const { template } = setup({ functionAlarms: { accountConcurrencyLimit: 10 } });
  expect(alarm(template(), 'ConcurrencyAlarm').Threshold).toBe(8);
});

test('the dashboard gets a Function section: invocations and errors, throttles, duration against the timeout, concurrency against the limit', () => {
  const t = setup().template();
  const body = JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
  expect(body).toContain('## Function');
  for (const title of ['Invocations / function errors', 'Throttles', 'Duration (p50, p99, ms)', 'Concurrent executions (max)']) {
    expect(body).toContain(title);
  }
  expect(body).toContain('\\"value\\":30000,\\"label\\":\\"timeout 30 seconds\\"');
  expect(body).toContain('\\"value\\":1000,\\"label\\":\\"limit 1000\\"');
});

test('without a function there are no function alarms and no Function section', () => {
  const stack = new Stack(new App(), 'Test');
  new FlaskServerlessMonitoring(stack, 'Monitoring');
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  expect(JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'))).not.toContain('## Function');
});

test('monitorFunction adds a function later, with the thresholds of functionAlarms', () => {
  const stack = new Stack(new App(), 'Test');
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(event, context):\n    return {}\n'),
    architecture: lambda.Architecture.ARM_64,
  });
  const monitoring = new FlaskServerlessMonitoring(stack, 'Monitoring', { functionAlarms: { errorRatePercent: 5 } });
  const added = monitoring.monitorFunction({ lambdaFunction: fn, timeout: Duration.seconds(10) });
  expect(monitoring.functions).toEqual([added]);
  expect(monitoring.alarms).toEqual(expect.arrayContaining(added.alarms));
  const t = Template.fromStack(stack);
  expect(alarm(t, 'ErrorRateAlarm').Threshold).toBe(5);
  expect(alarm(t, 'DurationAlarm').Threshold).toBe(8500);
});

test('FlaskFunctionAlarms alone creates alarms without actions, for the caller to route', () => {
  const stack = new Stack(new App(), 'Test');
  const fn = imageFunction(stack);
  const alarms = new FlaskFunctionAlarms(stack, 'Alarms', { lambdaFunction: fn, timeout: Duration.seconds(30) });
  expect(alarms.alarms).toHaveLength(4);
  for (const a of Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))) {
    expect(a.Properties.AlarmActions).toBeUndefined();
  }
});

test('the function alarms pass cdk-nag and cfn-guard', () => {
  const app = gatedApp();
  const { stack } = setup({}, {}, app);
  const findings = runGates(app, [stack]);
  // The function is the test's own; only what the monitoring construct builds is judged here.
  expect(findings.nag.filter((f) => f.includes('/Monitoring/'))).toEqual([]);
  expect(findings.guard.filter((f) => f.includes('Monitoring'))).toEqual([]);
});

describe('rejected at synth, naming the prop', () => {
  test('a function without its timeout', () => {
    const stack = new Stack(new App(), 'Test');
    const fn = imageFunction(stack);
    expect(() => new FlaskServerlessMonitoring(stack, 'Monitoring', { lambdaFunction: fn }))
      .toThrow(/monitoring.functionTimeout is required with monitoring.lambdaFunction/);
  });
  test('a timeout without a function', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new FlaskServerlessMonitoring(stack, 'Monitoring', { functionTimeout: Duration.seconds(30) }))
      .toThrow(/set lambdaFunction too/);
  });
  test('a timeout Lambda does not allow', () => {
    expect(() => setup({ functionTimeout: Duration.minutes(16) })).toThrow(/monitoring.functionTimeout must be the function's timeout, 1 second to 15 minutes, got 16 minutes/);
  });
  test('a percentage out of range', () => {
    expect(() => setup({ functionAlarms: { durationPercentOfTimeout: 120 } }))
      .toThrow(/monitoring.functionAlarms.durationPercentOfTimeout must be a percentage above 0 and at most 100, got 120/);
  });
  test('an account quota that is not a whole number', () => {
    expect(() => setup({ functionAlarms: { accountConcurrencyLimit: 0.5 } }))
      .toThrow(/monitoring.functionAlarms.accountConcurrencyLimit must be a whole number, 1 or more/);
  });
});
