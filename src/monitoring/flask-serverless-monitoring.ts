import { Aws, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { checkFunctionAlarmThresholds, checkFunctionTimeout } from './function-alarm-validation';
import { FlaskFunctionAlarmOptions, FlaskFunctionAlarms, FlaskFunctionAlarmsProps } from './function-alarms';
import { denyGrantsExceptForAwsServices } from '../core/kms';

/** Options of the platform's alarm routing and dashboard. */
export interface FlaskServerlessMonitoringOptions {
  /**
   * An e-mail address subscribed to the alarm topic (the address must confirm the subscription).
   * @default - no subscription; subscribe to `alarmTopic` yourself
   */
  readonly alarmEmail?: string;

  /**
   * An existing SNS topic to send alarms to, instead of a new one.
   * @default - a new topic encrypted with a customer-managed KMS key
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * KMS key that encrypts the alarm topic this construct creates. A `kms.Key` of this app gets
   * the statement that lets this account's CloudWatch alarms use it; an imported key must have
   * it already. `FlaskServerlessPlatform` passes its one platform key here.
   * @default - a new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Create the CloudWatch dashboard. It costs 3 USD/month, unless the account has no more than
   * three dashboards (CloudWatch's free tier); without it the alarms are unchanged and the same
   * metrics stay in the CloudWatch console.
   * @default true
   */
  readonly dashboard?: boolean;

  /**
   * Name of the CloudWatch dashboard.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;

  /**
   * Also notify the topic when an alarm returns to OK.
   * @default true
   */
  readonly notifyOnOk?: boolean;

  /**
   * Thresholds of the alarms on a Lambda function that serves the app (`lambdaFunction`, or
   * `monitorFunction()`). Not used when the app runs on Fargate.
   * @default - function errors above 1% of invocations, any throttle, p99 duration above 85% of
   * the timeout, concurrency at 80% of its limit (reserved concurrency, or an account quota of 1000)
   */
  readonly functionAlarms?: FlaskFunctionAlarmOptions;
}

/** Props of `FlaskServerlessMonitoring`. */
export interface FlaskServerlessMonitoringProps extends FlaskServerlessMonitoringOptions {
  /**
   * A Lambda function that serves the app, instead of a Fargate service: its alarms (function
   * errors, throttles, duration near the timeout, concurrency near the limit) notify the topic and
   * its graphs get a "Function" section on the dashboard. Needs `functionTimeout`.
   * @default - no function alarms; add them later with `monitorFunction()`
   */
  readonly lambdaFunction?: lambda.IFunction;

  /**
   * The timeout of `lambdaFunction` (`lambda.IFunction` does not expose it).
   * @default - required with `lambdaFunction`
   */
  readonly functionTimeout?: Duration;

  /**
   * The reserved concurrency of `lambdaFunction`, if it has one: the concurrency alarm's limit.
   * @default - no reserved concurrency; the limit is `functionAlarms.accountConcurrencyLimit`
   */
  readonly functionReservedConcurrency?: number;
}

/**
 * One SNS topic that every alarm notifies, and one CloudWatch dashboard with a section per part.
 */
export class FlaskServerlessMonitoring extends Construct {
  /** The topic that alarms notify. */
  public readonly alarmTopic: sns.ITopic;
  /** The dashboard; undefined with `dashboard: false`. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** Every alarm routed to the topic. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The alarms and graphs of each function added with `lambdaFunction` or `monitorFunction()`. */
  public readonly functions: FlaskFunctionAlarms[] = [];
  private readonly notifyOnOk: boolean;
  private readonly functionAlarmOptions: FlaskFunctionAlarmOptions;

  constructor(scope: Construct, id: string, props: FlaskServerlessMonitoringProps = {}) {
    super(scope, id);
    this.functionAlarmOptions = props.functionAlarms ?? {};
    checkFunctionAlarmThresholds(this.functionAlarmOptions, 'monitoring.functionAlarms.');
    if (props.lambdaFunction && !props.functionTimeout) {
      throw new Error('monitoring.functionTimeout is required with monitoring.lambdaFunction: set it to the function\'s timeout (the duration alarm is a percentage of it).');
    }
    if (!props.lambdaFunction && (props.functionTimeout || props.functionReservedConcurrency !== undefined)) {
      throw new Error('monitoring.functionTimeout and monitoring.functionReservedConcurrency describe monitoring.lambdaFunction: set lambdaFunction too, or remove them.');
    }
    if (props.functionTimeout) checkFunctionTimeout(props.functionTimeout, 'monitoring.functionTimeout');
    if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`monitoring.alarmEmail must be an e-mail address, got '${props.alarmEmail}'.`);
    }
    this.notifyOnOk = props.notifyOnOk ?? true;

    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      const key = props.encryptionKey ?? new kms.Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the alarm notifications topic',
        enableKeyRotation: true,
      });
      // CloudWatch alarms publish to an encrypted topic only if they may use its key. The
      // statement is the one the SNS developer guide gives for AWS event sources ("Enable
      // compatibility between event sources from AWS services and encrypted topics",
      // sns-key-management): no conditions. AWS does not document that the KMS requests made
      // while an alarm publishes carry aws:SourceAccount or aws:SourceArn, and a condition that
      // does not match silently stops every notification. Who may publish is decided by the
      // topic policy below. A key passed in that is not a kms.Key (imported) is the caller's to grant.
      if (key instanceof kms.Key) {
        key.addToResourcePolicy(new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }));
        denyGrantsExceptForAwsServices(key);
      }
      const topic = new sns.Topic(this, 'AlarmTopic', {
        displayName: 'Flask serverless platform alarms',
        masterKey: key,
        enforceSSL: true,
      });
      // enforceSSL creates a topic policy, which replaces SNS's default one: without this
      // statement no resource policy lets CloudWatch publish, and alarms never notify. Only
      // this account's alarms in this region, so CloudWatch cannot publish for anyone else.
      const stack = Stack.of(this);
      topic.addToResourcePolicy(new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }));
      this.alarmTopic = topic;
    }
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    if (props.dashboard === false && props.dashboardName !== undefined) {
      throw new Error('monitoring.dashboardName needs the dashboard; remove dashboardName or dashboard: false.');
    }
    if (props.dashboard !== false) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        dashboardName: props.dashboardName,
        defaultInterval: Duration.hours(3),
      });
    }

    if (props.lambdaFunction && props.functionTimeout) {
      this.monitorFunction({
        lambdaFunction: props.lambdaFunction,
        timeout: props.functionTimeout,
        reservedConcurrentExecutions: props.functionReservedConcurrency,
      });
    }
  }

  /**
   * Alarms on a Lambda function that serves the app (function errors, throttles, p99 duration
   * near the timeout, concurrency near its limit), routed to the topic, and a "Function" section
   * of graphs on the dashboard. Thresholds not given in `props` come from `functionAlarms`.
   */
  public monitorFunction(props: FlaskFunctionAlarmsProps): FlaskFunctionAlarms {
    const id = this.functions.length === 0 ? 'Function' : `Function${this.functions.length + 1}`;
    const fn = new FlaskFunctionAlarms(this, id, { ...this.functionAlarmOptions, ...definedOnly(props) });
    this.functions.push(fn);
    this.addAlarms(...fn.alarms);
    this.addSection(this.functions.length === 1 ? 'Function' : `Function ${this.functions.length}`, fn.widgets());
    return fn;
  }

  /** Routes alarms to the topic (on ALARM, and on OK unless `notifyOnOk` is false). */
  public addAlarms(...alarms: cloudwatch.Alarm[]): void {
    const action = new cw_actions.SnsAction(this.alarmTopic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      if (this.notifyOnOk) alarm.addOkAction(action);
      this.alarms.push(alarm);
    }
  }

  /** Adds a titled row of graphs to the dashboard (nothing without one). */
  public addSection(title: string, widgets: cloudwatch.IWidget[]): void {
    if (!this.dashboard) return;
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `## ${title}`, width: 24, height: 1 }));
    this.dashboard.addWidgets(...widgets);
  }

  /** The dashboard's URL in the CloudWatch console; undefined without a dashboard. */
  public get dashboardUrl(): string | undefined {
    if (!this.dashboard) return undefined;
    return `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}

/** `props` without its undefined members, so they do not override the defaults spread before them. */
function definedOnly(props: FlaskFunctionAlarmsProps): FlaskFunctionAlarmsProps {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined)) as unknown as FlaskFunctionAlarmsProps;
}
