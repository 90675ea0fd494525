import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { addCheckovSuppressions, addGuardSuppressions, addNagSuppressions, CompliancePack, INLINE_POLICY_REASON, packSuppressions, suppressShortLogRetention } from '../core/suppressions';

// Written out rather than Runtime.PYTHON_3_14 so the library keeps working with the oldest
// aws-cdk-lib of its peer range, which predates that constant.
const PYTHON_RUNTIME = 'python3.14';

// CloudFormation cannot create SecureString parameters, so this handler does it inside AWS.
// The value is generated here and written straight to Parameter Store: it is never returned in
// the response Data, never logged, and never part of the template. Create writes it once;
// Update keeps it unless the parameter name changed (then CloudFormation deletes the old one);
// Delete removes the parameter. A failed Create reports a physical id that Delete ignores, so a
// rollback never deletes a parameter this handler did not write.
const HANDLER_SOURCE = `
import json, secrets, urllib.request
import boto3

ssm = boto3.client("ssm")
NOT_CREATED = "not-created"


def handler(event, context):
    physical_id = event.get("PhysicalResourceId", NOT_CREATED)
    status, reason, value = "SUCCESS", "", ""
    try:
        props = event["ResourceProperties"]
        name = props["ParameterName"]
        if event["RequestType"] == "Delete":
            if physical_id.startswith("/"):
                try:
                    ssm.delete_parameter(Name=physical_id)
                except ssm.exceptions.ParameterNotFound:
                    pass
        elif event["RequestType"] == "Create" or physical_id != name:
            value = secrets.token_urlsafe(int(props["Bytes"]))
            try:
                ssm.put_parameter(
                    Name=name, Type="SecureString", KeyId=props["KeyId"], Value=value,
                    Tier="Standard", Overwrite=False, Description=props.get("Description", ""),
                )
            except ssm.exceptions.ParameterAlreadyExists:
                # A rename that is rolled back comes back as an Update to the old name, which
                # still exists: keep it (and its value). A Create never takes over a parameter.
                if event["RequestType"] == "Create":
                    raise
            physical_id = name
    except Exception as error:  # reported to CloudFormation, never with the value in it
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
        if value:
            reason = reason.replace(value, "***")
    send(event, context, status, physical_id, reason)


def send(event, context, status, physical_id, reason):
    body = json.dumps({
        "Status": status,
        "Reason": reason or f"See CloudWatch Logs stream {context.log_stream_name}",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": True,
        "Data": {},
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(request, timeout=30).read()
`;

/** Props of `GeneratedSecureStrings`. */
export interface GeneratedSecureStringsProps {
  /** Full parameter names to create, each starting with '/'. */
  readonly parameterNames: string[];
  /** Customer-managed key that encrypts the parameters. */
  readonly key: kms.IKey;
  /** Retention of the handler's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Why that retention may be shorter than a year (recorded as a rule suppression when it is). */
  readonly logRetentionReason: string;
  /** Number of random bytes in each value (URL-safe base64, about 1.3 characters a byte). */
  readonly bytes?: number;
}

/**
 * SecureString parameters with random values generated inside AWS, one custom resource each,
 * served by one small Lambda function whose role may write and delete exactly these parameters.
 */
export class GeneratedSecureStrings extends Construct {
  /** The parameters, imported by name (their values never reach the template). */
  public readonly parameters: ssm.IStringParameter[] = [];
  /** The custom resources; anything that reads the parameters should depend on them. */
  public readonly resources: CustomResource[] = [];

  constructor(scope: Construct, id: string, props: GeneratedSecureStringsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const [i, name] of props.parameterNames.entries()) {
      this.parameters.push(ssm.StringParameter.fromSecureStringParameterAttributes(this, `Parameter${i}`, {
        parameterName: name,
        simpleName: false,
      }));
    }
    const parameterArns = this.parameters.map((p) => p.parameterArn);

