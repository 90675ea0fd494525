import { ACCOUNT, Json, REGION, ResolvedTemplate } from './cfn';
import { Call, Permissions } from './iam';
import { Mode, MODES } from './modes';
import { Endpoint, Network } from './network';

/** What a proof gets: the resolved template of one mode, and readers over it. */
export interface ProofContext {
  readonly t: ResolvedTemplate;
  readonly iam: Permissions;
  readonly net: Network;
  readonly mode: Mode;
}

/** One runtime interaction of the platform, proven on a synthesized template. */
export interface RuntimePath {
  /** Short id (test names, README). */
  readonly id: string;
  /** What calls what, at run time. */
  readonly title: string;
  /** The modes the interaction exists in (ids of MODES); undefined means every mode. */
  readonly modes?: string[];
  /** Every reason the interaction would fail once deployed; empty when it is proven. */
  prove(ctx: ProofContext): string[];
}

/** Ids of every mode but `except`. */
const ALL_BUT = (...except: string[]) => MODES.map((m) => m.id).filter((m) => !except.includes(m));
/** The modes that run on Lambda functions instead of an ECS service. */
const LAMBDA_MODES = ['lambda'];
/** The modes with an ECS service behind a load balancer. */
const FARGATE_MODES = ALL_BUT(...LAMBDA_MODES);

// ---- helpers over the template ----

function logGroupArn(name: string): string {
  return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
}

export function denied(ctx: ProofContext, calls: Call[]): string[] {
  return calls.map((c) => ctx.iam.check(c)).filter((d) => !d.allowed).map((d) => d.summary);
}

/** The service assumes the role (its trust policy, with the service's source conditions). */
export function assumes(ctx: ProofContext, roleId: string, service: string, sourceArn?: string): string[] {
  return denied(ctx, [{
    caller: { service },
    action: 'sts:AssumeRole',
    resource: ctx.iam.roleArn(roleId),
    context: { 'aws:SourceAccount': ACCOUNT, ...(sourceArn ? { 'aws:SourceArn': sourceArn } : {}) },
    resourcePolicy: ctx.iam.trustPolicy(roleId),
  }]);
}

/**
 * CloudWatch Logs can use the log group's KMS key (if any): the Logs service principal calls
 * KMS with the log group's ARN as encryption context.
 */
export function logKeyProblems(ctx: ProofContext, logGroupName: string): string[] {
  const id = ctx.t.ofType('AWS::Logs::LogGroup').find((g) => ctx.t.ref(g) === logGroupName);
  if (!id) return [`log group ${logGroupName} is not in the template`];
  const key = ctx.t.props(id).KmsKeyId;
  if (!key) return [];
  return denied(ctx, ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt'].map((action) => ({
    caller: { service: `logs.${REGION}.amazonaws.com` },
    action,
    resource: key,
    context: { 'kms:EncryptionContext:aws:logs:arn': logGroupArn(logGroupName), 'aws:SourceAccount': ACCOUNT },
  })));
}

/** A role writes to a log group (stream `stream`), and Logs can use the group's key. */
export function writesLogs(ctx: ProofContext, roleId: string, logGroupName: string, stream: string, withDescribe = false): string[] {
  const actions = ['logs:CreateLogStream', 'logs:PutLogEvents', ...(withDescribe ? ['logs:DescribeLogStreams'] : [])];
  return [
    ...denied(ctx, actions.map((action) => ({
      caller: { role: roleId },
      action,
      resource: `${logGroupArn(logGroupName)}:log-stream:${stream}`,
    }))),
    ...logKeyProblems(ctx, logGroupName),
  ];
}

interface Task {
  readonly serviceId: string;
  readonly taskDefId: string;
  /** The app: the essential container (the one with the port mapping when several are). */
  readonly container: Json;
  /** Every container of the task, the app's admin step included. */
  readonly containers: Json[];
  readonly executionRole: string;
  readonly endpoints: Endpoint[];
}

function essential(container: Json): boolean {
  return container.Essential !== false;
}

function tasks(ctx: ProofContext): Task[] {
  const t = ctx.t;
  return t.ofType('AWS::ECS::Service').map((serviceId) => {
    const s = t.props(serviceId);
    const taskDefId = t.ofType('AWS::ECS::TaskDefinition').find((id) => t.ref(id) === s.TaskDefinition)!;
    const td = t.props(taskDefId);
    const executionRole = ctx.iam.roleIdOf(td.ExecutionRoleArn);
    if (!executionRole) throw new Error(`task definition ${taskDefId} has no execution role in the template`);
    const net = s.NetworkConfiguration.AwsvpcConfiguration;
    const publicIp = net.AssignPublicIp === 'ENABLED';
    const endpoints = (net.Subnets as string[]).map((subnet) => ({ subnet, securityGroups: net.SecurityGroups as string[], publicIp }));
    const containers: Json[] = td.ContainerDefinitions;
    const app = containers.find((c) => essential(c) && (c.PortMappings ?? []).length) ?? containers.find(essential) ?? containers[0];
    return { serviceId, taskDefId, container: app, containers, executionRole, endpoints };
  });
}

/** Every resource CloudFormation creates before `id`: DependsOn and references, transitively. */
function dependencies(t: ResolvedTemplate, id: string): Set<string> {
  const seen = new Set<string>();
  const visit = (x: string) => {
    const r = t.resource(x);
    for (const d of [...[r.DependsOn ?? []].flat(), ...t.refsIn(r.Properties ?? {})]) {
      if (!seen.has(d)) { seen.add(d); visit(d); }
    }
  };
  visit(id);
  return seen;
}

export function requireSome<T>(items: T[], what: string): T[] {
  if (items.length === 0) throw new Error(`the template has no ${what}: the proof has nothing to prove`);
  return items;
}

export function servicesFrom(ctx: ProofContext, endpoints: Endpoint[], services: string[]): string[] {
  return endpoints.flatMap((e) => services.flatMap((s) => ctx.net.serviceProblems(e, s).map((p) => `from ${e.subnet}: ${p}`)));
}

/** Values of the container's settings: its environment and the String parameters its secrets come from. */
function settingValues(ctx: ProofContext, task: Task): string[] {
  const fromParameters = (task.container.Secrets ?? []).flatMap((s: Json) => {
    const name = String(s.ValueFrom).replace(/^arn:aws:ssm:[^:]+:\d+:parameter/, '');
    const id = ctx.t.ofType('AWS::SSM::Parameter').find((x) => ctx.t.ref(x) === name);
    return id ? [String(ctx.t.props(id).Value)] : [];
  });
  return [...fromParameters, ...(task.container.Environment ?? []).map((e: Json) => String(e.Value))];
}

/** The value of a container's setting `name` (its String parameter, or plain environment). */
function setting(ctx: ProofContext, container: Json, name: string): string | undefined {
  const secret = (container.Secrets ?? []).find((s: Json) => s.Name === name);
  if (secret) {
    const parameter = String(secret.ValueFrom).replace(/^arn:aws:ssm:[^:]+:\d+:parameter/, '');
    const id = ctx.t.ofType('AWS::SSM::Parameter').find((x) => ctx.t.ref(x) === parameter);
    return id ? String(ctx.t.props(id).Value) : undefined;
  }
  const plain = (container.Environment ?? []).find((e: Json) => e.Name === name);
  return plain ? String(plain.Value) : undefined;
}

/** The cluster's master user name: given, or the username of its generated secret. */
function masterUsername(ctx: ProofContext, clusterId: string): string {
  const given = String(ctx.t.props(clusterId).MasterUsername ?? '');
  if (given && !given.includes('{{resolve:')) return given;
  for (const s of ctx.t.ofType('AWS::SecretsManager::Secret')) {
    if (!given.includes(ctx.t.ref(s))) continue;
    const template = ctx.t.props(s).GenerateSecretString?.SecretStringTemplate;
    if (template) return JSON.parse(template).username;
  }
  throw new Error(`cannot tell the master user of ${clusterId}`);
}

