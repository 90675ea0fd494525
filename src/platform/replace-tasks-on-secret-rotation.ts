import { Aws, Duration, Names } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { newLogsKey } from '../core/kms';
import { addNagSuppressions, suppressShortLogRetention } from '../core/suppressions';

/** Props of `ReplaceTasksOnSecretRotation`. */
export interface ReplaceTasksOnSecretRotationProps {
  /** The rotated secret, e.g. the database's master secret. */
  readonly secret: secretsmanager.ISecret;

  /** The ECS service whose tasks read the secret when they start. */
  readonly service: ecs.IBaseService;

  /**
   * KMS key of the state machine's log group; CloudWatch Logs must be allowed to use it.
   * @default - a new customer-managed key with yearly rotation
   */
  readonly logKey?: kms.IKey;

  /**
   * Retention of the state machine's log (one line per step of each replacement).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Replaces the tasks of an ECS service after each successful rotation of a secret, so that a
 * new password reaches the running app: ECS gives secrets to a container only when the task
 * starts.
 *
 * Two rules start a state machine that calls `ecs:UpdateService` with `forceNewDeployment`, a
 * rolling replacement that keeps the service's minimum healthy percent:
 * - `currentVersionRule` matches the `Secret Label Updated` event that Secrets Manager
 *   publishes to EventBridge itself when `AWSCURRENT` moves to a new version of this secret
 *   (Secrets Manager user guide, "Secret event notifications"). It involves no CloudTrail, and
 *   it also fires when a new value is put by hand.
 * - `rule` matches `RotationSucceeded`, which reaches EventBridge as an "AWS Service Event via
 *   CloudTrail"; AWS services deliver those to CloudTrail on a best-effort basis (EventBridge
 *   user guide, "AWS service events delivered via AWS CloudTrail").
 *
 * A rotation usually matches both, and the second replacement follows the first; both are
 * rolling, so the app stays up. If both events are lost, the tasks pick up the password at
 * their next start.
 *
 * Only a service whose running containers hold the secret needs it. `FlaskServerlessPlatform`
 * creates none when the app connects as its own database role (`FlaskFargateService.appRoleContainer`):
 * then only the admin step, which runs and exits at each task start, reads the master secret, so
 * the next task start reads the current password and the running app, which signs IAM tokens,
 * is not affected by a rotation.
 */
export class ReplaceTasksOnSecretRotation extends Construct {
  /** The rule on the `RotationSucceeded` event delivered through CloudTrail. */
  public readonly rule: events.Rule;
  /** The rule on Secrets Manager's own `Secret Label Updated` event for `AWSCURRENT`. */
  public readonly currentVersionRule: events.Rule;
  /** The state machine that forces the new deployment. */
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ReplaceTasksOnSecretRotationProps) {
    super(scope, id);
    const logKey = props.logKey ?? newLogsKey(this, 'LogKey', { description: 'Encrypts the log of the task replacement after secret rotation' });
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const logGroup = new logs.LogGroup(this, 'Log', {
      // Step Functions asks for the /aws/vendedlogs/ prefix: log delivery then needs no entry
      // in the account's CloudWatch Logs resource policy, whose size is limited.
      logGroupName: `/aws/vendedlogs/states/${Aws.STACK_NAME}-${Names.uniqueId(this)}`,
      retention: logRetention,
      encryptionKey: logKey,
    });
    suppressShortLogRetention(logGroup, logRetention,
      'Records when tasks were replaced after a rotation, for troubleshooting; the rotation itself is in CloudTrail.');

    const forceNewDeployment = new tasks.CallAwsService(this, 'ForceNewDeployment', {
      service: 'ecs',
      action: 'updateService',
      parameters: {
        Cluster: props.service.cluster.clusterArn,
        Service: props.service.serviceName,
        ForceNewDeployment: true,
      },
      iamResources: [props.service.serviceArn],
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(forceNewDeployment),
      timeout: Duration.minutes(5),
      tracingEnabled: true,
      // The execution input is the rotation event (secret ARN, no value); ALL logs every step.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    addNagSuppressions(this.stateMachine.role, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray (PutTraceSegments) support only the * resource; ecs:UpdateService is scoped to the one service.',
      },
    ], true);

    this.rule = new events.Rule(this, 'OnRotation', {
      description: 'Replaces the ECS tasks after the database secret rotates, so that they read the new password',
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['RotationSucceeded'],
          // Rotation by a function carries the secret in additionalEventData.SecretId; secrets
          // that RDS manages have been seen with serviceEventDetails.secretId instead.
          $or: [
            { additionalEventData: { SecretId: [props.secret.secretArn] } },
            { serviceEventDetails: { secretId: [props.secret.secretArn] } },
          ],
        },
      },
      targets: [new targets.SfnStateMachine(this.stateMachine)],
    });
    this.currentVersionRule = new events.Rule(this, 'OnNewCurrentVersion', {
      description: 'Replaces the ECS tasks when the database secret gets a new current value, so that they read the new password',
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['Secret Label Updated'],
        resources: [props.secret.secretArn],
        detail: { labelUpdated: ['AWSCURRENT'] },
      },
      targets: [new targets.SfnStateMachine(this.stateMachine)],
    });
  }
}
