import { CfnTemplate, Json } from './lib/cfn';
import { mode as modeOf } from './lib/modes';
import { PATHS } from './lib/paths';
import { contextOf, templateOf } from './lib/synth';

/*
 * Each kind of proof shown able to fail: a passing mode's template is broken in one place and the
 * proof must name the break. Each known defect is also shown to be the only thing its proof
 * objects to: the template is repaired the way the fix would, and the proof passes.
 */

/** Deletes a resource and every DependsOn naming it, as a template without it would read. */
function drop(raw: Json, id: string): void {
  delete raw.Resources[id];
  for (const r of Object.values<Json>(raw.Resources)) {
    if (r.DependsOn !== undefined) r.DependsOn = [r.DependsOn].flat().filter((d: string) => d !== id);
  }
}

function prove(pathId: string, modeId: string, mutate: (raw: CfnTemplate) => void): string[] {
  const raw = JSON.parse(JSON.stringify(templateOf(modeOf(modeId)))) as CfnTemplate;
  mutate(raw);
  return PATHS.find((p) => p.id === pathId)!.prove(contextOf(modeOf(modeId), raw));
}

function idOf(raw: CfnTemplate, type: string, match: (props: Json, id: string) => boolean = () => true): string {
  const found = Object.entries(raw.Resources).filter(([id, r]) => r.Type === type && match(r.Properties ?? {}, id));
  if (found.length === 0) throw new Error(`no ${type} to mutate`);
  return found[0][0];
}

function props(raw: CfnTemplate, id: string): Json {
  return raw.Resources[id].Properties;
}

/** The execution role's policy (the one that grants ssm:GetParameters). */
function executionPolicy(raw: CfnTemplate): Json {
  return props(raw, idOf(raw, 'AWS::IAM::Policy', (p) => JSON.stringify(p).includes('ssm:GetParameters')));
}

describe('permissions: identity policies', () => {
  test('without ssm:GetParameters the execution role cannot read the settings', () => {
    const problems = prove('parameters', 'nat-gateway', (raw) => {
      const doc = executionPolicy(raw).PolicyDocument;
      doc.Statement = doc.Statement.filter((s: Json) => ![s.Action].flat().includes('ssm:GetParameters'));
    });
    expect(problems.join('\n')).toMatch(/ssm:GetParameters on arn:aws:ssm:ap-southeast-1:123456789012:parameter\/[\w/-]+\/PORT: ImplicitlyDenied/);
  });

  test('a kms:ViaService condition for the wrong service denies the SecureString decrypt', () => {
    const problems = prove('parameters', 'nat-gateway', (raw) => {
      for (const s of executionPolicy(raw).PolicyDocument.Statement) {
        if (s.Condition?.StringEquals?.['kms:ViaService']) s.Condition.StringEquals['kms:ViaService'] = 'secretsmanager.ap-southeast-1.amazonaws.com';
      }
    });
    expect(problems.join('\n')).toMatch(/kms:Decrypt on arn:aws:kms:.*: ImplicitlyDenied/);
  });

  test('an encryption context naming another parameter denies the SecureString decrypt', () => {
    const problems = prove('parameters', 'nat-gateway', (raw) => {
      for (const s of executionPolicy(raw).PolicyDocument.Statement) {
        if (s.Condition?.StringEquals?.['kms:EncryptionContext:PARAMETER_ARN']) {
          s.Condition.StringEquals['kms:EncryptionContext:PARAMETER_ARN'] = ['arn:aws:ssm:ap-southeast-1:123456789012:parameter/other/JWT_SECRET'];
        }
      }
    });
    expect(problems.join('\n')).toMatch(/kms:Decrypt on arn:aws:kms:.*: ImplicitlyDenied/);
  });
});