/** EventBridge rules that match Secrets Manager's RotationSucceeded event for `secretArn`. */
function rotationRules(ctx: ProofContext, secretArn: string): string[] {
  return ctx.t.ofType('AWS::Events::Rule').filter((id) => {
    const p = ctx.t.props(id);
    const pattern = p.EventPattern ?? {};
    const detail = pattern.detail ?? {};
    const secretIds = detail.additionalEventData?.SecretId;
    return p.State !== 'DISABLED' && (pattern.source ?? []).includes('aws.secretsmanager')
      && (detail.eventName ?? []).includes('RotationSucceeded') && (!secretIds || secretIds.includes(secretArn));
  });
}

/**
 * Why a rule's targets would not replace the service's tasks: EventBridge must be allowed to start
 * the target (a state machine through the target role, or a function through its resource
 * policy) and the target's own role must be allowed ecs:UpdateService on the service.
 */
function replacesTasks(ctx: ProofContext, ruleId: string, serviceArn: string): string[] {
  const t = ctx.t;
  const problems: string[] = [];
  const ruleArn = t.getAtt(ruleId, 'Arn');
  const updates = (roleId: string | undefined, what: string) => (roleId
    ? denied(ctx, [{ caller: { role: roleId }, action: 'ecs:UpdateService', resource: serviceArn }])
    : [`${what} has no role in the template`]);
  for (const target of t.props(ruleId).Targets ?? []) {
    const machine = t.ofType('AWS::StepFunctions::StateMachine').find((m) => t.ref(m) === target.Arn);
    const fn = t.ofType('AWS::Lambda::Function').find((f) => t.getAtt(f, 'Arn') === target.Arn);
    if (machine) {
      const targetRole = ctx.iam.roleIdOf(target.RoleArn);
      if (!targetRole) { problems.push(`rule ${ruleId} starts ${machine} without a role`); continue; }
      problems.push(...assumes(ctx, targetRole, 'events.amazonaws.com', ruleArn));
      problems.push(...denied(ctx, [{ caller: { role: targetRole }, action: 'states:StartExecution', resource: target.Arn }]));
      problems.push(...updates(ctx.iam.roleIdOf(t.props(machine).RoleArn), `state machine ${machine}`));
    } else if (fn) {
      const permitted = t.ofType('AWS::Lambda::Permission').some((x) => {
        const p = t.props(x);
        return p.Principal === 'events.amazonaws.com' && [t.getAtt(fn, 'Arn'), t.ref(fn)].includes(p.FunctionName) && (!p.SourceArn || p.SourceArn === ruleArn);
      });
      if (!permitted) problems.push(`EventBridge may not invoke ${fn}`);
      problems.push(...updates(ctx.iam.roleIdOf(t.props(fn).Role), `function ${fn}`));
    } else {
      problems.push(`rule ${ruleId} targets ${target.Arn}, which is neither a state machine nor a function of the template`);
    }
  }
  return problems;
}

/** Where a SecureString parameter's value is encrypted: the key of the custom resource that writes it. */
function secureStringKey(ctx: ProofContext, parameterName: string): string | undefined {
  const id = ctx.t.ofType('Custom::FlaskSecureStringParameter').find((c) => ctx.t.props(c).ParameterName === parameterName);
  return id ? ctx.t.props(id).KeyId : undefined;
}

interface Fn {
  readonly id: string;
  readonly arn: string;
  readonly roleId: string;
  readonly endpoints: Endpoint[];
  /** The function's environment, with `{{resolve:ssm:NAME}}` read from the template's parameter. */
  env(name: string): string | undefined;
}

/** The image functions of the template (FlaskLambdaService's serving and migration functions). */
function imageFunctions(ctx: ProofContext): Fn[] {
  const t = ctx.t;
  return t.ofType('AWS::Lambda::Function').filter((id) => t.props(id).PackageType === 'Image').map((id) => {
    const p = t.props(id);
    const roleId = ctx.iam.roleIdOf(p.Role);
    if (!roleId) throw new Error(`function ${id} has no role in the template`);
    const vpc = p.VpcConfig ?? {};
    const endpoints = ((vpc.SubnetIds ?? []) as string[]).map((subnet) => ({ subnet, securityGroups: vpc.SecurityGroupIds as string[] }));
    const vars: Record<string, Json> = p.Environment?.Variables ?? {};
    const env = (name: string): string | undefined => {
      const value = vars[name];
      if (value === undefined) return undefined;
      const m = /^\{\{resolve:ssm:([^:}]+)\}\}$/.exec(String(value));
      if (!m) return String(value);
      const param = t.ofType('AWS::SSM::Parameter').find((x) => t.ref(x) === m[1]);
      return param ? String(t.props(param).Value) : `(no parameter ${m[1]} in the template)`;
    };
    return { id, arn: t.getAtt(id, 'Arn'), roleId, endpoints, env };
  });
}

/** The function a deploy-time trigger invokes (through a version of it), if any. */
function triggeredFunctions(ctx: ProofContext): { trigger: string; fn: string }[] {
  const t = ctx.t;
  return t.ofType('Custom::Trigger').flatMap((trigger) => {
    const handler = t.props(trigger).HandlerArn;
    const version = t.ofType('AWS::Lambda::Version').find((v) => t.ref(v) === handler);
    const fn = version ? t.ofType('AWS::Lambda::Function').find((f) => t.ref(f) === t.props(version).FunctionName) : undefined;
    return fn ? [{ trigger, fn }] : [];
  });
}