    const logGroup = new logs.LogGroup(this, 'HandlerLogs', {
      retention: props.logRetention,
      encryptionKey: props.key,
    });
    suppressShortLogRetention(logGroup, props.logRetention, props.logRetentionReason);
    const role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Writes and deletes the generated SecureString parameters of one Flask service',
    });
    logGroup.grantWrite(role);
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['ssm:PutParameter', 'ssm:DeleteParameter'],
      resources: parameterArns,
    }));
    // Parameter Store encrypts standard SecureStrings with kms:Encrypt, with the parameter ARN as
    // encryption context; the condition keeps the role to these parameters even on a shared key.
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['kms:Encrypt'],
      resources: [props.key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `ssm.${stack.region}.amazonaws.com`,
          'kms:EncryptionContext:PARAMETER_ARN': parameterArns,
        },
      },
    }));

    // An L1 function: the L2 adds a DependsOn on the role it already references through GetAtt
    // (cfn-lint W3005), and nothing else of the L2 is needed for a custom resource handler.
    const handler = new lambda.CfnFunction(this, 'Handler', {
      description: 'Generates SecureString parameters for a Flask service (values never leave Parameter Store)',
      runtime: PYTHON_RUNTIME,
      handler: 'index.handler',
      code: { zipFile: HANDLER_SOURCE },
      timeout: Duration.minutes(1).toSeconds(),
      memorySize: 128,
      role: role.roleArn,
      loggingConfig: { logGroup: logGroup.logGroupName },
    });

    const reasons = {
      vpc: 'Custom resource handler that calls only the Parameter Store API and the CloudFormation response URL; it reaches no resource inside the VPC.',
      concurrency: 'Runs only during stack deployments; reserved concurrency would fail to deploy in accounts at the minimum unreserved concurrency of 10.',
      dlq: 'Invoked by CloudFormation, which records every failure on the stack event; a dead-letter queue would hold nothing to act on.',
    };
    addGuardSuppressions(handler, [{ id: 'lambda_inside_vpc_check', reason: reasons.vpc }]);
    const { NIST, HIPAA, PCI, SERVERLESS } = CompliancePack;
    addNagSuppressions(handler, [
      ...packSuppressions('LambdaInsideVPC', [NIST, HIPAA, PCI], reasons.vpc),
      ...packSuppressions('LambdaConcurrency', [NIST, HIPAA], reasons.concurrency),
      ...packSuppressions('LambdaDLQ', [NIST, HIPAA, SERVERLESS], reasons.dlq),
      ...packSuppressions('LambdaTracing', [SERVERLESS], 'Runs a few times per deployment; CloudFormation records each call and its outcome on the stack events, and its log group every step.'),
    ]);
    addNagSuppressions(role.node.tryFindChild('DefaultPolicy') ?? role, packSuppressions('IAMNoInlinePolicy', [NIST, HIPAA, PCI], INLINE_POLICY_REASON));
    addCheckovSuppressions(handler, [
      { id: 'CKV_AWS_117', reason: reasons.vpc },
      { id: 'CKV_AWS_115', reason: reasons.concurrency },
      { id: 'CKV_AWS_116', reason: reasons.dlq },
    ]);

    for (const name of props.parameterNames) {
      // Named by the parameter, not its position: adding, removing or reordering names leaves
      // the others untouched.
      const resource = new CustomResource(this, `SecureString${name.split('/').pop()}`, {
        serviceToken: handler.attrArn,
        resourceType: 'Custom::FlaskSecureStringParameter',
        properties: {
          ParameterName: name,
          KeyId: props.key.keyArn,
          Bytes: String(props.bytes ?? 48),
          Description: 'Generated by cdk-flask-serverless; rotate by writing a new value with the same key',
        },
      });
      // The role's policy must be in place before CloudFormation calls the handler, and stay until
      // the parameter is deleted.
      resource.node.addDependency(role);
      this.resources.push(resource);
    }
  }
}