describe('the app\'s own database role', () => {
  /** The task role's policy (the one that grants rds-db:connect). */
  const taskPolicy = (raw: CfnTemplate): Json => props(raw, idOf(raw, 'AWS::IAM::Policy', (p) => JSON.stringify(p).includes('rds-db:connect')));
  const taskDefinition = (raw: CfnTemplate): Json => props(raw, idOf(raw, 'AWS::ECS::TaskDefinition'));
  const container = (raw: CfnTemplate, name: string): Json => taskDefinition(raw).ContainerDefinitions.find((c: Json) => c.Name === name);

  test('a task role that may connect as any database user may connect as the master user', () => {
    const problems = prove('app-db-role', 'nat-gateway', (raw) => {
      taskPolicy(raw).PolicyDocument.Statement[0].Resource = { 'Fn::Join': ['', ['arn:aws:rds-db:ap-southeast-1:123456789012:dbuser:*/*']] };
    });
    expect(problems.join('\n')).toMatch(/the task role \w+ may connect as the master user flask/);
  });

  test('without rds-db:connect the app cannot sign in as its role', () => {
    const problems = prove('app-db-role', 'nat-gateway', (raw) => {
      taskPolicy(raw).PolicyDocument.Statement[0].Action = 'rds-db:describe';
    });
    expect(problems.join('\n')).toMatch(/rds-db:connect on arn:aws:rds-db:ap-southeast-1:123456789012:dbuser:cluster-\w+\/flask_app: ImplicitlyDenied/);
  });

  test('the master secret given to the app container is reported', () => {
    const problems = prove('app-db-role', 'nat-gateway', (raw) => {
      const admin = container(raw, 'AppRole').Secrets.find((x: Json) => x.Name === 'DB_ADMIN_PASSWORD');
      container(raw, 'App').Secrets.push({ ...admin, Name: 'DB_PASSWORD' });
    });
    expect(problems).toEqual(['container App, which keeps running, receives the master secret']);
  });

  test('an admin step the app does not wait for is reported', () => {
    const problems = prove('app-db-role', 'nat-gateway', (raw) => {
      delete container(raw, 'App').DependsOn;
    });
    expect(problems).toEqual(['container AppRole receives the master secret but the app does not wait for it to succeed']);
  });

  test('an app connecting as the master user with a password is reported', () => {
    const problems = prove('app-db-role', 'nat-gateway', (raw) => {
      container(raw, 'App').Secrets = container(raw, 'App').Secrets.filter((x: Json) => x.Name !== 'DB_IAM_AUTH');
    });
    expect(problems).toEqual(['the app container App does not get DB_IAM_AUTH=1']);
  });
});

describe('NLB access logs', () => {
  test('a bucket policy without the log delivery statement is reported', () => {
    const problems = prove('nlb-access-logs', 'regulated', (raw) => {
      const policy = props(raw, idOf(raw, 'AWS::S3::BucketPolicy'));
      policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.filter((s: Json) => !JSON.stringify(s.Principal ?? '').includes('delivery.logs'));
    });
    expect(problems.join('\n')).toMatch(/delivery\.logs\.amazonaws\.com s3:PutObject on arn:aws:s3:::\w+\/AWSLogs\/123456789012\/.*: ImplicitlyDenied/);
  });

  test('a load balancer that does not wait for the bucket policy is reported', () => {
    const problems = prove('nlb-access-logs', 'regulated', (raw) => {
      delete (raw.Resources[idOf(raw, 'AWS::ElasticLoadBalancingV2::LoadBalancer')] as Json).DependsOn;
    });
    expect(problems.join('\n')).toMatch(/may set its access-log attribute before the bucket policy exists/);
  });
});