/** The resource policy the template's AWS::Lambda::Permission resources give a function. */
function functionPolicy(ctx: ProofContext, fnId: string): Json {
  const t = ctx.t;
  const names = [t.getAtt(fnId, 'Arn'), t.ref(fnId)];
  const statements = t.ofType('AWS::Lambda::Permission').filter((x) => names.includes(t.props(x).FunctionName)).map((x) => {
    const p = t.props(x);
    const condition: Json = {};
    if (p.SourceArn) condition.ArnLike = { 'aws:SourceArn': p.SourceArn };
    if (p.SourceAccount) condition.StringEquals = { 'aws:SourceAccount': p.SourceAccount };
    return {
      Effect: 'Allow',
      Principal: String(p.Principal).endsWith('.amazonaws.com') ? { Service: p.Principal } : { AWS: p.Principal },
      Action: p.Action,
      Resource: t.getAtt(fnId, 'Arn'),
      ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
  });
  return { Version: '2012-10-17', Statement: statements };
}

/** The cluster's subnets, security groups and port, as an endpoint to reach. */
function clusterEndpoints(ctx: ProofContext, clusterId: string): { port: number; to: Endpoint[] } {
  const c = ctx.t.props(clusterId);
  const group = ctx.t.ofType('AWS::RDS::DBSubnetGroup').find((g) => ctx.t.ref(g) === c.DBSubnetGroupName);
  const subnets: string[] = group ? ctx.t.props(group).SubnetIds : [];
  return { port: Number(c.Port ?? 5432), to: subnets.map((subnet) => ({ subnet, securityGroups: c.VpcSecurityGroupIds })) };
}

/** The path of the issue, in the order the README lists them. */
export const PATHS: RuntimePath[] = [
  {
    id: 'alarm-notify',
    title: 'CloudWatch alarm → SNS publish (topic policy + topic key)',
    // The parts on their own create alarms without actions.
    modes: ALL_BUT('parts'),
    prove(ctx) {
      const problems: string[] = [];
      const alarms = requireSome(ctx.t.ofType('AWS::CloudWatch::Alarm').filter((a) => {
        const p = ctx.t.props(a);
        return [...(p.AlarmActions ?? []), ...(p.OKActions ?? [])].some((x: string) => x.startsWith('arn:aws:sns:'));
      }), 'alarm with an SNS action');
      for (const alarm of alarms) {
        const p = ctx.t.props(alarm);
        const alarmArn = ctx.t.getAtt(alarm, 'Arn');
        const source = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': alarmArn };
        for (const topic of new Set<string>([...(p.AlarmActions ?? []), ...(p.OKActions ?? [])].filter((x: string) => x.startsWith('arn:aws:sns:')))) {
          problems.push(...denied(ctx, [{ caller: { service: 'cloudwatch.amazonaws.com' }, action: 'sns:Publish', resource: topic, context: source }]));
          const topicId = ctx.t.ofType('AWS::SNS::Topic').find((id) => ctx.t.ref(id) === topic);
          const key = topicId ? ctx.t.props(topicId).KmsMasterKeyId : undefined;
          if (key) {
            problems.push(...denied(ctx, ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
              caller: { service: 'cloudwatch.amazonaws.com' }, action, resource: key, context: source,
            }))));
          }
        }
      }
      return [...new Set(problems)];
    },
  },
  {
    id: 'image-pull',
    title: 'ECS execution role → ECR image pull (ECR API, registry, S3 layers; network in every egress mode)',
    modes: FARGATE_MODES,
    prove(ctx) {
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => {
        const image: string = task.container.Image;
        const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(image);
        if (!m) return [`image ${image} is not an ECR image of the account`];
        const repo = `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}`;
        return [
          ...assumes(ctx, task.executionRole, 'ecs-tasks.amazonaws.com', `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${ctx.t.props(task.serviceId).Cluster}/0123456789abcdef`),
          ...denied(ctx, [
            { caller: { role: task.executionRole }, action: 'ecr:GetAuthorizationToken', resource: '*' },
            ...['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'].map((action) => ({
              caller: { role: task.executionRole }, action, resource: repo,
            })),
          ]),
          ...servicesFrom(ctx, task.endpoints, ['ecr.api', 'ecr.dkr', 's3']),
        ];
      });
    },
  },
  {
    id: 'parameters',
    title: 'Execution role → each SSM parameter (ssm:GetParameters, kms:Decrypt on its key via SSM)',
    modes: FARGATE_MODES,
    prove(ctx) {
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => {
        const params = requireSome<Json>(task.containers.flatMap((c) => c.Secrets ?? []).filter((s: Json) => String(s.ValueFrom).includes(':ssm:')), 'SSM-backed container secret');
        const problems: string[] = [];
        for (const s of params) {
          const arn: string = s.ValueFrom;
          problems.push(...denied(ctx, [{ caller: { role: task.executionRole }, action: 'ssm:GetParameters', resource: arn }]));
          const key = secureStringKey(ctx, arn.replace(/^arn:aws:ssm:[^:]+:\d+:parameter/, ''));
          if (key) {
            problems.push(...denied(ctx, [{
              caller: { role: task.executionRole },
              action: 'kms:Decrypt',
              resource: key,
              context: { 'kms:ViaService': `ssm.${REGION}.amazonaws.com`, 'kms:EncryptionContext:PARAMETER_ARN': arn },
            }]));
          }
        }
        return [...problems, ...servicesFrom(ctx, task.endpoints, ['ssm'])];
      });
    },
  },
  {
    id: 'database-secret',
    title: 'Execution role → the database secret (secretsmanager:GetSecretValue, kms:Decrypt via Secrets Manager)',
    modes: FARGATE_MODES,
    prove(ctx) {
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => {
        // With the app's own database role, only its admin step (a container of its own) gets the master secret.
        const secrets = requireSome<Json>(task.containers.flatMap((c) => c.Secrets ?? []).filter((s: Json) => String(s.ValueFrom).includes(':secretsmanager:')), 'Secrets Manager container secret');
        const problems: string[] = [];
        for (const s of secrets) {
          const arn = String(s.ValueFrom).split(':').slice(0, 7).join(':');
          const secretId = ctx.t.ofType('AWS::SecretsManager::Secret').find((id) => ctx.t.ref(id) === arn);
          if (!secretId) { problems.push(`secret ${arn} is not in the template`); continue; }
          problems.push(...denied(ctx, [{ caller: { role: task.executionRole }, action: 'secretsmanager:GetSecretValue', resource: arn }]));
          const key = ctx.t.props(secretId).KmsKeyId;
          if (key) {
            problems.push(...denied(ctx, [{
              caller: { role: task.executionRole },
              action: 'kms:Decrypt',
              resource: key,
              context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': arn },
            }]));
          }
        }
        return [...problems, ...servicesFrom(ctx, task.endpoints, ['secretsmanager'])];
      });
    },
  },
  {
    id: 'task-logs',
    title: 'Execution role → CloudWatch Logs (awslogs driver; the Logs service principal on the log key)',
    modes: FARGATE_MODES,
    prove(ctx) {
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => [
        ...task.containers.flatMap((container) => {
          const o = container.LogConfiguration?.Options;
          if (container.LogConfiguration?.LogDriver !== 'awslogs' || !o) return [`container ${container.Name} does not log with the awslogs driver`];
          return writesLogs(ctx, task.executionRole, o['awslogs-group'], `${o['awslogs-stream-prefix']}/${container.Name}/0123456789abcdef`);
        }),
        ...servicesFrom(ctx, task.endpoints, ['logs']),
      ]);
    },
  },
  {
    id: 'task-database',
    title: 'Task → Aurora: routes and security groups on both sides, on the cluster port',
    modes: FARGATE_MODES,
    prove(ctx) {
      const clusters = requireSome(ctx.t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster');
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => clusters.flatMap((c) => {
        const cluster = ctx.t.props(c);
        const port = Number(cluster.Port ?? 5432);
        const group = ctx.t.ofType('AWS::RDS::DBSubnetGroup').find((g) => ctx.t.ref(g) === cluster.DBSubnetGroupName);
        const dbSubnets: string[] = group ? ctx.t.props(group).SubnetIds : [];
        const settings = settingValues(ctx, task);
        const host = String(ctx.t.getAtt(c, 'Endpoint.Address'));
        const problems: string[] = [];
        // The app finds the database through its settings: one must hold the writer endpoint, one the port.
        if (!settings.includes(host)) problems.push(`no setting of the container holds the cluster endpoint ${host}`);
        if (!settings.includes(String(port))) problems.push(`no setting of the container holds the cluster port ${port}`);
        return [...problems, ...task.endpoints.flatMap((from) => dbSubnets.flatMap((subnet) =>
          ctx.net.vpcProblems(from, { subnet, securityGroups: cluster.VpcSecurityGroupIds }, port).map((p) => `${from.subnet} → ${subnet}: ${p}`)))];
      }));
    },
  },
  {
    id: 'app-db-role',
    title: 'Task → Aurora as the app\'s own role: rds-db:connect as DB_USER and not as the master user; only the admin step gets the master secret',
    modes: ALL_BUT('master-user', ...LAMBDA_MODES),
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const clusters = requireSome(t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster');
      for (const task of requireSome(tasks(ctx), 'ECS service')) {
        const user = setting(ctx, task.container, 'DB_USER');
        if (setting(ctx, task.container, 'DB_IAM_AUTH') !== '1') problems.push(`the app container ${task.container.Name} does not get DB_IAM_AUTH=1`);
        if (!user) { problems.push(`the app container ${task.container.Name} gets no DB_USER`); continue; }
        const taskRole = ctx.iam.roleIdOf(t.props(task.taskDefId).TaskRoleArn);
        if (!taskRole) { problems.push(`task definition ${task.taskDefId} has no task role to sign IAM tokens with`); continue; }
        for (const c of clusters) {
          const cluster = t.props(c);
          const master = masterUsername(ctx, c);
          const dbUser = (name: string) => `arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:${t.getAtt(c, 'DBClusterResourceId')}/${name}`;
          if (cluster.EnableIAMDatabaseAuthentication !== true) problems.push(`cluster ${c} does not accept IAM database authentication`);
          if (user === master) problems.push(`the app connects as the master user ${master}`);
          problems.push(...denied(ctx, [{ caller: { role: taskRole }, action: 'rds-db:connect', resource: dbUser(user) }]));
          if (ctx.iam.check({ caller: { role: taskRole }, action: 'rds-db:connect', resource: dbUser(master) }).allowed) {
            problems.push(`the task role ${taskRole} may connect as the master user ${master}`);
          }
          const secretArns = t.ofType('AWS::SecretsManager::Secret').map((s) => t.ref(s)).filter((arn) => String(cluster.MasterUserPassword).includes(arn));
          for (const secretArn of secretArns) {
            if (ctx.iam.check({ caller: { role: taskRole }, action: 'secretsmanager:GetSecretValue', resource: secretArn }).allowed) {
              problems.push(`the task role ${taskRole} may read the master secret itself`);
            }
            const waitedFor = (task.container.DependsOn ?? []).filter((d: Json) => d.Condition === 'SUCCESS').map((d: Json) => d.ContainerName);
            for (const holder of task.containers.filter((x) => (x.Secrets ?? []).some((s: Json) => String(s.ValueFrom).startsWith(secretArn)))) {
              if (holder === task.container || essential(holder)) problems.push(`container ${holder.Name}, which keeps running, receives the master secret`);
              else if (!waitedFor.includes(holder.Name)) problems.push(`container ${holder.Name} receives the master secret but the app does not wait for it to succeed`);
            }
          }
        }
      }
      return problems;
    },
  },
  {
    id: 'ecs-exec',
    title: 'ECS Exec: task role → SSM Messages channels (and the session log, if configured); network to ssmmessages',
    modes: ['ecs-exec'],
    prove(ctx) {
      const t = ctx.t;
      return requireSome(tasks(ctx).filter((x) => t.props(x.serviceId).EnableExecuteCommand === true), 'service with ECS Exec').flatMap((task) => {
        const td = t.props(task.taskDefId);
        const roleId = ctx.iam.roleIdOf(td.TaskRoleArn);
        if (!roleId) return [`task definition ${task.taskDefId} has no task role: the ECS Exec agent cannot open its channels`];
        const problems = [
          ...assumes(ctx, roleId, 'ecs-tasks.amazonaws.com', `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${t.props(task.serviceId).Cluster}/0123456789abcdef`),
          ...denied(ctx, ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel']
            .map((action) => ({ caller: { role: roleId }, action, resource: '*' }))),
          ...servicesFrom(ctx, task.endpoints, ['ssmmessages']),
        ];
        // Session logging, when the cluster configures it, is written with the task role.
        const cluster = t.ofType('AWS::ECS::Cluster').find((c) => t.ref(c) === t.props(task.serviceId).Cluster);
        const log = cluster ? t.props(cluster).Configuration?.ExecuteCommandConfiguration?.LogConfiguration : undefined;
        if (log?.CloudWatchLogGroupName) problems.push(...writesLogs(ctx, roleId, log.CloudWatchLogGroupName, 'ecs-execute-command-0123456789abcdef', true));
        return problems;
      });
    },
  },
  {
    id: 'database-tls',
    title: 'Task → Aurora over TLS only (sslmode require or stricter; rds.force_ssl on)',
    modes: FARGATE_MODES,
    prove(ctx) {
      const t = ctx.t;
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => requireSome(t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster').flatMap((c) => {
        const problems: string[] = [];
        if (!settingValues(ctx, task).some((v) => ['require', 'verify-ca', 'verify-full'].includes(v))) problems.push('no setting asks libpq for sslmode require, verify-ca or verify-full');
        const group = t.ofType('AWS::RDS::DBClusterParameterGroup').find((g) => t.ref(g) === t.props(c).DBClusterParameterGroupName);
        if (String(group ? t.props(group).Parameters?.['rds.force_ssl'] : undefined) !== '1') problems.push(`cluster ${c} does not set rds.force_ssl to 1: it accepts plain connections`);
        return problems;
      }));
    },
  },
  {
    id: 'first-create-order',
    title: 'Task → Aurora on the first create: the service waits for the writer instance',
    modes: FARGATE_MODES,
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const writers = requireSome(t.ofType('AWS::RDS::DBInstance').filter((i) => t.props(i).DBClusterIdentifier), 'Aurora instance');
      for (const task of requireSome(tasks(ctx), 'ECS service')) {
        const before = dependencies(t, task.serviceId);
        for (const writer of writers) {
          if (!before.has(writer)) problems.push(`service ${task.serviceId} can start tasks before ${writer} exists: it does not depend on it`);
        }
      }
      return problems;
    },
  },
  {
    id: 'api-to-task',
    title: 'API Gateway → VPC link → NLB listener → target group → task security group, and the health check',
    modes: FARGATE_MODES,
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const methods = requireSome(t.ofType('AWS::ApiGateway::Method').filter((m) => t.props(m).Integration?.ConnectionType === 'VPC_LINK'), 'VPC link integration');
      for (const m of methods) {
        const integration = t.props(m).Integration;
        const link = t.ofType('AWS::ApiGateway::VpcLink').find((l) => t.ref(l) === integration.ConnectionId);
        if (!link) { problems.push(`${m}: VPC link ${integration.ConnectionId} not in the template`); continue; }
        const uri = new URL(String(integration.Uri).replace('{proxy}', 'x'));
        const port = Number(uri.port || (uri.protocol === 'https:' ? 443 : 80));
        for (const nlbArn of t.props(link).TargetArns as string[]) {
          const nlb = t.ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').find((l) => t.ref(l) === nlbArn)!;
          const lb = t.props(nlb);
          if (lb.Type !== 'network') problems.push(`VPC link target ${nlb} is not a Network Load Balancer`);
          if (uri.protocol === 'http:' && uri.hostname !== String(t.getAtt(nlb, 'DNSName')).toLowerCase()) problems.push(`${m} calls ${uri.hostname}, not the load balancer's DNS name`);
          const listener = t.ofType('AWS::ElasticLoadBalancingV2::Listener').find((l) => t.props(l).LoadBalancerArn === nlbArn && Number(t.props(l).Port) === port);
          if (!listener) { problems.push(`${m} calls port ${port}, but ${nlb} has no listener there`); continue; }
          const l = t.props(listener);
          const wantTls = uri.protocol === 'https:';
          if (wantTls !== (l.Protocol === 'TLS')) problems.push(`${m} calls ${uri.protocol} but listener ${listener} speaks ${l.Protocol}`);
          if (wantTls && !(l.Certificates ?? []).length) problems.push(`TLS listener ${listener} has no certificate`);
          const tgArn = l.DefaultActions?.find((a: Json) => a.Type === 'forward')?.TargetGroupArn;
          const tg = t.ofType('AWS::ElasticLoadBalancingV2::TargetGroup').find((g) => t.ref(g) === tgArn);
          if (!tg) { problems.push(`listener ${listener} forwards to no target group of the template`); continue; }
          const g = t.props(tg);
          const service = t.ofType('AWS::ECS::Service').find((s) => (t.props(s).LoadBalancers ?? []).some((x: Json) => x.TargetGroupArn === tgArn));
          if (!service) { problems.push(`no ECS service registers in target group ${tg}`); continue; }
          const task = tasks(ctx).find((x) => x.serviceId === service)!;
          const reg = t.props(service).LoadBalancers.find((x: Json) => x.TargetGroupArn === tgArn);
          const trafficPort = Number(g.Port);
          if (Number(reg.ContainerPort) !== trafficPort) problems.push(`target group ${tg} sends to ${trafficPort} but the service registers container port ${reg.ContainerPort}`);
          if (!(task.container.PortMappings ?? []).some((p: Json) => Number(p.ContainerPort) === Number(reg.ContainerPort))) {
            problems.push(`the container does not map port ${reg.ContainerPort}`);
          }
          const healthPort = !g.HealthCheckPort || g.HealthCheckPort === 'traffic-port' ? trafficPort : Number(g.HealthCheckPort);
          if (g.Protocol === 'TLS' && g.HealthCheckProtocol !== 'HTTPS' && g.HealthCheckProtocol !== 'TCP') problems.push(`target group ${tg} speaks TLS to the tasks but health-checks over ${g.HealthCheckProtocol}`);
          const lbSgs: string[] = lb.SecurityGroups ?? [];
          if (lbSgs.length && lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic !== 'off') {
            // VPC link traffic arrives through PrivateLink; with enforcement on, the NLB's security group must admit it.
            problems.push(`${nlb} enforces its security group on PrivateLink traffic; the VPC link's traffic would need a rule`);
          }
          for (const lbSubnet of lb.Subnets as string[]) {
            for (const to of task.endpoints) {
              const from = { subnet: lbSubnet, securityGroups: lbSgs };
              if (!lbSgs.length) {
                // Without security groups the NLB passes the client address; the task must admit the VPC link's traffic from the NLB subnets.
                problems.push(...ctx.net.ingressProblems(to.securityGroups, trafficPort, { cidr: ctx.net.subnet(lbSubnet).CidrBlock }).map((p) => `task inbound: ${p}`));
                continue;
              }
              problems.push(...ctx.net.vpcProblems(from, to, trafficPort).map((p) => `NLB ${lbSubnet} → task ${to.subnet} (traffic): ${p}`));
              problems.push(...ctx.net.vpcProblems(from, to, healthPort).map((p) => `NLB ${lbSubnet} → task ${to.subnet} (health check): ${p}`));
            }
          }
          if (!g.HealthCheckPath && g.HealthCheckProtocol !== 'TCP') problems.push(`target group ${tg} has no health check path`);
        }
      }
      return [...new Set(problems)];
    },
  },
  {
    id: 'nlb-egress-scope',
    title: 'NLB security group → the tasks only (traffic and health-check ports; no other egress)',
    modes: FARGATE_MODES,
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      for (const nlb of requireSome(t.ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').filter((l) => (t.props(l).SecurityGroups ?? []).length), 'load balancer with a security group')) {
        const lbArn = t.ref(nlb);
        const groups = t.ofType('AWS::ElasticLoadBalancingV2::TargetGroup').filter((g) => t.ofType('AWS::ElasticLoadBalancingV2::Listener')
          .some((l) => t.props(l).LoadBalancerArn === lbArn && JSON.stringify(t.props(l).DefaultActions).includes(t.ref(g))));
        const ports = new Set(groups.flatMap((g) => {
          const p = t.props(g);
          return [Number(p.Port), !p.HealthCheckPort || p.HealthCheckPort === 'traffic-port' ? Number(p.Port) : Number(p.HealthCheckPort)];
        }));
        const registered = (serviceId: string) => (t.props(serviceId).LoadBalancers ?? [])
          .some((r: Json) => groups.some((g) => t.ref(g) === r.TargetGroupArn));
        const taskSgs = new Set(tasks(ctx).filter((x) => registered(x.serviceId)).flatMap((x) => x.endpoints.flatMap((e) => e.securityGroups)));
        for (const sg of t.props(nlb).SecurityGroups as string[]) {
          // CDK's placeholder rule for "no egress" (255.255.255.255/32, ICMP) matches no traffic.
          for (const rule of (ctx.net.egressRules(sg) ?? []).filter((r) => r.cidr !== '255.255.255.255/32')) {
            const toTasks = rule.sg && taskSgs.has(rule.sg) && rule.protocol === 'tcp' && [...ports].some((port) => rule.from <= port && port <= rule.to) && rule.to - rule.from < 1;
            if (!toTasks) problems.push(`${sg} allows egress ${rule.protocol}/${rule.from}-${rule.to} to ${rule.sg ?? rule.cidr ?? rule.prefixList}: more than the load balancer needs`);
          }
        }
      }
      return problems;
    },
  },
  {
    id: 'nlb-access-logs',
    title: 'NLB access logs → S3 (log delivery may write for this account; bucket encryption it can use; policy before the attribute)',
    modes: ['regulated'],
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const logged = requireSome(t.ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').filter((l) => (t.props(l).LoadBalancerAttributes ?? [])
        .some((a: Json) => a.Key === 'access_logs.s3.enabled' && a.Value === 'true')), 'load balancer with access logs');
      for (const lb of logged) {
        const attributes = t.props(lb).LoadBalancerAttributes as Json[];
        const bucket = attributes.find((a) => a.Key === 'access_logs.s3.bucket')?.Value;
        const prefix = attributes.find((a) => a.Key === 'access_logs.s3.prefix')?.Value;
        const bucketId = t.ofType('AWS::S3::Bucket').find((b) => t.ref(b) === bucket);
        if (!bucketId) { problems.push(`${lb} logs to ${bucket}, which is not a bucket of the template`); continue; }
        const source = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:aws:logs:${REGION}:${ACCOUNT}:*` };
        const key = `${prefix ? `${prefix}/` : ''}AWSLogs/${ACCOUNT}/elasticloadbalancing/${REGION}/2026/01/01/file.log.gz`;
        problems.push(...denied(ctx, [
          { caller: { service: 'delivery.logs.amazonaws.com' }, action: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/${key}`, context: { ...source, 's3:x-amz-acl': 'bucket-owner-full-control' } },
          { caller: { service: 'delivery.logs.amazonaws.com' }, action: 's3:GetBucketAcl', resource: `arn:aws:s3:::${bucket}`, context: source },
        ]));
        const encryption = t.props(bucketId).BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
        if (encryption && encryption.SSEAlgorithm !== 'AES256') problems.push(`bucket ${bucketId} is encrypted with ${encryption.SSEAlgorithm}: NLB log delivery needs a key policy grant this proof does not model`);
        // Elastic Load Balancing checks that it may write when the attribute is set.
        const policy = t.ofType('AWS::S3::BucketPolicy').find((p) => t.props(p).Bucket === bucket);
        if (!policy || !dependencies(t, lb).has(policy)) problems.push(`${lb} may set its access-log attribute before the bucket policy exists`);
      }
      return problems;
    },
  },
  {
    id: 'api-logs',
    title: 'API Gateway → CloudWatch Logs (access and execution logs, in each CloudWatchRoleMode)',
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const accounts = t.ofType('AWS::ApiGateway::Account');
      for (const stageId of requireSome(t.ofType('AWS::ApiGateway::Stage'), 'API stage')) {
        const stage = t.props(stageId);
        const accessLogs = stage.AccessLogSetting?.DestinationArn as string | undefined;
        const execLogs = (stage.MethodSettings ?? []).some((s: Json) => s.LoggingLevel && s.LoggingLevel !== 'OFF');
        if (!accessLogs && !execLogs) continue;
        const uses = [accessLogs ? 'access logs' : '', execLogs ? 'execution logs' : ''].filter(Boolean).join(' and ');
        if (accounts.length === 0) {
          // API Gateway writes both kinds of logs with the account's CloudWatch role; without one, the stage fails to deploy.
          if (!ctx.mode.accountHasApiGatewayRole) {
            problems.push(`stage ${stageId} turns on ${uses}, but the template sets no API Gateway CloudWatch role and the mode does not assume the account has one`);
          }
        } else {
          for (const account of accounts) {
            const roleId = ctx.iam.roleIdOf(t.props(account).CloudWatchRoleArn);
            if (!roleId) { problems.push(`API Gateway account role ${t.props(account).CloudWatchRoleArn} is not in the template`); continue; }
            problems.push(...assumes(ctx, roleId, 'apigateway.amazonaws.com'));
            const deps = [t.resource(stageId).DependsOn ?? []].flat();
            if (!deps.includes(account)) problems.push(`stage ${stageId} does not depend on ${account}: it can be created before the role is set`);
            if (accessLogs) {
              const name = accessLogs.replace(/^arn:aws:logs:[^:]+:\d+:log-group:/, '').replace(/:\*$/, '');
              problems.push(...writesLogs(ctx, roleId, name, 'stream', true));
            }
          }
        }
        if (accessLogs) {
          problems.push(...logKeyProblems(ctx, accessLogs.replace(/^arn:aws:logs:[^:]+:\d+:log-group:/, '').replace(/:\*$/, '')));
        }
      }
      return problems;
    },
  },
  {
    id: 'waf-logs',
    title: 'WAF → its log group (aws-waf-logs- name, log key)',
    modes: ['production'],
    prove(ctx) {
      const t = ctx.t;
      return requireSome(t.ofType('AWS::WAFv2::LoggingConfiguration'), 'WAF logging configuration').flatMap((id) => {
        const problems: string[] = [];
        for (const dest of t.props(id).LogDestinationConfigs as string[]) {
          const name = dest.replace(/^arn:aws:logs:[^:]+:\d+:log-group:/, '');
          if (!name.startsWith('aws-waf-logs-')) problems.push(`WAF log group ${name} does not start with aws-waf-logs-`);
          problems.push(...logKeyProblems(ctx, name));
        }
        const acl = t.props(id).ResourceArn;
        if (!t.ofType('AWS::WAFv2::WebACLAssociation').some((a) => t.props(a).WebACLArn === acl)) problems.push('the logged web ACL is associated with nothing');
        return problems;
      });
    },
  },
  {
    id: 'rotation',
    title: 'Rotation Lambda → Secrets Manager (route, endpoint, key) and → the database',
    modes: ['rotation', 'master-user'],
    prove(ctx) {
      const t = ctx.t;
      return requireSome(t.ofType('AWS::SecretsManager::RotationSchedule'), 'rotation schedule').flatMap((id) => {
        const problems: string[] = [];
        const schedule = t.props(id);
        const app = t.ofType('AWS::Serverless::Application').find((a) => String(schedule.RotationLambdaARN).startsWith(`${a}.`));
        if (!app) return [`rotation schedule ${id} uses no rotation application of the template`];
        const params = t.props(app).Parameters;
        const subnets = String(params.vpcSubnetIds).split(',');
        const sgs = String(params.vpcSecurityGroupIds).split(',');
        const endpoints = subnets.map((subnet) => ({ subnet, securityGroups: sgs }));
        // The rotation function calls the Secrets Manager endpoint it is given.
        problems.push(...servicesFrom(ctx, endpoints, ['secretsmanager']));
        const secretArn = schedule.SecretId;
        const secretId = t.ofType('AWS::SecretsManager::Secret').find((s) => t.ref(s) === secretArn)!;
        const cluster = t.ofType('AWS::RDS::DBCluster').find((c) => String(t.props(c).MasterUserPassword).includes(secretArn));
        if (!cluster) {
          problems.push('the rotated secret belongs to no cluster of the template');
        } else {
          const c = t.props(cluster);
          const group = t.ofType('AWS::RDS::DBSubnetGroup').find((g) => t.ref(g) === c.DBSubnetGroupName)!;
          for (const from of endpoints) {
            for (const subnet of t.props(group).SubnetIds as string[]) {
              problems.push(...ctx.net.vpcProblems(from, { subnet, securityGroups: c.VpcSecurityGroupIds }, Number(c.Port ?? 5432)).map((p) => `rotation ${from.subnet} → database ${subnet}: ${p}`));
            }
          }
        }
        // The rotation application's role gets kms:Decrypt/GenerateDataKey on the key it is given
        // (kmsKeyArn) and the secret actions on the secret; the key policy and secret policy must let it.
        const key = t.props(secretId).KmsKeyId;
        if (key && params.kmsKeyArn !== key) problems.push(`the rotation application is given key ${params.kmsKeyArn}, the secret is encrypted with ${key}`);
        const rotationRole = {
          roleArn: `arn:aws:iam::${ACCOUNT}:role/rotation-function`,
          policies: [{
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'], Resource: secretArn },
              ...(key ? [{ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key }] : []),
            ],
          }],
        };
        problems.push(...denied(ctx, [
          ...['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'].map((action) => ({ caller: rotationRole, action, resource: secretArn })),
          ...(key ? ['kms:Decrypt', 'kms:GenerateDataKey'].map((action) => ({
            caller: rotationRole,
            action,
            resource: key,
            context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': secretArn },
          })) : []),
        ]));
        return problems;
      });
    },
  },
  {
    id: 'rotation-reaches-app',
    title: 'A rotated password reaches the running app (tasks replaced after RotationSucceeded, or the app reads the secret itself)',
    modes: ['rotation', 'master-user'],
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const secrets = requireSome(t.ofType('AWS::SecretsManager::RotationSchedule'), 'rotation schedule').map((id) => String(t.props(id).SecretId));
      for (const task of requireSome(tasks(ctx), 'ECS service')) {
        for (const secretArn of secrets) {
          // A container that exits before the app starts (the admin step) reads the secret at each
          // task start and holds nothing afterwards; only the containers that keep running matter.
          const holds = (c: Json) => (c.Secrets ?? []).some((s: Json) => String(s.ValueFrom).startsWith(secretArn));
          if (!task.containers.filter(essential).some(holds)) continue;
          // ECS resolves container secrets only when a task starts: after a rotation the tasks must be replaced.
          const serviceArn = t.ref(task.serviceId);
          const ways = rotationRules(ctx, secretArn).map((rule) => replacesTasks(ctx, rule, serviceArn));
          if (!ways.some((w) => w.length === 0)) {
            problems.push(`service ${task.serviceId} gets the secret ${secretArn} only at task start, and nothing replaces its tasks after a rotation`
              + (ways.length ? `: ${ways.flat().join('; ')}` : ' (no EventBridge rule on RotationSucceeded for the secret)'));
          }
        }
      }
      return problems;
    },
  },
  {
    id: 'secure-string-writer',
    title: 'SecureString custom resource → ssm:PutParameter and kms:Encrypt on its key; its own logs',
    modes: ALL_BUT('parts', ...LAMBDA_MODES),
    prove(ctx) {
      const t = ctx.t;
      return requireSome(t.ofType('Custom::FlaskSecureStringParameter'), 'generated SecureString parameter').flatMap((id) => {
        const p = t.props(id);
        const fn = t.ofType('AWS::Lambda::Function').find((f) => t.getAtt(f, 'Arn') === p.ServiceToken);
        if (!fn) return [`custom resource ${id} has no handler function in the template`];
        const f = t.props(fn);
        const roleId = ctx.iam.roleIdOf(f.Role)!;
        const arn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${p.ParameterName}`;
        const logGroup = f.LoggingConfig?.LogGroup ?? `/aws/lambda/${t.ref(fn)}`;
        return [
          ...assumes(ctx, roleId, 'lambda.amazonaws.com'),
          ...denied(ctx, [
            { caller: { role: roleId }, action: 'ssm:PutParameter', resource: arn },
            { caller: { role: roleId }, action: 'ssm:DeleteParameter', resource: arn },
            {
              caller: { role: roleId },
              action: 'kms:Encrypt',
              resource: p.KeyId,
              context: { 'kms:ViaService': `ssm.${REGION}.amazonaws.com`, 'kms:EncryptionContext:PARAMETER_ARN': arn },
            },
          ]),
          ...writesLogs(ctx, roleId, logGroup, '2026/01/01/[$LATEST]0123456789abcdef'),
          ...(f.VpcConfig ? servicesFrom(ctx, (f.VpcConfig.SubnetIds as string[]).map((subnet) => ({ subnet, securityGroups: f.VpcConfig.SecurityGroupIds })), ['ssm']) : []),
        ];
      });
    },
  },
  {
    id: 'flow-logs',
    title: 'VPC flow logs → log group and its key',
    modes: ALL_BUT('parts'),
    prove(ctx) {
      const t = ctx.t;
      return requireSome(t.ofType('AWS::EC2::FlowLog').filter((f) => (t.props(f).LogDestinationType ?? 'cloud-watch-logs') === 'cloud-watch-logs'), 'flow log to CloudWatch Logs').flatMap((id) => {
        const p = t.props(id);
        const roleId = ctx.iam.roleIdOf(p.DeliverLogsPermissionArn);
        if (!roleId) return [`flow log ${id} has no delivery role in the template`];
        return [
          ...assumes(ctx, roleId, 'vpc-flow-logs.amazonaws.com', `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc-flow-log/fl-0123456789abcdef0`),
          ...writesLogs(ctx, roleId, p.LogGroupName, 'eni-0123456789abcdef0-all', true),
        ];
      });
    },
  },
  {
    id: 'rds-logs',
    title: 'RDS → PostgreSQL log export (log group, key) and Enhanced Monitoring (role, RDSOSMetrics)',
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      for (const c of requireSome(t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster')) {
        for (const type of t.props(c).EnableCloudwatchLogsExports ?? []) {
          const name = `/aws/rds/cluster/${t.ref(c)}/${type}`;
          // A group the template defines must be there before RDS first exports to it, or RDS creates its own (unencrypted) one.
          const group = t.ofType('AWS::Logs::LogGroup').find((g) => t.ref(g) === name);
          if (!group) { problems.push(`log export ${type}: no log group ${name} in the template`); continue; }
          problems.push(...logKeyProblems(ctx, name));
          for (const inst of t.ofType('AWS::RDS::DBInstance').filter((i) => t.props(i).DBClusterIdentifier === t.ref(c))) {
            if (![t.resource(inst).DependsOn ?? []].flat().includes(group)) problems.push(`instance ${inst} can start exporting before log group ${group} exists`);
          }
        }
      }
      for (const inst of t.ofType('AWS::RDS::DBInstance')) {
        const p = t.props(inst);
        if (!p.MonitoringInterval || Number(p.MonitoringInterval) === 0) continue;
        const roleId = ctx.iam.roleIdOf(p.MonitoringRoleArn);
        if (!roleId) { problems.push(`instance ${inst} has no Enhanced Monitoring role in the template`); continue; }
        problems.push(...assumes(ctx, roleId, 'monitoring.rds.amazonaws.com', `arn:aws:rds:${REGION}:${ACCOUNT}:db:${t.ref(inst)}`));
        // RDS creates the group and sets its retention on the first instance of the account and region.
        problems.push(...denied(ctx, ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'].map((action) => ({
          caller: { role: roleId }, action, resource: `${logGroupArn('RDSOSMetrics')}:*`,
        }))));
        problems.push(...denied(ctx, ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
          caller: { role: roleId }, action, resource: `${logGroupArn('RDSOSMetrics')}:log-stream:db-ABCDEFGHIJKLMNOP`,
        }))));
      }
      return problems;
    },
  },
  {
    id: 'default-sg-lock',
    title: 'CDK\'s default-security-group handler → ec2:Revoke* on the VPC\'s default security group',
    modes: ALL_BUT('parts'),
    prove(ctx) {
      const t = ctx.t;
      return requireSome(t.ofType('Custom::VpcRestrictDefaultSG'), 'default security group lock').flatMap((id) => {
        const p = t.props(id);
        const fn = t.ofType('AWS::Lambda::Function').find((f) => t.getAtt(f, 'Arn') === p.ServiceToken);
        if (!fn) return [`${id} has no handler function in the template`];
        const roleId = ctx.iam.roleIdOf(t.props(fn).Role)!;
        const sg = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${p.DefaultSecurityGroupId}`;
        return [
          ...assumes(ctx, roleId, 'lambda.amazonaws.com'),
          ...denied(ctx, ['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'].map((action) => ({ caller: { role: roleId }, action, resource: sg }))),
        ];
      });
    },
  },
  {
    id: 'nat-internet',
    title: 'Tasks → NAT → internet (default route, NAT with a public address, internet gateway)',
    modes: ALL_BUT('vpc-endpoints', 'one-az-endpoints', ...LAMBDA_MODES),
    prove(ctx) {
      return requireSome(tasks(ctx), 'ECS service').flatMap((task) => task.endpoints.flatMap((e) => ctx.net.internetProblems(e, 443).map((p) => `from ${e.subnet}: ${p}`)));
    },
  },
  {
    id: 'api-to-function',
    title: 'API Gateway → lambda:InvokeFunction on the serving function (resource policy scoped to this API\'s stage)',
    modes: LAMBDA_MODES,
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const methods = requireSome(t.ofType('AWS::ApiGateway::Method').filter((m) => t.props(m).Integration?.Type === 'AWS_PROXY'), 'Lambda proxy integration');
      for (const m of methods) {
        const method = t.props(m);
        const uri = String(method.Integration.Uri);
        const fn = t.ofType('AWS::Lambda::Function').find((f) => uri === `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${t.getAtt(f, 'Arn')}/invocations`);
        if (!fn) { problems.push(`${m} invokes ${uri}, which names no function of the template`); continue; }
        if (method.Integration.IntegrationHttpMethod !== 'POST') problems.push(`${m} calls the Lambda Invoke API with ${method.Integration.IntegrationHttpMethod}, not POST`);
        const api = method.RestApiId;
        const stages = t.ofType('AWS::ApiGateway::Stage').filter((st) => t.props(st).RestApiId === api);
        for (const stage of requireSome(stages, `stage of ${api}`)) {
          const call = (apiId: string, stageName: string) => ({
            caller: { service: 'apigateway.amazonaws.com' },
            action: 'lambda:InvokeFunction',
            resource: t.getAtt(fn, 'Arn'),
            context: { 'aws:SourceArn': `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/${stageName}/GET/health`, 'aws:SourceAccount': ACCOUNT },
            resourcePolicy: functionPolicy(ctx, fn),
          });
          problems.push(...denied(ctx, [call(api, t.props(stage).StageName)]));
          // Another API (or another stage) of the account must not be able to invoke it.
          for (const [other, why] of [[call('otherapi123', t.props(stage).StageName), 'another API'], [call(api, 'OtherStage'), 'another stage']] as const) {
            if (ctx.iam.check(other).allowed) problems.push(`${why} may invoke ${fn}: the permission is not scoped to this API's stage`);
          }
        }
      }
      return [...new Set(problems)];
    },
  },
  {
    id: 'function-db-auth',
    title: 'Function roles → rds-db:connect as the app role only (DB_USER, DB_IAM_AUTH=1), not as the master user',
    modes: LAMBDA_MODES,
    prove(ctx) {
      const t = ctx.t;
      const clusters = requireSome(t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster');
      return requireSome(imageFunctions(ctx), 'image function').flatMap((fn) => clusters.flatMap((c) => {
        const cluster = t.props(c);
        const user = fn.env('DB_USER');
        const problems: string[] = [];
        if (cluster.EnableIAMDatabaseAuthentication !== true) problems.push(`cluster ${c} does not enable IAM database authentication`);
        if (fn.env('DB_IAM_AUTH') !== '1') problems.push(`${fn.id}: DB_IAM_AUTH is ${fn.env('DB_IAM_AUTH')}, not 1`);
        if (!user) return [...problems, `${fn.id} has no DB_USER`];
        if (user === cluster.MasterUsername) problems.push(`${fn.id} connects as the master user ${user}`);
        const dbuser = (name: string) => `arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:${t.getAtt(c, 'DBClusterResourceId')}/${name}`;
        problems.push(...assumes(ctx, fn.roleId, 'lambda.amazonaws.com'));
        problems.push(...denied(ctx, [{ caller: { role: fn.roleId }, action: 'rds-db:connect', resource: dbuser(user) }]));
        if (ctx.iam.check({ caller: { role: fn.roleId }, action: 'rds-db:connect', resource: dbuser(cluster.MasterUsername) }).allowed) {
          problems.push(`${fn.id}'s role may connect as the master user ${cluster.MasterUsername}`);
        }
        return problems;
      }));
    },
  },
  {
    id: 'function-database',
    title: 'Functions → Aurora: DB_HOST/DB_PORT/DB_SSLMODE, routes and security groups on both sides, on the cluster port',
    modes: LAMBDA_MODES,
    prove(ctx) {
      const t = ctx.t;
      const clusters = requireSome(t.ofType('AWS::RDS::DBCluster'), 'Aurora cluster');
      return requireSome(imageFunctions(ctx), 'image function').flatMap((fn) => clusters.flatMap((c) => {
        const { port, to } = clusterEndpoints(ctx, c);
        const problems: string[] = [];
        if (fn.endpoints.length === 0) problems.push(`${fn.id} is not in the VPC`);
        if (fn.env('DB_HOST') !== String(t.getAtt(c, 'Endpoint.Address'))) problems.push(`${fn.id}: DB_HOST is ${fn.env('DB_HOST')}, not the cluster endpoint`);
        if (fn.env('DB_PORT') !== String(port)) problems.push(`${fn.id}: DB_PORT is ${fn.env('DB_PORT')}, not ${port}`);
        if (!['require', 'verify-ca', 'verify-full'].includes(fn.env('DB_SSLMODE') ?? '')) problems.push(`${fn.id}: DB_SSLMODE is ${fn.env('DB_SSLMODE')}`);
        for (const from of fn.endpoints) {
          for (const dest of to) problems.push(...ctx.net.vpcProblems(from, dest, port).map((p) => `${fn.id} ${from.subnet} → ${dest.subnet}: ${p}`));
        }
        return problems;
      }));
    },
  },
  {
    id: 'function-env-key',
    title: 'Function roles → kms:Decrypt of their own environment (via Lambda, this function only); secrets only as dynamic references',
    modes: LAMBDA_MODES,
    prove(ctx) {
      const t = ctx.t;
      return requireSome(imageFunctions(ctx), 'image function').flatMap((fn) => {
        const p = t.props(fn.id);
        const problems: string[] = [];
        const key = p.KmsKeyArn;
        if (!key) return [`${fn.id}: its environment is not encrypted with a customer-managed key`];
        const decrypt = (functionArn: string) => ({
          caller: { role: fn.roleId },
          action: 'kms:Decrypt',
          resource: key,
          context: { 'kms:ViaService': `lambda.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:lambda:FunctionArn': functionArn },
        });
        problems.push(...denied(ctx, [decrypt(fn.arn)]));
        if (ctx.iam.check(decrypt(t.arn('lambda', 'function:another'))).allowed) {
          // The migration function's decrypt policy names no function (it must exist before the
          // function, which the trigger invokes at once); Lambda decrypts with the role of the
          // function it runs, so that is safe only while no other function has this role.
          const migration = JSON.stringify(p.ImageConfig?.Command ?? []).includes('migrate');
          const sharing = t.ofType('AWS::Lambda::Function').filter((other) => other !== fn.id && ctx.iam.roleIdOf(t.props(other).Role) === fn.roleId);
          if (!migration) problems.push(`${fn.id}'s role may decrypt another function's environment`);
          else if (sharing.length > 0) problems.push(`${fn.id}'s role may decrypt any function's environment and is also the role of ${sharing.join(', ')}`);
        }
        // The raw template (before resolution) must hold references only, never a secret value.
        for (const [name, value] of Object.entries<Json>(t.resource(fn.id).Properties?.Environment?.Variables ?? {})) {
          if (!/SECRET|PASSWORD|TOKEN/.test(name)) continue;
          if (!JSON.stringify(value).includes('{{resolve:secretsmanager:')) problems.push(`${fn.id}: ${name} is not a Secrets Manager dynamic reference`);
        }
        return problems;
      });
    },
  },
  {
    id: 'function-logs',
    title: 'Function roles → their own log group (and the Logs service principal on its key)',
    modes: LAMBDA_MODES,
    prove(ctx) {
      return requireSome(imageFunctions(ctx), 'image function').flatMap((fn) => {
        const group = ctx.t.props(fn.id).LoggingConfig?.LogGroup;
        if (!group) return [`${fn.id} logs to no log group of the template`];
        return writesLogs(ctx, fn.roleId, group, '2026/01/01/[$LATEST]0123456789abcdef');
      });
    },
  },
  {
    id: 'migration-trigger',
    title: 'Deploy-time migrations: trigger → migration function (after the writer, before the serving function), and → Aurora',
    modes: LAMBDA_MODES,
    prove(ctx) {
      const t = ctx.t;
      const problems: string[] = [];
      const writers = requireSome(t.ofType('AWS::RDS::DBInstance').filter((i) => t.props(i).DBClusterIdentifier), 'Aurora instance');
      const served = new Set(t.ofType('AWS::ApiGateway::Method').map((m) => String(t.props(m).Integration?.Uri ?? '')));
      for (const { trigger, fn } of requireSome(triggeredFunctions(ctx), 'trigger with a migration function')) {
        const f = t.props(fn);
        if (!JSON.stringify(f.ImageConfig?.Command ?? []).includes('migrate')) problems.push(`${trigger} invokes ${fn}, whose command is ${JSON.stringify(f.ImageConfig?.Command)}`);
        const before = dependencies(t, trigger);
        for (const writer of writers) if (!before.has(writer)) problems.push(`${trigger} can run before ${writer} exists`);
        for (const serving of t.ofType('AWS::Lambda::Function').filter((x) => [...served].some((u) => u.includes(`/functions/${t.getAtt(x, 'Arn')}/`)))) {
          if (!dependencies(t, serving).has(trigger)) problems.push(`${serving} can be updated before ${trigger} has migrated`);
        }
        // The trigger's provider invokes a version of the function.
        const provider = t.ofType('AWS::Lambda::Function').find((x) => t.getAtt(x, 'Arn') === t.props(trigger).ServiceToken);
        const providerRole = provider ? ctx.iam.roleIdOf(t.props(provider).Role) : undefined;
        if (!providerRole) { problems.push(`${trigger} has no provider role in the template`); continue; }
        problems.push(...denied(ctx, [{ caller: { role: providerRole }, action: 'lambda:InvokeFunction', resource: `${t.getAtt(fn, 'Arn')}:1` }]));
        // The migration function reaches the database (the admin step with the master password, the
        // migrations as the app role).
        const migrate = imageFunctions(ctx).find((x) => x.id === fn)!;
        if (!JSON.stringify(t.resource(fn).Properties?.Environment?.Variables?.DB_ADMIN_PASSWORD ?? '').includes(':SecretString:password:')) {
          problems.push(`${fn} gets no DB_ADMIN_PASSWORD from the master secret`);
        }
        for (const c of t.ofType('AWS::RDS::DBCluster')) {
          const { port, to } = clusterEndpoints(ctx, c);
          for (const from of migrate.endpoints) for (const dest of to) problems.push(...ctx.net.vpcProblems(from, dest, port).map((p) => `${fn} ${from.subnet} → ${dest.subnet}: ${p}`));
        }
      }
      return problems;
    },
  },
  {
    id: 'function-no-egress',
    title: 'Functions send only to the database: no route to the internet, security group egress on the database port only',
    modes: LAMBDA_MODES,
    prove(ctx) {
      const t = ctx.t;
      const ports = new Set(t.ofType('AWS::RDS::DBCluster').map((c) => Number(t.props(c).Port ?? 5432)));
      return requireSome(imageFunctions(ctx), 'image function').flatMap((fn) => [
        ...fn.endpoints.filter((e) => ctx.net.internetProblems(e, 443).length === 0).map((e) => `${fn.id} reaches the internet from ${e.subnet}`),
        // CDK's placeholder rule for "no egress" (255.255.255.255/32, ICMP) matches no traffic.
        ...[...new Set(fn.endpoints.flatMap((e) => e.securityGroups))].flatMap((sg) => (ctx.net.egressRules(sg) ?? [])
          .filter((r) => r.cidr !== '255.255.255.255/32')
          .filter((r) => !(r.protocol === 'tcp' && r.from === r.to && ports.has(r.from) && r.sg))
          .map((r) => `${sg} allows egress ${r.protocol}/${r.from}-${r.to} to ${r.sg ?? r.cidr ?? r.prefixList}`)),
      ]);
    },
  },
];

/**
 * Proofs known to fail on today's code, each with the defect that makes it fail. They run in
 * known-defects.paths.test.ts (which fails until the defect is fixed), not in
 * runtime-paths.paths.test.ts; the README matrix marks them ✗. Remove an entry when its fix lands.
 * The eight deploy-time defects this suite was written against are fixed, so the list is empty.
 */
export const KNOWN_DEFECTS: { defect: string; paths: string[]; modes: string[] }[] = [];

/** The known defect that makes a (path, mode) proof fail today, if any. */
export function knownDefect(pathId: string, modeId: string): string | undefined {
  return KNOWN_DEFECTS.find((d) => d.paths.includes(pathId) && d.modes.includes(modeId))?.defect;
}

/** Whether a path exists in a mode. */
export function appliesTo(path: RuntimePath, modeId: string): boolean {
  return !path.modes || path.modes.includes(modeId);
}

/** The (path, mode) pairs the suite proves. */
export function pairs(modes: Mode[]): { path: RuntimePath; mode: Mode }[] {
  return PATHS.flatMap((path) => modes.filter((m) => appliesTo(path, m.id)).map((mode) => ({ path, mode })));
}
