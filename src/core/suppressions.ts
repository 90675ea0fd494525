import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A rule that does not apply to a resource, and why. */
export interface RuleSuppression {
  /** The rule id, e.g. `AwsSolutions-IAM5` (cdk-nag) or `LAMBDA_INSIDE_VPC` (cfn-guard). */
  readonly id: string;
  /** Why the rule does not apply here; specific to this resource. */
  readonly reason: string;
}

function cfnResourcesOf(scope: IConstruct, applyToChildren: boolean): CfnResource[] {
  const nodes = applyToChildren ? scope.node.findAll() : [scope, scope.node.defaultChild].filter((c): c is IConstruct => !!c);
  return nodes.filter((c): c is CfnResource => CfnResource.isCfnResource(c));
}

/**
 * Records cdk-nag suppressions on the resource(s) as template metadata, in the format cdk-nag's
 * `NagSuppressions` writes, so that users running cdk-nag on their own app see the same reasons.
 * The library does not depend on cdk-nag at runtime.
 */
export function addNagSuppressions(scope: IConstruct, suppressions: RuleSuppression[], applyToChildren = false): void {
  for (const resource of cfnResourcesOf(scope, applyToChildren)) {
    const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as RuleSuppression[];
    const merged = [...existing, ...suppressions.filter((s) => !existing.some((e) => e.id === s.id))];
    resource.addMetadata('cdk_nag', { rules_to_suppress: merged });
  }
}

/**
 * Records cfn-guard rule suppressions (`Metadata.guard.SuppressedRules`), honoured by cfn-guard
 * and by `@cdklabs/cdk-validator-cfnguard`. The reasons stay in the code next to each call.
 */
export function addGuardSuppressions(scope: IConstruct, suppressions: RuleSuppression[], applyToChildren = false): void {
  for (const resource of cfnResourcesOf(scope, applyToChildren)) {
    const existing = (resource.getMetadata('guard')?.SuppressedRules ?? []) as string[];
    const merged = [...new Set([...existing, ...suppressions.map((s) => s.id)])];
    resource.addMetadata('guard', { SuppressedRules: merged });
  }
}

/**
 * Records checkov skips in the resource's template metadata (`Metadata.checkov.skip`), which
 * checkov honours for CloudFormation, so the reason travels with the resource.
 */
export function addCheckovSuppressions(scope: IConstruct, suppressions: RuleSuppression[], applyToChildren = false): void {
  for (const resource of cfnResourcesOf(scope, applyToChildren)) {
    const existing = (resource.getMetadata('checkov')?.skip ?? []) as { id: string; comment: string }[];
    const merged = [...existing, ...suppressions.filter((s) => !existing.some((e) => e.id === s.id)).map((s) => ({ id: s.id, comment: s.reason }))];
    resource.addMetadata('checkov', { skip: merged });
  }
}