describe('permissions: resource, key and trust policies', () => {
  test('a log key without the CloudWatch Logs statement cannot encrypt the task logs', () => {
    const problems = prove('task-logs', 'nat-gateway', (raw) => {
      const group = props(raw, idOf(raw, 'AWS::Logs::LogGroup', (_p, id) => id.startsWith('PServiceLogs')));
      const keyId = group.KmsKeyId['Fn::GetAtt'][0];
      const policy = props(raw, keyId).KeyPolicy;
      policy.Statement = policy.Statement.filter((s: Json) => !JSON.stringify(s.Principal).includes('logs.'));
    });
    expect(problems.join('\n')).toMatch(/logs\.ap-southeast-1\.amazonaws\.com kms:GenerateDataKey on .*: ImplicitlyDenied/);
  });

  test('a key policy that does not delegate to the account denies the execution role', () => {
    const problems = prove('database-secret', 'nat-gateway', (raw) => {
      const secret = props(raw, idOf(raw, 'AWS::SecretsManager::Secret'));
      const policy = props(raw, secret.KmsKeyId['Fn::GetAtt'][0]).KeyPolicy;
      policy.Statement = policy.Statement.filter((s: Json) => !JSON.stringify(s.Principal).includes(':root'));
      // Without the account delegation, only a statement naming the role could allow it.
      policy.Statement = policy.Statement.filter((s: Json) => !JSON.stringify(s.Principal).includes('ExecutionRole'));
    });
    expect(problems.join('\n')).toMatch(/kms:Decrypt on arn:aws:kms:.*: ImplicitlyDenied/);
  });

  test('an execution role trusted by another service cannot be assumed by ECS', () => {
    const problems = prove('image-pull', 'nat-gateway', (raw) => {
      const role = props(raw, idOf(raw, 'AWS::IAM::Role', (_p, id) => id.includes('ExecutionRole')));
      role.AssumeRolePolicyDocument.Statement[0].Principal.Service = 'lambda.amazonaws.com';
    });
    expect(problems.join('\n')).toMatch(/ecs-tasks\.amazonaws\.com sts:AssumeRole on .*: ImplicitlyDenied/);
  });

  test('alarm → SNS: a topic policy allowing CloudWatch from this account passes, one scoped to another region fails', () => {
    const allow = (sourceArn: string) => (raw: CfnTemplate) => {
      const policy = props(raw, idOf(raw, 'AWS::SNS::TopicPolicy')).PolicyDocument;
      // Only the SSL Deny stays, then the statement under test.
      policy.Statement = policy.Statement.filter((s: Json) => s.Effect === 'Deny');
      policy.Statement.push({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: policy.Statement[0].Resource,
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': sourceArn } },
      });
    };
    expect(prove('alarm-notify', 'nat-gateway', allow('arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:*'))).toEqual([]);
    expect(prove('alarm-notify', 'nat-gateway', allow('arn:aws:cloudwatch:us-east-1:123456789012:alarm:*')).join('\n'))
      .toMatch(/cloudwatch\.amazonaws\.com sns:Publish on .*: ImplicitlyDenied/);
  });

  test('alarm → SNS: an explicit Deny in the topic policy wins over the Allow', () => {
    const problems = prove('alarm-notify', 'nat-gateway', (raw) => {
      const policy = props(raw, idOf(raw, 'AWS::SNS::TopicPolicy')).PolicyDocument;
      policy.Statement.push({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: policy.Statement[0].Resource });
      policy.Statement[0].Condition = { Bool: { 'aws:SecureTransport': 'true' } };
    });
    expect(problems.join('\n')).toMatch(/sns:Publish on .*: ExplicitlyDenied/);
  });

  test('a task role without the SSM Messages actions cannot open ECS Exec channels', () => {
    const problems = prove('ecs-exec', 'ecs-exec', (raw) => {
      const policy = props(raw, idOf(raw, 'AWS::IAM::Policy', (p) => JSON.stringify(p).includes('ssmmessages:'))).PolicyDocument;
      policy.Statement = policy.Statement.filter((st: Json) => !JSON.stringify(st.Action).includes('ssmmessages:'));
    });
    expect(problems.join('\n')).toMatch(/ssmmessages:CreateControlChannel on \*: ImplicitlyDenied/);
  });

  test('the API Gateway CloudWatch role without its logs policy cannot write access logs', () => {
    const problems = prove('api-logs', 'nat-gateway', (raw) => {
      const role = props(raw, idOf(raw, 'AWS::IAM::Role', (p) => JSON.stringify(p.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com')));
      delete role.ManagedPolicyArns;
      delete role.Policies;
    });
    expect(problems.join('\n')).toMatch(/logs:PutLogEvents on .*: ImplicitlyDenied/);
  });
});

describe('network', () => {
  test('a task security group without HTTPS egress cannot reach ECR', () => {
    const problems = prove('image-pull', 'nat-gateway', (raw) => {
      props(raw, idOf(raw, 'AWS::EC2::SecurityGroup', (p) => /Flask service tasks/.test(p.GroupDescription))).SecurityGroupEgress = [
        { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 },
      ];
    });
    expect(problems.join('\n')).toMatch(/no egress rule of sg-PServiceTaskSecurityGroup\w+ allows tcp\/443/);
  });

  test('a security group with no egress rules at all keeps CloudFormation\'s allow-all egress', () => {
    expect(prove('image-pull', 'nat-gateway', (raw) => {
      delete props(raw, idOf(raw, 'AWS::EC2::SecurityGroup', (p) => /Flask service tasks/.test(p.GroupDescription))).SecurityGroupEgress;
    })).toEqual([]);
  });

  test('without the database ingress rule the tasks cannot reach Aurora', () => {
    const problems = prove('task-database', 'nat-gateway', (raw) => {
      drop(raw, idOf(raw, 'AWS::EC2::SecurityGroupIngress', (p) => p.Description === 'PostgreSQL from the Flask service'));
    });
    expect(problems.join('\n')).toMatch(/inbound: no ingress rule of sg-PDatabaseSecurityGroup\w+ admits tcp\/5432/);
  });

  test('without the task egress rule to the database the tasks cannot reach Aurora', () => {
    const problems = prove('task-database', 'nat-gateway', (raw) => {
      drop(raw, idOf(raw, 'AWS::EC2::SecurityGroupEgress', (p) => p.Description === 'PostgreSQL from the Flask service'));
    });
    expect(problems.join('\n')).toMatch(/outbound: no egress rule .* allows tcp\/5432/);
  });

  test('a NAT gateway without its Elastic IP gives no internet egress', () => {
    const problems = prove('nat-internet', 'nat-gateway', (raw) => {
      delete props(raw, idOf(raw, 'AWS::EC2::NatGateway')).AllocationId;
    });
    expect(problems.join('\n')).toMatch(/NAT gateway \w+ has no Elastic IP/);
  });

  test('a task in a public subnet without its own public IP has no egress', () => {
    const problems = prove('image-pull', 'public-subnets', (raw) => {
      props(raw, idOf(raw, 'AWS::ECS::Service')).NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp = 'DISABLED';
    });
    expect(problems.join('\n')).toMatch(/the caller would need its own public IP/);
  });

  test('an app subnet without a default route has no egress', () => {
    const problems = prove('nat-internet', 'nat-gateway', (raw) => {
      for (const id of Object.keys(raw.Resources).filter((k) => /AppSubnet\dDefaultRoute/.test(k))) delete raw.Resources[id];
    });
    expect(problems.join('\n')).toMatch(/has no default route/);
  });

  test('an interface endpoint without private DNS is not used by the SDK', () => {
    const problems = prove('parameters', 'vpc-endpoints', (raw) => {
      props(raw, idOf(raw, 'AWS::EC2::VPCEndpoint', (p) => p.ServiceName === 'com.amazonaws.ap-southeast-1.ssm')).PrivateDnsEnabled = false;
    });
    expect(problems.join('\n')).toMatch(/endpoint \w+ for ssm has no private DNS/);
  });

  test('an interface endpoint whose security group admits nothing cannot be reached', () => {
    const problems = prove('image-pull', 'vpc-endpoints', (raw) => {
      delete props(raw, idOf(raw, 'AWS::EC2::SecurityGroup', (_p, id) => id.startsWith('PNetworkVpcEcrDockerSecurityGroup'))).SecurityGroupIngress;
    });
    expect(problems.join('\n')).toMatch(/ecr\.dkr endpoint \w+ inbound: no ingress rule .* admits tcp\/443/);
  });

  test('without the S3 gateway endpoint the image layers have no way out of the VPC_ENDPOINTS VPC', () => {
    const problems = prove('image-pull', 'vpc-endpoints', (raw) => {
      drop(raw, idOf(raw, 'AWS::EC2::VPCEndpoint', (p) => JSON.stringify(p.ServiceName).includes('.s3')));
    });
    expect(problems.join('\n')).toMatch(/s3 \(no endpoint, over the internet\): subnet \w+ has no default route/);
  });

  test('a target group on another port than the container breaks API → task', () => {
    const problems = prove('api-to-task', 'nat-gateway', (raw) => {
      props(raw, idOf(raw, 'AWS::ElasticLoadBalancingV2::TargetGroup')).Port = 9000;
    });
    expect(problems.join('\n')).toMatch(/sends to 9000 but the service registers container port 8000/);
  });

  test('a task security group that does not admit the load balancer fails traffic and health checks', () => {
    const problems = prove('api-to-task', 'nat-gateway', (raw) => {
      drop(raw, idOf(raw, 'AWS::EC2::SecurityGroupIngress', (p) => p.Description === 'Container port from the NLB'));
    });
    expect(problems.join('\n')).toMatch(/\(traffic\): inbound: no ingress rule/);
    expect(problems.join('\n')).toMatch(/\(health check\): inbound: no ingress rule/);
  });
});

describe('settings and TLS', () => {
  test('a DB_HOST setting that does not name the cluster endpoint is reported', () => {
    const problems = prove('task-database', 'nat-gateway', (raw) => {
      props(raw, idOf(raw, 'AWS::SSM::Parameter', (p) => String(p.Name).endsWith('/DB_HOST'))).Value = 'db.example.com';
    });
    expect(problems.join('\n')).toMatch(/no setting of the container holds the cluster endpoint/);
  });

  test('a cluster without rds.force_ssl accepts plain connections', () => {
    const problems = prove('database-tls', 'nat-gateway', (raw) => {
      props(raw, idOf(raw, 'AWS::RDS::DBClusterParameterGroup')).Parameters['rds.force_ssl'] = '0';
    });
    expect(problems.join('\n')).toMatch(/does not set rds.force_ssl to 1/);
  });
});

describe('deploy order', () => {
  test('a stage that does not wait for the API Gateway account role is reported', () => {
    const problems = prove('api-logs', 'nat-gateway', (raw) => {
      delete (raw.Resources[idOf(raw, 'AWS::ApiGateway::Stage')] as Json).DependsOn;
    });
    expect(problems.join('\n')).toMatch(/does not depend on \w+: it can be created before the role is set/);
  });
});

describe('known defects: the repair the fix makes is all the proof asks for', () => {
  test('defect 1: a CloudWatch publish statement scoped to the account\'s alarms', () => {
    for (const modeId of ['nat-gateway', 'production']) {
      expect(prove('alarm-notify', modeId, (raw) => {
        const policy = props(raw, idOf(raw, 'AWS::SNS::TopicPolicy')).PolicyDocument;
        policy.Statement.push({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: policy.Statement[0].Resource,
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:*' } },
        });
      })).toEqual([]);
    }
  });

  test('defect 2: an Elastic IP on the NAT instance', () => {
    const addEip = (raw: CfnTemplate) => {
      const instance = idOf(raw, 'AWS::EC2::Instance');
      raw.Resources.NatEip = { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc', InstanceId: { Ref: instance } } };
    };
    for (const pathId of ['nat-internet', 'image-pull', 'parameters', 'database-secret', 'task-logs']) {
      expect(prove(pathId, 'nat-instance', addEip)).toEqual([]);
    }
  });

  test('defect 3: the rotation function in the app subnets', () => {
    expect(prove('rotation', 'rotation', (raw) => {
      const app = props(raw, idOf(raw, 'AWS::Serverless::Application'));
      app.Parameters.vpcSubnetIds = { 'Fn::Join': [',', [{ Ref: 'PNetworkVpcAppSubnet1SubnetD74E011A' }, { Ref: 'PNetworkVpcAppSubnet2Subnet74D7D5D4' }]] };
    })).toEqual([]);
  });

  describe('defect 3: tasks replaced after RotationSucceeded', () => {
    const replaceTasks = (machineActions: string[]) => (raw: CfnTemplate) => {
      // Only the rule under test replaces the tasks.
      for (const [id, r] of Object.entries(raw.Resources)) if (r.Type === 'AWS::Events::Rule') delete raw.Resources[id];
      const secret = props(raw, idOf(raw, 'AWS::SecretsManager::RotationSchedule')).SecretId;
      const service = idOf(raw, 'AWS::ECS::Service');
      const role = (principal: string, actions: string[], resource: Json) => ({
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: principal }, Action: 'sts:AssumeRole' }] },
          Policies: [{ PolicyName: 'P', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }] } }],
        },
      });
      raw.Resources.RuleRole = role('events.amazonaws.com', ['states:StartExecution'], { Ref: 'ReplaceTasks' });
      raw.Resources.MachineRole = role('states.amazonaws.com', machineActions, { Ref: service });
      raw.Resources.ReplaceTasks = { Type: 'AWS::StepFunctions::StateMachine', Properties: { RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] } } };
      raw.Resources.OnRotation = {
        Type: 'AWS::Events::Rule',
        Properties: {
          State: 'ENABLED',
          EventPattern: {
            'source': ['aws.secretsmanager'],
            'detail-type': ['AWS Service Event via CloudTrail'],
            'detail': { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationSucceeded'], additionalEventData: { SecretId: [secret] } },
          },
          Targets: [{ Id: 'T', Arn: { Ref: 'ReplaceTasks' }, RoleArn: { 'Fn::GetAtt': ['RuleRole', 'Arn'] } }],
        },
      };
    };

    test('a rule that starts a state machine allowed ecs:UpdateService on the service is all it asks for', () => {
      expect(prove('rotation-reaches-app', 'master-user', replaceTasks(['ecs:UpdateService']))).toEqual([]);
    });

    test('a state machine without ecs:UpdateService does not replace the tasks', () => {
      expect(prove('rotation-reaches-app', 'master-user', replaceTasks(['ecs:DescribeServices'])).join('\n'))
        .toMatch(/nothing replaces its tasks after a rotation: role MachineRole ecs:UpdateService on .*: ImplicitlyDenied/);
    });
  });

  test('defect 4: no access logs in CloudWatchRoleMode.NONE', () => {
    expect(prove('api-logs', 'cw-role-none', (raw) => {
      delete props(raw, idOf(raw, 'AWS::ApiGateway::Stage')).AccessLogSetting;
    })).toEqual([]);
  });

  test('defect 8: the NLB security group with only its egress to the tasks', () => {
    const restrict = (raw: CfnTemplate) => {
      props(raw, idOf(raw, 'AWS::EC2::SecurityGroup', (_p, id) => id.startsWith('PServiceLoadBalancerSecurityGroup'))).SecurityGroupEgress = [
        { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 },
      ];
    };
    expect(prove('nlb-egress-scope', 'nat-gateway', restrict)).toEqual([]);
    // ...and the traffic still flows.
    expect(prove('api-to-task', 'nat-gateway', restrict)).toEqual([]);
  });

  test('defect 5: the service depends on the writer', () => {
    expect(prove('first-create-order', 'nat-gateway', (raw) => {
      const service = raw.Resources[idOf(raw, 'AWS::ECS::Service')] as Json;
      service.DependsOn = [...(service.DependsOn ?? []), idOf(raw, 'AWS::RDS::DBInstance')];
    })).toEqual([]);
  });
});

