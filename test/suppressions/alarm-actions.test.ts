import { App, Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IConstruct } from 'constructs';
import { suppressAlarmActionsLeftToCaller } from '../../src/core/suppressions';

function alarmMetadata(withAction: boolean): any {
  const stack = new Stack(new App(), 'Test');
  const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
    metric: new cloudwatch.Metric({ namespace: 'AWS/ECS', metricName: 'CPUUtilization' }),
    threshold: 80,
    evaluationPeriods: 1,
  });
  suppressAlarmActionsLeftToCaller([alarm]);
  // Actions added after the part was built, as FlaskServerlessPlatform and users do.
  if (withAction) alarm.addAlarmAction(new actions.SnsAction(new sns.Topic(stack, 'Topic')));
  return Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))[0].Metadata;
}

test('an alarm left without actions records why for cfn-guard', () => {
  expect(alarmMetadata(false).guard.SuppressedRules).toEqual(['cloudwatch_alarm_action_check']);
});

test('an alarm given an action later carries no alarm-action suppression', () => {
  expect(alarmMetadata(true)?.guard).toBeUndefined();
});

test('an app-level aspect added without a priority (as cdk-nag v2 packs are) already sees the suppression', () => {
  const app = new App();
  const stack = new Stack(app, 'Test');
  const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
    metric: new cloudwatch.Metric({ namespace: 'AWS/ECS', metricName: 'CPUUtilization' }),
    threshold: 80,
    evaluationPeriods: 1,
  });
  suppressAlarmActionsLeftToCaller([alarm]);
  let seen: unknown;
  Aspects.of(app).add({
    visit(node: IConstruct) {
      if (CfnResource.isCfnResource(node) && node.cfnResourceType === 'AWS::CloudWatch::Alarm') seen = node.getMetadata('guard');
    },
  });
  app.synth();
  expect(seen).toEqual({ SuppressedRules: ['cloudwatch_alarm_action_check'] });
});
