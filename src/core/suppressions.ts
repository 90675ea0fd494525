import { AspectPriority, Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';

/** A rule that does not apply to a resource, and why. */
export interface RuleSuppression {
  /** The rule id, e.g. `AwsSolutions-IAM5` (cdk-nag) or `lambda_inside_vpc_check` (cfn-guard). */
  readonly id: string;
  /** Why the rule does not apply here; specific to this resource. */
  readonly reason: string;
}

function cfnResourcesOf(scope: IConstruct, applyToChildren: boolean): CfnResource[] {
  const nodes = applyToChildren ? scope.node.findAll() : [scope, scope.node.defaultChild].filter((c): c is IConstruct => !!c);
  return nodes.filter((c): c is CfnResource => CfnResource.isCfnResource(c));
}

/** Suppressions decided at synthesis are recorded before read-only aspects (cdk-nag v2 packs) run. */
const SUPPRESSIONS_FIRST = { priority: AspectPriority.MUTATING };

/** Construct metadata key of `Validations.of(x).acknowledge()` (aws-cdk-lib), which cdk-nag v3 reads. */
const ACKNOWLEDGED_RULES = 'aws:cdk:acknowledged-rules';

/**
 * Records cdk-nag suppressions on the resource(s), so that users running cdk-nag on their own app
 * see the same reasons, whichever major version they run:
 * - cdk-nag v3 reads acknowledgments from construct metadata, as `Validations.of(x).acknowledge()`
 *   writes them (written here directly, because that API is newer than the lowest aws-cdk-lib the
 *   library supports). v3 matches finding ids exactly: a rule with findings per wildcard or managed
 *   policy is named with the finding, e.g. `AwsSolutions-IAM5[Resource::*]`.
 * - cdk-nag v2 reads the `cdk_nag` template metadata; a bracketed id becomes `appliesTo`.
 * The library does not depend on cdk-nag at runtime.
 */
export function addNagSuppressions(scope: IConstruct, suppressions: RuleSuppression[], applyToChildren = false): void {
  for (const resource of cfnResourcesOf(scope, applyToChildren)) {
    const acknowledged: Record<string, string> = {};
    for (const entry of resource.node.metadata.filter((m) => m.type === ACKNOWLEDGED_RULES)) Object.assign(acknowledged, entry.data);
    for (const s of suppressions) acknowledged[`annotation::${s.id}`] = s.reason;
    resource.node.addMetadata(ACKNOWLEDGED_RULES, acknowledged);

    type V2Rule = { id: string; reason: string; applies_to?: string[] };
    const v2 = [...((resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as V2Rule[])];
    for (const s of suppressions) {
      const match = /^([^[]+)\[(.+)\]$/.exec(s.id);
      const id = match ? match[1] : s.id;
      const existing = v2.find((r) => r.id === id);
      if (!existing) {
        v2.push(match ? { id, reason: s.reason, applies_to: [match[2]] } : { id, reason: s.reason });
      } else if (match && existing.applies_to && !existing.applies_to.includes(match[2])) {
        existing.applies_to = [...existing.applies_to, match[2]];
      }
    }
    resource.addMetadata('cdk_nag', { rules_to_suppress: v2 });
  }
}

/** The prefixes cdk-nag's compliance packs give their rule ids. */
export enum CompliancePack {
  NIST = 'NIST.800.53.R5',
  HIPAA = 'HIPAA.Security',
  PCI = 'PCI.DSS.321',
  SERVERLESS = 'Serverless',
}

/** Why the AWS::IAM::Policy resources CDK grants write are not customer managed policies. */
export const INLINE_POLICY_REASON = 'The statements CDK grants write for this one role, scoped to this stack\'s resources wherever the actions allow it (each Resource "*" is explained under AwsSolutions-IAM5); a customer managed policy would hold the same statements, attached to the same role only.';

/** One rule of cdk-nag's compliance packs suppressed, with one reason, in each pack that has it. */
export function packSuppressions(rule: string, packs: CompliancePack[], reason: string): RuleSuppression[] {
  return packs.map((pack) => ({ id: `${pack}-${rule}`, reason }));
}

/**
 * Records cfn-guard rule suppressions as `Metadata.guard.SuppressedRules`, the cfn-guard
 * convention. Not every rule pack reads it: the Control Tower rules bundled with
 * `@cdklabs/cdk-validator-cfnguard` do not, so a user running that validator on their own app
 * still sees these findings (this project's gate filters them by this metadata). The reason for
 * each stays in the code next to the call.
 */
export function addGuardSuppressions(scope: IConstruct, suppressions: RuleSuppression[], applyToChildren = false): void {
  for (const resource of cfnResourcesOf(scope, applyToChildren)) {
    const existing = (resource.getMetadata('guard')?.SuppressedRules ?? []) as string[];
    const merged = [...new Set([...existing, ...suppressions.map((s) => s.id)])];
    resource.addMetadata('guard', { SuppressedRules: merged });
    // The cfn-guard convention has no place for reasons; keep them on the construct (for audits).
    resource.node.addMetadata(GUARD_SUPPRESSION_REASONS, Object.fromEntries(suppressions.map((s) => [s.id, s.reason])));
  }
}

/** Construct metadata key under which `addGuardSuppressions` records each rule's reason. */
export const GUARD_SUPPRESSION_REASONS = 'cdk-flask-serverless:guard-suppression-reasons';

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

/**
 * The cfn-guard rule wants log groups kept a year; where retention is the user's (cost) choice and
 * shorter, records why next to the log group.
 */
export function suppressShortLogRetention(logGroup: IConstruct, retention: logs.RetentionDays, reason: string): void {
  if (retention < logs.RetentionDays.ONE_YEAR) {
    addGuardSuppressions(logGroup, [{ id: 'cloudwatch_log_group_retention_period_check', reason }]);
  }
}

/**
 * A part's alarms have no actions until the user or `FlaskServerlessPlatform` adds them. Records
 * that next to each alarm for the cfn-guard rule that wants actions, but only for an alarm that
 * still has none when the app is synthesized (decided then, as an aspect): once actions are
 * added, there is nothing to suppress.
 */
export function suppressAlarmActionsLeftToCaller(alarms: IConstruct[]): void {
  for (const alarm of alarms) {
    Aspects.of(alarm).add({
      visit(node: IConstruct) {
        if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::CloudWatch::Alarm') return;
        const actions = Stack.of(node).resolve((node as CfnResource & { alarmActions?: unknown }).alarmActions) as unknown[] | undefined;
        if (actions && actions.length > 0) return;
        addGuardSuppressions(node, [{
          id: 'cloudwatch_alarm_action_check',
          reason: 'This part creates its alarms without actions: add them with alarm.addAlarmAction(), or use FlaskServerlessPlatform, which sends every alarm to one SNS topic.',
        }]);
      },
    }, SUPPRESSIONS_FIRST);
  }
}

/**
 * Suppresses `AwsSolutions-IAM5[Resource::*]` (and `checkovIds`) on the IAM policies under
 * `policy` only if, once the app is complete, every action granted on Resource "*" is one of
 * `reasons`' keys; the recorded reason names just those actions. A grant on "*" added later (by
 * the user or CDK) for any other action leaves the finding visible. Decided at synthesis, as an
 * aspect, because statements are added after construction.
 */
export function suppressWildcardResourceFor(policy: IConstruct, reasons: Record<string, string>, checkovIds: string[] = []): void {
  Aspects.of(policy).add({
    visit(node: IConstruct) {
      if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::IAM::Policy') return;
      const document = Stack.of(node).resolve((node as CfnResource & { policyDocument: unknown }).policyDocument);
      type Statement = { Effect?: string; Action?: string | string[]; Resource?: unknown };
      const actions = new Set<string>();
      for (const statement of (document?.Statement ?? []) as Statement[]) {
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        if (statement.Effect !== 'Allow' || !resources.includes('*')) continue;
        for (const action of Array.isArray(statement.Action) ? statement.Action : [statement.Action ?? '']) actions.add(action);
      }
      if (actions.size === 0 || [...actions].some((a) => !(a in reasons))) return;
      const why = [...new Set([...actions].sort().map((a) => reasons[a]))].join(' ');
      const reason = `Resource "*" only for ${[...actions].sort().join(', ')}: ${why}`;
      addNagSuppressions(node, [{ id: 'AwsSolutions-IAM5[Resource::*]', reason }]);
      if (checkovIds.length) addCheckovSuppressions(node, checkovIds.map((id) => ({ id, reason })));
    },
  }, SUPPRESSIONS_FIRST);
}

/**
 * How cdk-nag names a resource ARN in a finding id (`AwsSolutions-IAM5[Resource::<that>]`):
 * joins flattened, references and pseudo parameters as `<AWS::Region>`, `<Logical.Attr>`.
 */
export function nagResourceName(scope: IConstruct, arn: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    const o = node as Record<string, any>;
    if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(visit).join(o['Fn::Join'][0]);
    if (o.Ref) return `<${visit(o.Ref)}>`;
    if (o['Fn::GetAtt']) return `<${visit(o['Fn::GetAtt'][0])}.${visit(o['Fn::GetAtt'][1])}>`;
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(arn));
}
