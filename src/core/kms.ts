import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { allowLogsToUseKey } from './logs-key';

/**
 * Denies `kms:CreateGrant` on the key unless the grant is for an AWS resource or made by an AWS
 * service (RDS, ECS, Secrets Manager create grants on behalf of their resources); nobody can hand
 * out lasting decrypt rights through a grant.
 */
export function denyGrantsExceptForAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  }));
}

/**
 * A customer-managed key with rotation on, that CloudWatch Logs in this region may use for this
 * account's log groups and that hands out grants only to AWS services.
 */
export function newLogsKey(scope: Construct, id: string, props: kms.KeyProps): kms.Key {
  const key = new kms.Key(scope, id, { enableKeyRotation: true, ...props });
  allowLogsToUseKey(key);
  denyGrantsExceptForAwsServices(key);
  return key;
}
