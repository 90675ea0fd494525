import * as path from 'path';
import { ACCOUNT, Json, REGION, ResolvedTemplate } from './cfn';
import { awsManagedPolicy } from './managed-policies';

/*
 * The policy evaluation itself is @cloud-copilot/iam-simulate's engine (identity policies,
 * resource policies, KMS key-policy trust, service principals, conditions). Its validating entry
 * point drops `kms:EncryptionContext:<key>` context keys (it only matches `prefix/<key>` variable
 * keys), so requests go straight to the engine's `authorize`, with every context key given.
 */
const dist = path.dirname(require.resolve('@cloud-copilot/iam-simulate'));
/* eslint-disable @typescript-eslint/no-require-imports */
const { authorize } = require(path.join(dist, 'core_engine', 'CoreSimulatorEngine.js'));
const { AwsRequestImpl } = require(path.join(dist, 'request', 'request.js'));
const { RequestContextImpl } = require(path.join(dist, 'requestContext.js'));
const { DiscoveryContextKeyConstraints } = require(path.join(dist, 'context_keys', 'discoveryContextKeyConstraints.js'));
// The simulator's own policy parser (its dependency), so both read policies the same way.
const { loadPolicy } = require(require.resolve('@cloud-copilot/iam-policy', { paths: [dist] }));
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Who makes a call: a role of the template (logical id), an AWS service principal, or a role
 * defined outside the template (an ARN and the policies it is documented to have).
 */
export type Caller = { role: string } | { service: string } | { roleArn: string; policies: Json[] };

export interface Call {
  readonly caller: Caller;
  readonly action: string;
  /** The concrete ARN the call is made on. */
  readonly resource: string;
  /** Request context the service sets (aws:SourceArn, kms:ViaService, kms:EncryptionContext:...). */
  readonly context?: Record<string, string | string[]>;
  /** Resource policy to evaluate instead of the one found for `resource` in the template. */
  readonly resourcePolicy?: Json;
}

export interface Decision {
  readonly allowed: boolean;
  /** Allowed, ImplicitlyDenied or ExplicitlyDenied, as the simulator reports it. */
  readonly result: string;
  /** One line naming the call, for failure messages. */
  readonly summary: string;
}

/** Evaluates calls against the identity and resource policies of one resolved template. */
export class Permissions {
  constructor(private readonly t: ResolvedTemplate) {}

  public roleArn(roleId: string): string {
    return this.t.getAtt(roleId, 'Arn');
  }

  /** The role's logical id from a resolved role ARN (or name), if the template defines it. */
  public roleIdOf(arnOrName: string): string | undefined {
    return this.t.ofType('AWS::IAM::Role').find((id) => this.roleArn(id) === arnOrName || this.t.ref(id) === arnOrName);
  }

  /** Every policy attached to a role: inline, AWS::IAM::Policy, managed (customer or AWS). */
  public identityPolicies(roleId: string): Json[] {
    const roleName = this.t.ref(roleId);
    const props = this.t.props(roleId);
    const out: Json[] = (props.Policies ?? []).map((p: Json) => p.PolicyDocument);
    for (const id of [...this.t.ofType('AWS::IAM::Policy'), ...this.t.ofType('AWS::IAM::ManagedPolicy')]) {
      if ((this.t.props(id).Roles ?? []).includes(roleName)) out.push(this.t.props(id).PolicyDocument);
    }
    for (const arn of props.ManagedPolicyArns ?? []) {
      const local = this.t.ofType('AWS::IAM::ManagedPolicy').find((id) => this.t.ref(id) === arn);
      out.push(local ? this.t.props(local).PolicyDocument : awsManagedPolicy(arn));
    }
    return out;
  }

  /** The trust policy of a role: the resource policy of sts:AssumeRole on it. */
  public trustPolicy(roleId: string): Json {
    return this.t.props(roleId).AssumeRolePolicyDocument;
  }

  /** The resource policy the template gives `arn`: SNS topic, KMS key, secret, role trust, log groups. */
  public resourcePolicyOf(arn: string): Json | undefined {
    const statements: Json[] = [];
    for (const id of this.t.ofType('AWS::SNS::TopicPolicy')) {
      if ((this.t.props(id).Topics ?? []).includes(arn)) statements.push(...this.t.props(id).PolicyDocument.Statement);
    }
    for (const id of this.t.ofType('AWS::KMS::Key')) {
      if (this.t.getAtt(id, 'Arn') === arn) return this.t.props(id).KeyPolicy;
    }
    for (const id of this.t.ofType('AWS::SecretsManager::ResourcePolicy')) {
      if (this.t.props(id).SecretId === arn) statements.push(...this.t.props(id).ResourcePolicy.Statement);
    }
    for (const id of this.t.ofType('AWS::S3::BucketPolicy')) {
      const bucket = this.t.props(id).Bucket;
      if (arn === `arn:aws:s3:::${bucket}` || arn.startsWith(`arn:aws:s3:::${bucket}/`)) statements.push(...this.t.props(id).PolicyDocument.Statement);
    }
    if (arn.startsWith(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:`)) {
      for (const id of this.t.ofType('AWS::Logs::ResourcePolicy')) {
        statements.push(...JSON.parse(this.t.props(id).PolicyDocument).Statement);
      }
    }
    return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
  }

  public check(call: Call): Decision {
    const c = call.caller;
    const isRole = !('service' in c);
    const principal = 'role' in c ? this.roleArn(c.role) : 'roleArn' in c ? c.roleArn : c.service;
    const context: Record<string, string | string[]> = {
      'aws:SecureTransport': 'true',
      'aws:CurrentTime': '2026-01-01T00:00:00Z',
      'aws:PrincipalIsAWSService': isRole ? 'false' : 'true',
      ...(isRole
        ? { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': ACCOUNT, 'aws:PrincipalType': 'AssumedRole', 'kms:CallerAccount': ACCOUNT }
        : { 'aws:PrincipalServiceName': principal }),
      ...call.context,
    };
    const identity = 'role' in c ? this.identityPolicies(c.role) : 'policies' in c ? c.policies : [];
    const resourcePolicy = call.resourcePolicy ?? this.resourcePolicyOf(call.resource);
    const analysis = authorize({
      request: new AwsRequestImpl(principal, { resource: call.resource, accountId: ACCOUNT }, call.action, new RequestContextImpl(context)),
      sessionPolicy: undefined,
      identityPolicies: identity.map((p, i) => loadPolicy(p, { name: `identity-${i}` })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy ? loadPolicy(resourcePolicy, { name: 'resource-policy' }) : undefined,
      permissionBoundaries: undefined,
      vpcEndpointPolicies: undefined,
      simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
      serviceSettings: { s3: {} },
    });
    const result: string = analysis.result;
    const who = 'role' in c ? `role ${c.role}` : 'roleArn' in c ? c.roleArn : c.service;
    return { allowed: result === 'Allowed', result, summary: `${who} ${call.action} on ${call.resource}: ${result}` };
  }
}
