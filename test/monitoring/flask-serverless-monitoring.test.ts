import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FlaskServerlessMonitoring, FlaskServerlessMonitoringProps } from '../../src/monitoring';

function setup(props: FlaskServerlessMonitoringProps = {}) {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const monitoring = new FlaskServerlessMonitoring(stack, 'Monitoring', props);
  const alarm = new cloudwatch.Metric({ namespace: 'Test', metricName: 'Errors' }).createAlarm(stack, 'Alarm', {
    threshold: 1,
    evaluationPeriods: 1,
  });
  monitoring.addAlarms(alarm);
  return { stack, monitoring, template: () => Template.fromStack(stack) };
}

test('alarms notify a KMS-encrypted topic that refuses plain HTTP', () => {
  const { template } = setup();
  const t = template();
  t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  t.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
  });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
    OKActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
  });
});

const fromOwnAlarms = {
  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  ArnLike: {
    'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:ap-southeast-1:', { Ref: 'AWS::AccountId' }, ':alarm:*']] },
  },
};

test('CloudWatch may use the topic key, with no condition its KMS requests are not documented to carry', () => {
  // The statement of the SNS guide for AWS event sources (sns-key-management): a condition on
  // aws:SourceAccount/aws:SourceArn that the requests lack would stop every notification.
  setup().template().hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: {
      Statement: Match.arrayWith([{
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      }]),
    },
  });
});

test('the topic policy lets this account\'s alarms publish (it replaces the SNS default policy)', () => {
  setup().template().hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: Match.stringLikeRegexp('AlarmTopic') },
        Condition: fromOwnAlarms,
      })]),
    },
  });
});

test('notifyOnOk false sends only ALARM notifications', () => {
  const t = setup({ notifyOnOk: false }).template();
  const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm'))[0];
  expect(alarm.Properties.OKActions).toBeUndefined();
});

test('alarmEmail subscribes the address', () => {
  setup({ alarmEmail: 'ops@example.com' }).template().hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'email',
    Endpoint: 'ops@example.com',
  });
});

test('an existing topic is used instead of a new one', () => {
  const stack = new Stack(new App(), 'Test');
  const topic = sns.Topic.fromTopicArn(stack, 'Existing', 'arn:aws:sns:ap-southeast-1:111111111111:ops');
  new FlaskServerlessMonitoring(stack, 'Monitoring', { alarmTopic: topic });
  Template.fromStack(stack).resourceCountIs('AWS::SNS::Topic', 0);
});

test('one dashboard with the given name and a section title per part', () => {
  const { monitoring, template } = setup({ dashboardName: 'flask-app' });
  monitoring.addSection('API', [new cloudwatch.GraphWidget({ left: [new cloudwatch.Metric({ namespace: 'A', metricName: 'B' })] })]);
  const t = template();
  t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'flask-app' });
  expect(JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'))).toContain('## API');
});

test('rejects an alarmEmail that is not an address', () => {
  expect(() => setup({ alarmEmail: 'ops' })).toThrow(/monitoring.alarmEmail must be an e-mail address, got 'ops'/);
});

test('dashboard: false creates no dashboard, keeps every alarm on the topic, and has no URL', () => {
  const { monitoring, template } = setup({ dashboard: false });
  monitoring.addSection('API', [new cloudwatch.TextWidget({ markdown: 'x' })]);
  const t = template();
  t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }] });
  expect(monitoring.dashboard).toBeUndefined();
  expect(monitoring.dashboardUrl).toBeUndefined();
});

test('dashboardName without the dashboard is refused, naming both props', () => {
  expect(() => setup({ dashboard: false, dashboardName: 'x' })).toThrow(/monitoring.dashboardName needs the dashboard; remove dashboardName or dashboard: false/);
});