describe('Lambda mode: each proof fails when its link is broken', () => {
  const serving = (raw: CfnTemplate) => idOf(raw, 'AWS::Lambda::Function', (p) => JSON.stringify(p.ImageConfig ?? {}).includes('lambda_handler.handler'));
  const migration = (raw: CfnTemplate) => idOf(raw, 'AWS::Lambda::Function', (p) => JSON.stringify(p.ImageConfig ?? {}).includes('lambda_handler.migrate'));
  const roleOf = (raw: CfnTemplate, fnId: string) => props(raw, fnId).Role['Fn::GetAtt'][0];
  const policiesOf = (raw: CfnTemplate, roleId: string) => Object.entries(raw.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(roleId)).map(([id]) => id);

  test('without the invoke permission API Gateway cannot call the function', () => {
    const problems = prove('api-to-function', 'lambda', (raw) => { drop(raw, idOf(raw, 'AWS::Lambda::Permission')); });
    expect(problems.join('\n')).toMatch(/apigateway\.amazonaws\.com lambda:InvokeFunction on arn:aws:lambda:.*: ImplicitlyDenied/);
  });

  test('an invoke permission for every API of the account is reported as unscoped', () => {
    const problems = prove('api-to-function', 'lambda', (raw) => {
      props(raw, idOf(raw, 'AWS::Lambda::Permission')).SourceArn = 'arn:aws:execute-api:ap-southeast-1:123456789012:*';
    });
    expect(problems.join('\n')).toMatch(/another API may invoke .*: the permission is not scoped to this API's stage/);
  });

  test('rds-db:connect granted for the master user instead of the app role is reported both ways', () => {
    const problems = prove('function-db-auth', 'lambda', (raw) => {
      for (const id of policiesOf(raw, roleOf(raw, serving(raw)))) {
        for (const s of props(raw, id).PolicyDocument.Statement) {
          if (s.Action === 'rds-db:connect') s.Resource['Fn::Join'][1][s.Resource['Fn::Join'][1].length - 1] = '/flask';
        }
      }
    });
    expect(problems.join('\n')).toMatch(/rds-db:connect on arn:aws:rds-db:.*\/flask_app: ImplicitlyDenied/);
    expect(problems.join('\n')).toMatch(/role may connect as the master user flask/);
  });

  test('without the database ingress from the functions they cannot reach Aurora', () => {
    const problems = prove('function-database', 'lambda', (raw) => {
      drop(raw, idOf(raw, 'AWS::EC2::SecurityGroupIngress', (p) => /Flask functions/.test(p.Description ?? '')));
    });
    expect(problems.join('\n')).toMatch(/no ingress rule of .* admits tcp\/5432/);
  });

  test('without the environment decrypt policy the function cannot read its environment', () => {
    const problems = prove('function-env-key', 'lambda', (raw) => {
      for (const id of policiesOf(raw, roleOf(raw, serving(raw)))) {
        if (JSON.stringify(props(raw, id).PolicyDocument).includes('kms:Decrypt')) delete raw.Resources[id];
      }
    });
    expect(problems.join('\n')).toMatch(/kms:Decrypt on arn:aws:kms:.*: ImplicitlyDenied/);
  });

  test('the migration role, whose decrypt policy names no function, is reported once another function shares it', () => {
    const problems = prove('function-env-key', 'lambda', (raw) => { props(raw, serving(raw)).Role = props(raw, migration(raw)).Role; });
    expect(problems.join('\n')).toMatch(/role may decrypt any function's environment and is also the role of/);
  });

  test('a JWT_SECRET written into the template is reported', () => {
    const problems = prove('function-env-key', 'lambda', (raw) => { props(raw, serving(raw)).Environment.Variables.JWT_SECRET = 'plain-text'; });
    expect(problems.join('\n')).toMatch(/JWT_SECRET is not a Secrets Manager dynamic reference/);
  });

  test('a function role without its log statement cannot write its logs', () => {
    const problems = prove('function-logs', 'lambda', (raw) => {
      for (const id of policiesOf(raw, roleOf(raw, migration(raw)))) {
        const doc = props(raw, id).PolicyDocument;
        doc.Statement = doc.Statement.filter((s: Json) => ![s.Action].flat().includes('logs:PutLogEvents'));
      }
    });
    expect(problems.join('\n')).toMatch(/logs:CreateLogStream on .*: ImplicitlyDenied/);
  });

  test('a trigger that does not wait for the writer, and a serving function that does not wait for the trigger, are reported', () => {
    const problems = prove('migration-trigger', 'lambda', (raw) => {
      const trigger = idOf(raw, 'Custom::Trigger');
      const resources = raw.Resources as Record<string, Json>;
      resources[trigger].DependsOn = [resources[trigger].DependsOn ?? []].flat().filter((d: string) => !/Writer/.test(d));
      const fn = serving(raw);
      resources[fn].DependsOn = [resources[fn].DependsOn ?? []].flat().filter((d: string) => d !== trigger);
    });
    expect(problems.join('\n')).toMatch(/can run before .*Writer.* exists/);
    expect(problems.join('\n')).toMatch(/can be updated before .* has migrated/);
  });

  test('a migration function that cannot reach the database is reported', () => {
    const problems = prove('migration-trigger', 'lambda', (raw) => {
      drop(raw, idOf(raw, 'AWS::EC2::SecurityGroupEgress', (p) => /Flask functions/.test(p.Description ?? '')));
    });
    expect(problems.join('\n')).toMatch(/no egress rule of .* allows tcp\/5432/);
  });

  test('HTTPS egress to anywhere on the functions\' security group is reported', () => {
    const problems = prove('function-no-egress', 'lambda', (raw) => {
      props(raw, idOf(raw, 'AWS::EC2::SecurityGroup', (p) => /Flask functions/.test(p.GroupDescription))).SecurityGroupEgress = [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 },
      ];
    });
    expect(problems.join('\n')).toMatch(/allows egress tcp\/443-443 to 0\.0\.0\.0\/0/);
  });
});
