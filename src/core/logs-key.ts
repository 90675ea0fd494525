import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';

const allowed = new WeakSet<kms.Key>();

/** Lets CloudWatch Logs in this region encrypt with the key, for log groups of this account only. */
export function allowLogsToUseKey(key: kms.Key): void {
  // A platform key is shared by the parts: add the statement once.
  if (allowed.has(key)) return;
  allowed.add(key);
  const stack = key.stack;
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
    },
  }));
}
