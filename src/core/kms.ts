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
  // A platform key is shared by the parts: add the statement once.
  if (denied.has(key)) return;
  denied.add(key);
  key.addToResourcePolicy(new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  }));
}

const denied = new WeakSet<kms.Key>();

/**
 * `given` when set (a key of this app is prepared for CloudWatch Logs and grants as `newLogsKey`
 * does; an imported key must allow them already), otherwise a new key from `newLogsKey`.
 */
export function givenOrNewLogsKey(scope: Construct, id: string, given: kms.IKey | undefined, props: kms.KeyProps): kms.IKey {
  if (!given) return newLogsKey(scope, id, props);
  if (given instanceof kms.Key) {
    allowLogsToUseKey(given);
    denyGrantsExceptForAwsServices(given);
  }
  return given;
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
