import { Duration, Size } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IFlaskDatabase } from '../database/flask-database';

/** Set to '1': the app signs an RDS IAM authentication token as its password for each new connection. */
export const IAM_AUTH_ENV = 'DB_IAM_AUTH';
/** The schema the app role owns (and nothing else). */
export const SCHEMA_ENV = 'DB_SCHEMA';
export const APP_SCHEMA = 'app';
/** The master user's name and password, given to the admin step only. */
export const ADMIN_USER_ENV = 'DB_ADMIN_USER';
export const ADMIN_PASSWORD_ENV = 'DB_ADMIN_PASSWORD';
export const DEFAULT_APP_ROLE_COMMAND = ['python', '-m', 'app.app_role'];

export interface AppRoleStepProps {
  readonly taskDefinition: ecs.TaskDefinition;
  readonly image: ecs.ContainerImage;
  readonly database: IFlaskDatabase;
  readonly command: string[];
  /** The database settings the step shares with the app (host, port, name, TLS, the role's name, IAM auth, schema). */
  readonly settings: Record<string, ecs.Secret>;
  readonly logGroup: logs.ILogGroup;
  readonly user?: string;
  readonly readonlyRootFilesystem: boolean;
}

/**
 * The admin step of the app's own database role: a container from the app's image that runs
 * before the app in every task, creates or updates the role with the master credentials and
 * exits. It is the only container that receives the master secret; the app container starts
 * only once it has exited with status 0.
 *
 * - Not essential: its exit does not stop the task. A non-zero exit leaves the app container's
 *   dependency unmet, so the task stops and the deployment circuit breaker counts it.
 * - No CPU or memory of its own: it shares the task's (0.25 vCPU and 0.5 GB by default) and has
 *   exited before the app starts, so the two never compete; a hard limit here would count
 *   against the task's memory next to the app's.
 * - The command replaces the image's entry point as well as its command: the reference image's
 *   ENTRYPOINT passes its arguments on to gunicorn.
 * - A short stop timeout: its work is one transaction in PostgreSQL, which rolls back if the step
 *   is stopped half-way.
 */
export function addAppRoleStep(props: AppRoleStepProps): ecs.ContainerDefinition {
  const secrets: Record<string, ecs.Secret> = {
    ...props.settings,
    [ADMIN_USER_ENV]: ecs.Secret.fromSecretsManager(props.database.secret, 'username'),
    [ADMIN_PASSWORD_ENV]: ecs.Secret.fromSecretsManager(props.database.secret, 'password'),
  };
  const container = props.taskDefinition.addContainer('AppRole', {
    image: props.image,
    essential: false,
    entryPoint: props.command,
    user: props.user,
    secrets,
    logging: ecs.LogDrivers.awsLogs({
      logGroup: props.logGroup,
      streamPrefix: 'app-role',
      mode: ecs.AwsLogDriverMode.NON_BLOCKING,
      maxBufferSize: Size.mebibytes(25),
    }),
    readonlyRootFilesystem: props.readonlyRootFilesystem,
    stopTimeout: Duration.seconds(10),
  });
  if (props.readonlyRootFilesystem) {
    container.addMountPoints({ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false });
  }
  return container;
}
